import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedderFeatureExtractor, evaluate, identityBaseline, memoryDataset, type FaceEmbedder } from '@ragan/eval';
import { runCli } from './run-cli.js';

const ragan = (a: string[]) => runCli(a);

let dir: string;
const resultsFile = () => join(dir, 'results.json');

describe('ragan leaderboard', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ragan-lb-cli-'));
    await tf.setBackend('cpu');
    // A real results file from the library, with fake networks (the CLI test is about the commands).
    const ages = [25, 27, 45, 47];
    const images = tf.tidy(
      () =>
        tf.mul(
          tf.ones([4, 8, 8, 3]),
          tf.tensor(
            ages.map((a) => a / 50 - 1),
            [4, 1, 1, 1],
          ),
        ) as tf.Tensor4D,
    );
    const masks = tf.ones([4, 8, 8, 1]) as tf.Tensor4D;
    const dataset = await memoryDataset({ images, masks, groups: [5, 5, 7, 7], ages });
    const embedder: FaceEmbedder = { name: 'fake', sameIdentityThreshold: 0.6, dims: 3, embed: async (x) => tf.tidy(() => tf.mean(x, [1, 2]) as tf.Tensor2D) };
    const ageEstimator = {
      name: 'fake-age',
      estimate: async (x: tf.Tensor4D) => Array.from(await tf.tidy(() => tf.mul(tf.add(tf.mean(x, [1, 2, 3]), 1), 50)).data()),
    };
    const r = await evaluate({ model: identityBaseline(), dataset, ageEstimator, embedders: [embedder], extractor: embedderFeatureExtractor(embedder) });
    r.model.name = '<script>alert("x")</script>';
    writeFileSync(resultsFile(), JSON.stringify(r));
    tf.dispose([images, masks]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('add → refuse junk with every reason → build a static page', async () => {
    const board = join(dir, 'board');
    const add = await ragan(['leaderboard', 'add', resultsFile(), '--board', board]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^added [0-9a-f]{16}: <script>.*the board has 1 entry/);

    const again = await ragan(['leaderboard', 'add', resultsFile(), '--board', board]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already submitted/);

    const junk = join(dir, 'junk.json');
    writeFileSync(junk, JSON.stringify({ schemaVersion: 999, metrics: { age: 'lots' } }));
    const bad = await ragan(['leaderboard', 'add', junk, '--board', board]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^ragan: .*junk\.json was refused \(\d+ reasons\):\n {2}- schemaVersion: 999 is not supported/);
    for (const f of ['kind', 'model', 'dataset', 'metrics.age', 'metrics.identity'])
      expect(bad.stderr).toMatch(new RegExp(`\\n  - ${f.replace('.', '\\.')}: `));

    const site = join(dir, 'site');
    const build = await ragan(['leaderboard', 'build', '--board', board, '--out', site]);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/wrote .*index\.html \(1 entry\)/);
    const html = readFileSync(join(site, 'index.html'), 'utf8');
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)');
    expect(html).not.toContain('<script>alert');

    const none = await ragan(['leaderboard', 'build', '--board', join(dir, 'empty'), '--out', site]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/^ragan: board: .*does not exist/);
    expect(existsSync(join(dir, 'empty'))).toBe(false);
  }, 300_000);
});
