import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validResults } from '../../test/fixtures.js';
import type { EvalResults } from '../results/schema.js';
import { addSubmission, loadBoard, readBoardIndex, readSubmissionFile } from './board.js';
import { buildLeaderboardSite } from './build.js';
import { SubmissionError } from './validate.js';

let good: EvalResults;
let dir: string;
const copy = (): EvalResults => JSON.parse(JSON.stringify(good));

describe('leaderboard board', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    good = await validResults();
    dir = mkdtempSync(join(tmpdir(), 'ragan-board-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds validated submissions to a folder with an index; refuses duplicates; leaves no temp files', async () => {
    const board = join(dir, 'b1');
    const { entry, index } = await addSubmission(board, copy(), 'id.json', { now: () => new Date('2026-01-02T03:04:05Z') });
    expect(entry.id).toMatch(/^[0-9a-f]{16}$/);
    expect(index.dataset!.datasetHash).toBe(good.dataset.datasetHash);
    expect(JSON.parse(readFileSync(join(board, entry.file), 'utf8'))).toEqual(good);
    const second = { ...copy(), seed: 5 };
    await addSubmission(board, second, 'seed5.json');
    const err = await addSubmission(board, copy(), 'again.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubmissionError);
    expect((err as SubmissionError).message).toMatch(/^again\.json was refused \(1 reason\):\n {2}- model\.sha256: this model was already submitted/);
    expect((await readBoardIndex(board)).entries.map((e) => e.seed)).toEqual([0, 5]);
    const files = [...readdirSync(board), ...readdirSync(join(board, 'submissions'))];
    expect(files.filter((f) => f.endsWith('.tmp') || f === '.lock')).toEqual([]);
    expect((await loadBoard(board)).entries).toHaveLength(2);
  });

  it('refuses every reason at once, and leaves the board untouched', async () => {
    const board = join(dir, 'b2');
    await addSubmission(board, copy(), 'ok.json');
    const before = readFileSync(join(board, 'index.json'), 'utf8');
    const err = (await addSubmission(board, { schemaVersion: 999, metrics: { age: 'lots' } }, 'bad.json').catch((e: unknown) => e)) as SubmissionError;
    expect(err.reasons.length).toBeGreaterThan(5);
    expect(err.message.split('\n').length).toBe(err.reasons.length + 1);
    expect(readFileSync(join(board, 'index.json'), 'utf8')).toBe(before);
  });

  it('a lock file blocks a concurrent add with a clear message', async () => {
    const board = join(dir, 'b3');
    await addSubmission(board, copy(), 'ok.json');
    writeFileSync(join(board, '.lock'), '1\n');
    await expect(addSubmission(board, { ...copy(), seed: 9 }, 'x.json')).rejects.toThrow(/another leaderboard command is writing this board/);
    rmSync(join(board, '.lock'));
  });

  it('readSubmissionFile: missing file, non-JSON, and the size cap are named', async () => {
    await expect(readSubmissionFile(join(dir, 'nope.json'))).rejects.toThrow(/nope\.json: no such file/);
    writeFileSync(join(dir, 'junk.json'), '{not json');
    await expect(readSubmissionFile(join(dir, 'junk.json'))).rejects.toThrow(/junk\.json was refused .*\n.*not valid JSON/);
  });

  it('build writes one self-contained index.html; a tampered stored file stops the build with its name', async () => {
    const board = join(dir, 'b4');
    const { entry } = await addSubmission(board, copy(), 'ok.json');
    const site = join(dir, 'site');
    const out = await buildLeaderboardSite(board, site);
    expect(out).toEqual({ file: join(site, 'index.html'), entries: 1 });
    const html = readFileSync(out.file, 'utf8');
    expect(html).toMatch(/<table>/);
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    writeFileSync(join(board, entry.file), JSON.stringify({ ...good, seed: 'x' }));
    await expect(buildLeaderboardSite(board, site)).rejects.toThrow(/submissions\/[0-9a-f]{16}\.json: no longer passes the results schema: seed/);
    await expect(buildLeaderboardSite(join(dir, 'none'), site)).rejects.toThrow(/index\.json does not exist; add a submission first/);
  });
});
