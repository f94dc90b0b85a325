import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DatasetError, sha256Hex } from '@ragan/core';
import { z } from 'zod';
import { evalResultsSchema, type EvalResults } from '../results/schema.js';
import { SubmissionError, checkSubmission, type BoardContext } from './validate.js';
import { writeFileAtomic } from '@ragan/core/node';

/**
 * A leaderboard is a folder: `index.json` (the entries, in the order added, and the test set the board
 * ranks) and `submissions/<id>.json`, one validated results file each. Every write goes to a temp file,
 * is fsynced and renamed over the target, so a crash never leaves a torn file; a lock file keeps two
 * `add`s from interleaving. The submission is written before the index that points at it.
 */
export const BOARD_FORMAT = 'ragan-leaderboard';
export const BOARD_FORMAT_VERSION = 1;
export const BOARD_INDEX = 'index.json';
const LOCK = '.lock';
/** Submissions larger than this are refused unread (they are untrusted files). */
export const MAX_SUBMISSION_BYTES = 4 * 1024 * 1024;

const entrySchema = z
  .object({
    id: z.string().regex(/^[0-9a-f]{16}$/),
    file: z.string().regex(/^submissions\/[0-9a-f]{16}\.json$/),
    addedAt: z.iso.datetime(),
    model: z.object({ name: z.string(), sha256: z.string(), kind: z.enum(['model', 'baseline']) }).strict(),
    seed: z.number().int(),
    subsetHash: z.string(),
  })
  .strict();

const indexSchema = z
  .object({
    format: z.literal(BOARD_FORMAT),
    formatVersion: z.literal(BOARD_FORMAT_VERSION),
    dataset: z.object({ name: z.string(), split: z.string(), datasetHash: z.string(), splitHash: z.string() }).strict().nullable(),
    entries: z.array(entrySchema),
  })
  .strict();

export type BoardIndex = z.infer<typeof indexSchema>;
export type BoardEntry = z.infer<typeof entrySchema>;

const emptyIndex = (): BoardIndex => ({ format: BOARD_FORMAT, formatVersion: BOARD_FORMAT_VERSION, dataset: null, entries: [] });

/** The project's one atomic write (`@ragan/core/node`): temp file in the same folder, fsync, rename, fsync the folder. */
export { writeFileAtomic };

/** Reads a board's index (an absent folder or index is an empty board). DatasetError naming the file when damaged. */
export async function readBoardIndex(dir: string): Promise<BoardIndex> {
  const file = join(dir, BOARD_INDEX);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex();
    throw new DatasetError(file, `cannot be read: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DatasetError(file, `is not valid JSON (${(e as Error).message}); the board is damaged`, { cause: e });
  }
  const parsed = indexSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new DatasetError(file, `is not a leaderboard index: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return parsed.data;
}

async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  await fs.mkdir(dir, { recursive: true });
  const lock = join(dir, LOCK);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(lock, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new DatasetError(lock, 'another leaderboard command is writing this board; if none is running, delete this lock file');
    throw e;
  }
  try {
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return await fn();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

/** Reads and JSON-parses a submission file with a size cap. DatasetError naming the file on failure. */
export async function readSubmissionFile(file: string): Promise<unknown> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (e) {
    throw new DatasetError(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot be read: ${(e as Error).message}`, { cause: e });
  }
  if (!stat.isFile()) throw new DatasetError(file, 'is not a file');
  if (stat.size > MAX_SUBMISSION_BYTES)
    throw new SubmissionError(file, [`(file): ${stat.size} bytes, over the ${MAX_SUBMISSION_BYTES}-byte limit for a results file`]);
  const text = await fs.readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SubmissionError(file, [`(file): not valid JSON: ${(e as Error).message}`]);
  }
}

const boardContext = (index: BoardIndex): BoardContext => ({
  dataset: index.dataset,
  entries: index.entries.map((e) => ({ id: e.id, model: e.model, seed: e.seed, subsetHash: e.subsetHash })),
});

/** Stable id of a submission: the first 16 hex digits of the SHA-256 of its canonical JSON. */
export async function submissionId(results: EvalResults): Promise<string> {
  return (await sha256Hex(new TextEncoder().encode(JSON.stringify(results)))).slice(0, 16);
}

/**
 * Validates `json` (from `source`, for messages) and adds it to the board in `dir` (created when
 * missing). Throws SubmissionError listing every reason when refused. Returns the new entry.
 */
export async function addSubmission(
  dir: string,
  json: unknown,
  source = 'submission',
  opts: { now?: () => Date } = {},
): Promise<{ entry: BoardEntry; index: BoardIndex }> {
  return withLock(dir, async () => {
    const index = await readBoardIndex(dir);
    const check = checkSubmission(json, boardContext(index));
    if (!check.ok) throw new SubmissionError(source, check.reasons);
    const r = check.results;
    const id = await submissionId(r);
    if (index.entries.some((e) => e.id === id)) throw new SubmissionError(source, [`(file): this exact submission is already on the board (entry ${id})`]);
    const file = `submissions/${id}.json`;
    await fs.mkdir(join(dir, 'submissions'), { recursive: true });
    // What is stored is the parsed, schema-checked object (unknown keys cannot slip through: the schema is strict).
    await writeFileAtomic(join(dir, file), `${JSON.stringify(r, null, 2)}\n`);
    const entry: BoardEntry = {
      id,
      file,
      addedAt: (opts.now?.() ?? new Date()).toISOString(),
      model: { name: r.model.name, sha256: r.model.sha256, kind: r.model.kind },
      seed: r.seed,
      subsetHash: r.dataset.subsetHash,
    };
    const next: BoardIndex = {
      ...index,
      dataset: index.dataset ?? { name: r.dataset.name, split: r.dataset.split, datasetHash: r.dataset.datasetHash, splitHash: r.dataset.splitHash },
      entries: [...index.entries, entry],
    };
    await writeFileAtomic(join(dir, BOARD_INDEX), `${JSON.stringify(next, null, 2)}\n`);
    return { entry, index: next };
  });
}

export interface LoadedEntry {
  entry: BoardEntry;
  results: EvalResults;
}

/**
 * Reads every entry of a board, re-validating each stored file against the schema (they may have been
 * edited by hand). DatasetError naming the first bad file; ConfigError when the board does not exist.
 */
export async function loadBoard(dir: string): Promise<{ index: BoardIndex; entries: LoadedEntry[] }> {
  try {
    await fs.access(join(dir, BOARD_INDEX));
  } catch {
    throw new ConfigError(
      'board',
      `${join(dir, BOARD_INDEX)} does not exist; add a submission first with \`ragan leaderboard add results.json --board ${dir}\``,
    );
  }
  const index = await readBoardIndex(dir);
  const entries: LoadedEntry[] = [];
  for (const entry of index.entries) {
    const file = join(dir, entry.file);
    let json: unknown;
    try {
      json = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (e) {
      throw new DatasetError(file, `cannot be read as JSON: ${(e as Error).message}`, { cause: e });
    }
    const parsed = evalResultsSchema.safeParse(json);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new DatasetError(file, `no longer passes the results schema: ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    entries.push({ entry, results: parsed.data });
  }
  return { index, entries };
}
