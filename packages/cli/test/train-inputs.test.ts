import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareCache, sharedDataDir } from '@ragan/data';
import { runCli } from './run-cli.js';

// `ragan train` checks its inputs before it trains anything (the age classifier first of all) and
// leaves nothing behind when it refuses them.
const ragan = (a: string[]) => runCli(a, { backend: 'cpu', timeout: 600_000 });

const tmp = mkdtempSync(join(tmpdir(), 'ragan-train-inputs-'));
const cache = join(tmp, 'cache16');
const cfg = join(tmp, 'tiny16.json');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  // 30 UTKFace chips at 16 px, 8 records per shard (4 shards)
  const data = join(tmp, 'faces');
  mkdirSync(data);
  const src = join(sharedDataDir()!, 'data/utkface/crop_part1');
  for (const f of readdirSync(src).filter((n) => n.endsWith('.jpg')).sort().slice(0, 30)) cpSync(join(src, f), join(data, f));
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
    expect(r.stderr).toMatch(/^ragan: .*cache-copy-\d+\/shard-00002\.bin: sha256 mismatch: the index says [0-9a-f]{64}, the file hashes to [0-9a-f]{64}; the cache is damaged, rerun ragan prepare with --overwrite$/m);
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
    expect(r.stderr).toMatch(new RegExp(`^ragan: .*index\\.json: sample ${i} \\(${idx.samples[i]!.file.replace(/\./g, '\\.')}\\) is record 999999 of shard-0000\\d\\.bin, which holds \\d+ records`, 'm'));
    expect(existsSync(run)).toBe(false);
  }, 600_000);
});
