import { RaganError } from '@ragan/core';
import { checkResultsConsistency } from '../results/consistency.js';
import { RESULTS_SCHEMA_VERSION, evalResultsSchema, type EvalResults } from '../results/schema.js';

/** A submission was refused; `reasons` lists every problem found, each naming its field. */
export class SubmissionError extends RaganError {
  readonly file: string;
  readonly reasons: string[];
  constructor(file: string, reasons: string[]) {
    super(`${file} was refused (${reasons.length} ${reasons.length === 1 ? 'reason' : 'reasons'}):\n${reasons.map((r) => `  - ${r}`).join('\n')}`);
    this.name = 'SubmissionError';
    this.file = file;
    this.reasons = reasons;
  }
}

/** What a board already holds, for the duplicate and same-test-set checks. */
export interface BoardContext {
  /** The test set every entry of the board was evaluated on (pinned by the first entry). */
  dataset: { name: string; split: string; datasetHash: string; splitHash: string } | null;
  entries: ReadonlyArray<{ id: string; model: { name: string; sha256: string }; seed: number; subsetHash: string }>;
}

export type SubmissionCheck = { ok: true; results: EvalResults; reasons: [] } | { ok: false; results: undefined; reasons: string[] };

const path = (p: readonly PropertyKey[]): string =>
  p.length
    ? p
        .map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`))
        .join('')
        .replace(/^\./, '')
    : '(root)';

/**
 * Checks a parsed submission (a results file of `ragan eval`) for a leaderboard: the schema (every issue,
 * not just the first), value ranges, internal consistency, hashes, that the ranked metrics are present,
 * that it was evaluated on the board's test set, and that it is not already on the board.
 * Returns every reason found; the submission is untrusted input.
 */
export function checkSubmission(json: unknown, board: BoardContext = { dataset: null, entries: [] }): SubmissionCheck {
  const reasons: string[] = [];
  const version = (json as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return { ok: false, results: undefined, reasons: ['(root): a submission must be a JSON object (the results file of `ragan eval`)'] };
  if (version !== RESULTS_SCHEMA_VERSION) {
    reasons.push(
      `schemaVersion: ${JSON.stringify(version) ?? 'missing'} is not supported; this leaderboard takes schemaVersion ${RESULTS_SCHEMA_VERSION} (re-run ` +
        `ragan eval with a matching @ragan/eval)`,
    );
  }
  const parsed = evalResultsSchema.safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.path.length === 1 && issue.path[0] === 'schemaVersion') continue; // reported above, more clearly
      reasons.push(`${path(issue.path)}: ${issue.message.replace(/^Invalid input: expected (.+), received undefined$/, 'missing (expected $1)')}`);
    }
    return { ok: false, results: undefined, reasons };
  }
  const r = parsed.data;
  reasons.push(...checkResultsConsistency(r));
  if (!r.metrics.age) reasons.push('metrics.age: missing; the leaderboard ranks on age, so evaluate with an age estimator');
  if (!r.metrics.identity) reasons.push('metrics.identity: missing; the leaderboard ranks on identity, so evaluate with a face embedder');
  if (board.dataset && (board.dataset.datasetHash !== r.dataset.datasetHash || board.dataset.splitHash !== r.dataset.splitHash)) {
    reasons.push(
      `dataset: evaluated on ${r.dataset.name}/${r.dataset.split} (datasetHash ${r.dataset.datasetHash.slice(0, 12)}…, splitHash ` +
        `${r.dataset.splitHash.slice(0, 12)}…) but this board ranks ${board.dataset.name}/${board.dataset.split} ` +
        `(${board.dataset.datasetHash.slice(0, 12)}…, ${board.dataset.splitHash.slice(0, 12)}…); only results on one test set are comparable`,
    );
  }
  const dup = board.entries.find((e) => e.model.sha256 === r.model.sha256 && e.seed === r.seed && e.subsetHash === r.dataset.subsetHash);
  if (dup) reasons.push(`model.sha256: this model was already submitted with the same seed and test faces (entry ${dup.id}, "${dup.model.name}")`);
  return reasons.length ? { ok: false, results: undefined, reasons } : { ok: true, results: r, reasons: [] };
}
