import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { loadBoard, writeFileAtomic } from './board.js';
import { renderLeaderboardHtml } from './site.js';

/** Writes `outDir/index.html` for the board in `boardDir` (atomic). Returns the file and the entry count. */
export async function buildLeaderboardSite(
  boardDir: string,
  outDir: string,
  opts: { title?: string; now?: () => Date } = {},
): Promise<{ file: string; entries: number }> {
  const { entries } = await loadBoard(boardDir);
  const html = renderLeaderboardHtml(
    entries.map((e) => ({ id: e.entry.id, addedAt: e.entry.addedAt, results: e.results })),
    { ...(opts.title ? { title: opts.title } : {}), generatedAt: opts.now?.() ?? new Date() },
  );
  await fs.mkdir(outDir, { recursive: true });
  const file = join(outDir, 'index.html');
  await writeFileAtomic(file, html);
  return { file, entries: entries.length };
}
