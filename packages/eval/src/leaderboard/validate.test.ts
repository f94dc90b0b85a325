import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { validResults } from '../../test/fixtures.js';
import type { EvalResults } from '../results/schema.js';
import { checkSubmission, type BoardContext } from './validate.js';

let good: EvalResults;
const copy = (): EvalResults => JSON.parse(JSON.stringify(good));
const reasonsOf = (json: unknown, board?: BoardContext) => checkSubmission(json, board).reasons;

describe('checkSubmission', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    good = await validResults();
  });

  it('accepts a results file of ragan eval', () => {
    expect(checkSubmission(copy())).toMatchObject({ ok: true, reasons: [] });
  });

  it('lists every reason for the junk of the acceptance test', () => {
    const reasons = reasonsOf({ schemaVersion: 999, metrics: { age: 'lots' } });
    expect(reasons[0]).toMatch(/^schemaVersion: 999 is not supported; this leaderboard takes schemaVersion 1/);
    for (const field of ['kind', 'createdAt', 'model', 'dataset', 'seed', 'backend', 'versions', 'timings', 'metrics.age', 'metrics.identity']) {
      expect(
        reasons.some((r) => r.startsWith(`${field}: `)),
        `a reason for ${field} in\n${reasons.join('\n')}`,
      ).toBe(true);
    }
  });

  // Each bad submission: how it is made, and the start of the reason it must be refused for.
  const cases: Array<[string, (r: EvalResults) => unknown, RegExp]> = [
    ['not an object', () => [1, 2], /^\(root\): a submission must be a JSON object/],
    ['a rate above 1', (r) => ((r.metrics.age!.hitRate = 1.5), r), /^metrics\.age\.hitRate: /],
    ['a negative distance', (r) => ((r.metrics.identity!.meanDistance = -0.1), r), /^metrics\.identity\.meanDistance: /],
    ['a negative FID', (r) => ((r.metrics.realism!.perGroup[5]!.fid = -3), r), /^metrics\.realism\.perGroup\[5\]\.fid: /],
    ['a non-hex model hash', (r) => ((r.model.sha256 = 'not-a-hash'), r), /^model\.sha256: must be a lowercase hex SHA-256 or a "baseline:…" label/],
    ['a short dataset hash', (r) => ((r.dataset.datasetHash = 'abc123'), r), /^dataset\.datasetHash: must be a lowercase hex SHA-256/],
    ['an unknown field (strict schema)', (r) => ({ ...r, sneaky: '<script>' }), /^\(root\): Unrecognized key: "sneaky"/],
    ['a string where a number belongs', (r) => ({ ...r, seed: '7' }), /^seed: /],
    ['pairs that do not add up', (r) => ((r.metrics.age!.pairs = 3), r), /^metrics\.age\.pairs: 3, expected evaluated × \(groups - 1\) = 54/],
    [
      'a confusion row that disagrees with its group',
      (r) => ((r.metrics.age!.confusion.counts[9]![0]! += 1), r),
      /^metrics\.age\.confusion\.counts\[9\]: sums to 7 but/,
    ],
    ['per-group tables for other groups', (r) => ((r.metrics.identity!.perGroup[0]!.group = '0-3'), r), /^metrics\.identity\.perGroup: groups \[0-3,/],
    [
      '"standard" realism with 3-D features',
      (r) => ((r.metrics.realism!.extractor.standard = true), r),
      /^metrics\.realism\.extractor: "standard" means Inception pool_3 features \(2048-D\)/,
    ],
    ['no age metric', (r) => ((r.metrics.age = null), r), /^metrics\.age: missing; the leaderboard ranks on age/],
    ['no identity metric', (r) => ((r.metrics.identity = null), r), /^metrics\.identity: missing/],
    ['a baseline with a model hash', (r) => ((r.model.sha256 = 'f'.repeat(64)), r), /^model\.sha256: a baseline must carry a "baseline:…" label/],
    ['a whole-split run whose subset hash differs', (r) => ((r.dataset.subsetHash = '0'.repeat(64)), r), /^dataset\.subsetHash: the whole split was evaluated/],
    ['more faces than the split has', (r) => ((r.dataset.size = 3), r), /^dataset\.evaluated: 6 faces evaluated but the split has only 3/],
    ['a bad date', (r) => ((r.createdAt = 'yesterday'), r), /^createdAt: /],
  ];
  for (const [what, make, reason] of cases) {
    it(`refuses ${what}`, () => {
      const check = checkSubmission(make(copy()));
      expect(check.ok).toBe(false);
      expect(
        check.reasons.some((r) => reason.test(r)),
        `expected ${reason} in\n${check.reasons.join('\n')}`,
      ).toBe(true);
    });
  }

  it('refuses a duplicate and a submission on another test set', () => {
    const r = copy();
    const board: BoardContext = {
      dataset: { name: 'fixture', split: 'test', datasetHash: r.dataset.datasetHash, splitHash: r.dataset.splitHash },
      entries: [{ id: '0123456789abcdef', model: { name: 'earlier', sha256: r.model.sha256 }, seed: r.seed, subsetHash: r.dataset.subsetHash }],
    };
    expect(reasonsOf(r, board)).toEqual([
      expect.stringMatching(/^model\.sha256: this model was already submitted with the same seed and test faces \(entry 0123456789abcdef/),
    ]);
    expect(reasonsOf({ ...r, seed: 1 }, board)).toEqual([]);
    const other: BoardContext = { dataset: { ...board.dataset!, datasetHash: 'e'.repeat(64) }, entries: [] };
    expect(reasonsOf(r, other)).toEqual([expect.stringMatching(/^dataset: evaluated on fixture\/test .* but this board ranks/)]);
  });
});
