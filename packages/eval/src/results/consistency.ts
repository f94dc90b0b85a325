import type { EvalResults } from './schema.js';

/**
 * Checks a schema-valid results object for internal consistency, the things a schema cannot say:
 * per-group tables match the dataset's groups, pair counts add up (every evaluated face is re-aged to
 * each of the other K - 1 groups), the confusion matrix is K × K and sums to the pairs, a baseline has
 * a baseline label, a "standard" realism result uses 2048-D features. Returns every problem found,
 * each starting with the field's path; empty when consistent.
 */
export function checkResultsConsistency(r: EvalResults): string[] {
  const out: string[] = [];
  const labels = r.dataset.groupLabels;
  const k = labels.length;
  const expectedPairs = r.dataset.evaluated * (k - 1);
  const sameLabels = (path: string, got: readonly string[]) => {
    if (got.length !== k || got.some((g, i) => g !== labels[i]))
      out.push(`${path}: groups [${got.join(', ')}] differ from dataset.groupLabels [${labels.join(', ')}]`);
  };

  if (r.dataset.evaluated > r.dataset.size) out.push(`dataset.evaluated: ${r.dataset.evaluated} faces evaluated but the split has only ${r.dataset.size}`);
  if (r.dataset.limit !== null && r.dataset.evaluated > r.dataset.limit)
    out.push(`dataset.evaluated: ${r.dataset.evaluated} exceeds dataset.limit ${r.dataset.limit}`);
  if (r.dataset.evaluated === r.dataset.size && r.dataset.subsetHash !== r.dataset.splitHash) {
    out.push('dataset.subsetHash: the whole split was evaluated, so it must equal dataset.splitHash');
  }
  if (new Set(labels).size !== k) out.push('dataset.groupLabels: labels repeat');
  const isBaselineHash = r.model.sha256.startsWith('baseline:');
  if (r.model.kind === 'baseline' && !isBaselineHash) out.push('model.sha256: a baseline must carry a "baseline:…" label');
  if (r.model.kind === 'model' && isBaselineHash) out.push('model.sha256: a trained model must carry the SHA-256 of its folder, not a baseline label');

  const { age, identity, realism, background, cues, speed } = r.metrics;
  if (age) {
    if (age.pairs !== expectedPairs) out.push(`metrics.age.pairs: ${age.pairs}, expected evaluated × (groups - 1) = ${expectedPairs}`);
    sameLabels(
      'metrics.age.perGroup',
      age.perGroup.map((g) => g.group),
    );
    sameLabels('metrics.age.confusion.labels', age.confusion.labels);
    if (age.confusion.counts.length !== k || age.confusion.counts.some((row) => row.length !== k)) {
      out.push(`metrics.age.confusion.counts: must be ${k} × ${k}`);
    } else {
      age.confusion.counts.forEach((row, i) => {
        const sum = row.reduce((a, b) => a + b, 0);
        const p = age.perGroup[i]?.pairs;
        if (p !== undefined && sum !== p) out.push(`metrics.age.confusion.counts[${i}]: sums to ${sum} but metrics.age.perGroup[${i}].pairs is ${p}`);
      });
    }
    const perGroupPairs = age.perGroup.reduce((a, g) => a + g.pairs, 0);
    if (perGroupPairs !== age.pairs) out.push(`metrics.age.perGroup: pairs sum to ${perGroupPairs}, metrics.age.pairs is ${age.pairs}`);
    age.perGroup.forEach((g, i) => {
      if ((g.pairs === 0) !== (g.hitRate === null)) out.push(`metrics.age.perGroup[${i}].hitRate: must be null exactly when pairs is 0`);
    });
    if (age.inputs.faces !== r.dataset.evaluated)
      out.push(`metrics.age.inputs.faces: ${age.inputs.faces}, expected dataset.evaluated = ${r.dataset.evaluated}`);
  }
  if (identity) {
    for (const [path, s] of [['metrics.identity', identity], ...identity.others.map((o, i) => [`metrics.identity.others[${i}]`, o] as const)] as const) {
      if (s.pairs !== expectedPairs) out.push(`${path}.pairs: ${s.pairs}, expected evaluated × (groups - 1) = ${expectedPairs}`);
      sameLabels(
        `${path}.perGroup`,
        s.perGroup.map((g) => g.group),
      );
      const sum = s.perGroup.reduce((a, g) => a + g.pairs, 0);
      if (sum !== s.pairs) out.push(`${path}.perGroup: pairs sum to ${sum}, ${path}.pairs is ${s.pairs}`);
    }
  }
  if (realism) {
    sameLabels(
      'metrics.realism.perGroup',
      realism.perGroup.map((g) => g.group),
    );
    if (realism.extractor.standard && realism.extractor.dims !== 2048) {
      out.push(`metrics.realism.extractor: "standard" means Inception pool_3 features (2048-D), got ${realism.extractor.dims}-D`);
    }
    const gen = realism.perGroup.reduce((a, g) => a + g.nGenerated, 0);
    if (gen !== expectedPairs) out.push(`metrics.realism.perGroup: ${gen} generated faces, expected ${expectedPairs}`);
    const real = realism.perGroup.reduce((a, g) => a + g.nReal, 0);
    if (real !== r.dataset.evaluated) out.push(`metrics.realism.perGroup: ${real} real faces, expected dataset.evaluated = ${r.dataset.evaluated}`);
  }
  if (background && background.pairs !== expectedPairs) out.push(`metrics.background.pairs: ${background.pairs}, expected ${expectedPairs}`);
  if (cues) {
    if (cues.pairs !== expectedPairs) out.push(`metrics.cues.pairs: ${cues.pairs}, expected evaluated × (groups - 1) = ${expectedPairs}`);
    sameLabels(
      'metrics.cues.perGroup',
      cues.perGroup.map((g) => g.group),
    );
  }
  if (speed && speed.backend !== r.backend) out.push(`metrics.speed.backend: "${speed.backend}" differs from backend "${r.backend}"`);
  return out;
}
