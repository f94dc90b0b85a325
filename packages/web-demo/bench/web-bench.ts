/**
 * `pnpm --filter web-demo bench`: the built demo in headless Chromium (Debian's, as in the e2e test)
 * on the wasm backend: loads face-api's demo photo, then moves the age slider through several ages and
 * records the page's own timings for each re-render (generator per face, whole re-render). Writes
 * `bench/results/web.json` at the repository root (medians). Needs a build (`pnpm --filter web-demo
 * build`; the bench script runs it) and /usr/bin/chromium (or CHROMIUM_PATH).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serveStatic } from '../e2e/static-server.js';
import { median, writeSectionResults } from '../../../bench/results-file.js';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(pkgDir, 'dist');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const require = createRequire(join(pkgDir, 'package.json'));
const samplePhoto = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const AGES = [20, 40, 60, 30, 50, 70, 25];

interface Timings {
  generatorMs: number;
  pasteMs: number;
  totalMs: number;
}

const round = (v: number) => Math.round(v * 10) / 10;

async function main(): Promise<void> {
  if (!existsSync(join(distDir, 'index.html'))) throw new Error(`${distDir} has no build: run \`pnpm --filter web-demo build\``);
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: run .ci/install-chromium or set CHROMIUM_PATH`);
  const server = await serveStatic(distDir);
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ARGS });
  const results: Record<string, unknown>[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const wait = (extra: string) => page.waitForSelector(`body[data-state="done"]${extra}`, { timeout: 240_000, state: 'attached' });
    await page.goto(`${server.origin}/?backend=wasm`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 240_000, state: 'attached' });
    await page.setInputFiles('#photo', samplePhoto);
    await wait('[data-age="65"]');
    const faces = (await page.evaluate('window.raganDemo.faces.length')) as number;
    const threads = (await page.evaluate('(globalThis.crossOriginIsolated ? navigator.hardwareConcurrency : 1)')) as number;
    const runs: Timings[] = [];
    for (const age of AGES) {
      await page.locator('#age').fill(String(age));
      await wait(`[data-age="${age}"]`);
      runs.push((await page.evaluate('window.raganDemo.timings')) as Timings);
    }
    const common = {
      backend: 'wasm',
      browser: `chromium ${browser.version()}`,
      photo: 'face-api demo/sample1.jpg 1920x1280',
      faces,
      crossOriginIsolatedThreads: threads,
      runs: runs.length,
    };
    results.push({
      bench: 'webDemo',
      what: 'generator per face (slider re-render)',
      ...common,
      medianMs: round(median(runs.map((r) => r.generatorMs / faces))),
    });
    results.push({
      bench: 'webDemo',
      what: 'whole re-render (generator + paste-back, all faces)',
      ...common,
      medianMs: round(median(runs.map((r) => r.totalMs))),
    });
    for (const r of results) process.stderr.write(`  ${JSON.stringify(r)}\n`);
  } finally {
    await browser.close();
    await server.close();
  }
  writeSectionResults('web.json', { package: 'web-demo' }, results);
}

await main();
