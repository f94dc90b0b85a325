import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgeClassifier, initBackend, resolveModelConfig, saveModelFolder } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { prepareCache } from '@ragan/data';
import { runCli } from './run-cli.js';
import { sampleFaceChips } from '@ragan/test-utils/sample-faces';

// `ragan train` checks its inputs before it trains anything (the age classifier first of all) and
// leaves nothing behind when it refuses them.
const ragan = (a: string[]) => runCli(a, { backend: 'cpu', timeout: 600_000 });

const tmp = mkdtempSync(join(tmpdir(), 'ragan-train-inputs-'));
const cache = join(tmp, 'cache16');
const cfg = join(tmp, 'tiny16.json');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  // 30 face chips (face-api's sample photos, named like UTKFace files) at 16 px, 8 records per shard (4 shards)
  const data = join(tmp, 'faces');
  mkdirSync(data);
  const src = await sampleFaceChips();
  for (const f of readdirSync(src)
    .filter((n) => n.endsWith('.jpg'))
    .sort()
    .slice(0, 30))
    cpSync(join(src, f), join(data, f));
  await prepareCache({ data, format: 'utkface', size: 16, out: cache, masks: 'prior', preview: false, shardRecords: 8 });
  writeFileSync(cfg, JSON.stringify({ preset: 'tiny', model: { resolution: 16 }, batch: 2 }));
}, 120_000);

/** A copy of the cache to damage. */
let copies = 0;
function copyCache(): string {
  const dir = join(tmp, `cache-copy-${copies++}`);
  cpSync(cache, dir, { recursive: true });
  return dir;
}

/** `ragan train` on `data` into a new run folder; a couple of classifier and training steps at most. */
const train = (data: string, run: string) => ragan(['train', '--config', cfg, '--data', data, '--out', run, '--steps', '2', '--classifier-steps', '2']);

describe('ragan train verifies the cache first', () => {
  it('a shard whose bytes changed (its sha256 no longer matches the index): refused, naming the shard, nothing trained', async () => {
    const data = copyCache();
    const shard = join(data, 'shard-00002.bin');
    const bytes = readFileSync(shard);
    bytes[5] = bytes[5]! ^ 0x10;
    writeFileSync(shard, bytes);
    const run = join(tmp, 'run-bad-shard');
    const r = await train(data, run);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        String.raw`^ragan: .*cache-copy-\d+\/shard-00002\.bin: sha256 mismatch: the index says [0-9a-f]{64}, the file hashes to [0-9a-f]{64}; the cache ` +
          String.raw`is damaged, rerun ragan prepare with --overwrite$`,
        'm',
      ),
    );
    expect(r.stderr).not.toMatch(/classifier/);
    expect(existsSync(run)).toBe(false);
  }, 600_000);

  it('a sample whose record is past the end of its shard: refused, naming the index and the sample', async () => {
    const data = copyCache();
    const idx = JSON.parse(readFileSync(join(data, 'index.json'), 'utf8')) as { samples: Array<{ file: string; record: number; split: string }> };
    const i = idx.samples.findIndex((s) => s.split === 'test'); // never drawn for training
    idx.samples[i]!.record = 999999;
    writeFileSync(join(data, 'index.json'), JSON.stringify(idx));
    const run = join(tmp, 'run-bad-record');
    const r = await train(data, run);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^ragan: .*index\\.json: sample ${i} \\(${idx.samples[i]!.file.replace(/\./g, '\\.')}\\) is record 999999 of shard-0000\\d\\.bin, which holds \\d+ ` +
          `records`,
        'm',
      ),
    );
    expect(existsSync(run)).toBe(false);
  }, 600_000);
});

describe('ragan train checks every input before it trains the classifier, and leaves nothing behind', () => {
  it('a preset built for another size than the cache: refused before the classifier; the same --out then works', async () => {
    const run = join(tmp, 'run-size');
    const r = await ragan(['train', '--preset', 'tiny', '--data', cache, '--out', run, '--steps', '1', '--classifier-steps', '2']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /^ragan: model\.resolution: the data has 16px images but the tiny model is built for 64px: prepare the data with --size 64 or choose another preset$/m,
    );
    expect(r.stderr).not.toMatch(/training the age classifier/);
    expect(existsSync(run)).toBe(false);
    const ok = await ragan(['train', '--config', cfg, '--data', cache, '--out', run, '--steps', '1', '--classifier-steps', '2']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(run, 'checkpoints', 'step-1'))).toBe(true);
  }, 600_000);

  it('a cache without test faces: refused before the classifier is trained (it is measured on them)', async () => {
    const data = copyCache();
    const idx = JSON.parse(readFileSync(join(data, 'index.json'), 'utf8')) as { samples: Array<{ split: string }> };
    for (const s of idx.samples) s.split = 'train';
    writeFileSync(join(data, 'index.json'), JSON.stringify(idx));
    const run = join(tmp, 'run-no-test');
    const r = await train(data, run);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        String.raw`^ragan: data: .*cache-copy-\d+ has no test faces \(all 30 are in the train split\): the age classifier is measured on them; prepare ` +
          String.raw`more faces so that some land in the test split, or give --classifier$`,
        'm',
      ),
    );
    expect(r.stderr).not.toMatch(/training the age classifier/);
    expect(existsSync(run)).toBe(false);
  }, 600_000);

  it('a failure after the run folder was made, before the first step (a --classifier of another size): nothing is left, and an --out that existed keeps ' +
    'its own files', async () => {
    // a classifier whose width (clsC0 8) is not the one the config asks for (16)
    const classifier = join(tmp, 'cls8');
    await initBackend({ backend: 'cpu', quiet: true });
    const c8 = resolveModelConfig({ preset: 'tiny', resolution: 16, clsC0: 8 });
    const cls = createAgeClassifier(c8);
    await saveModelFolder(fsStore(classifier), { config: c8, modules: { classifier: cls } });
    cls.dispose();
    const cfg16 = join(tmp, 'tiny16-cls16.json');
    writeFileSync(cfg16, JSON.stringify({ preset: 'tiny', model: { resolution: 16, clsC0: 16 }, batch: 2 }));
    const run = join(tmp, 'run-bad-classifier');
    const r = await ragan(['train', '--config', cfg16, '--data', cache, '--out', run, '--steps', '1', '--classifier', classifier]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        String.raw`^ragan: classifier: .*cls8 holds a classifier for another model config \(age_classifier\/stem\/kernel is \[3, 3, 3, 8\] there, \[3, ` +
          String.raw`3, 3, 16\] in this run's model\)$`,
        'm',
      ),
    );
    expect(existsSync(run)).toBe(false);
    // an existing folder: only what the run wrote goes
    const mine = join(tmp, 'my-folder');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'keep me');
    const again = await ragan(['train', '--config', cfg16, '--data', cache, '--out', mine, '--steps', '1', '--classifier', classifier]);
    expect(again.code, again.stderr).toBe(1);
    expect(readdirSync(mine)).toEqual(['notes.txt']);
  }, 600_000);
});
