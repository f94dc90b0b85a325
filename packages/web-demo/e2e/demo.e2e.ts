/**
 * End-to-end: the built demo in Debian's Chromium, driven by playwright-core.
 *
 * Serves dist/ on 127.0.0.1, opens it on the wasm backend, loads face-api's demo photo, moves the age
 * slider, and checks: the face changes and the rest of the photo stays as it was (canvas pixels read in
 * the page), the slider's age changes the output, the backend switch works, the download is a PNG, the
 * page works with the server gone (service worker), no console errors, and no request leaves the page's
 * own origin. Saves screenshots to test-results/.
 *
 * Needs /usr/bin/chromium (or CHROMIUM_PATH): `.ci/install-chromium`. Run: `pnpm --filter web-demo test:e2e`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDarkSample6 } from '@ragan/test-utils/sample-faces';
import { serveStatic, type StaticServer } from './static-server.js';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = join(pkgDir, 'dist');
const resultsDir = join(pkgDir, 'test-results');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const require = createRequire(join(pkgDir, 'package.json'));
const samplePhoto = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');

// Flags for this machine's closed network (see the machine notes): no background connections.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // A synthetic camera (a test pattern, no face) for the webcam path, without a permission prompt.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** Pixel statistics computed in the page from the before/after canvases (plain JS: runs as is in the page). */
const PIXEL_STATS = `(() => {
  const read = (id) => {
    const c = document.getElementById(id);
    return { w: c.width, h: c.height, d: c.getContext('2d').getImageData(0, 0, c.width, c.height).data };
  };
  const a = read('before'), b = read('after');
  if (a.w !== b.w || a.h !== b.h) return { error: 'size mismatch ' + a.w + 'x' + a.h + ' vs ' + b.w + 'x' + b.h };
  const faces = window.raganDemo.faces;
  const inPoly = (poly, x, y) => {
    let inside = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i], [xj, yj] = poly[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
  // Inside: the face region shrunk to 60% about its centroid (well clear of the feathered edge).
  const cores = faces.map((f) => {
    const cx = f.region.reduce((s, p) => s + p[0], 0) / f.region.length, cy = f.region.reduce((s, p) => s + p[1], 0) / f.region.length;
    return f.region.map(([x, y]) => [cx + (x - cx) * 0.6, cy + (y - cy) * 0.6]);
  });
  // Outside: beyond every face's crop square (bounding box, 2 px margin): paste-back may touch nothing there.
  const boxes = faces.map((f) => {
    const xs = f.quad.quad.map((p) => p[0]), ys = f.quad.quad.map((p) => p[1]);
    return [Math.min(...xs) - 2, Math.min(...ys) - 2, Math.max(...xs) + 2, Math.max(...ys) + 2];
  });
  let inSum = 0, inN = 0, outSum = 0, outN = 0, outMax = 0, agedSum = 0;
  const prev = window.__previousAfter;
  for (let y = 0; y < a.h; y += 2) for (let x = 0; x < a.w; x += 2) {
    const i = (y * a.w + x) * 4, px = x + 0.5, py = y + 0.5;
    const diff = (Math.abs(a.d[i] - b.d[i]) + Math.abs(a.d[i + 1] - b.d[i + 1]) + Math.abs(a.d[i + 2] - b.d[i + 2])) / 3;
    if (cores.some((p) => inPoly(p, px, py))) {
      inSum += diff; inN++;
      if (prev) agedSum += (Math.abs(prev[i] - b.d[i]) + Math.abs(prev[i + 1] - b.d[i + 1]) + Math.abs(prev[i + 2] - b.d[i + 2])) / 3;
    } else if (!boxes.some(([x0, y0, x1, y1]) => px >= x0 && px <= x1 && py >= y0 && py <= y1)) {
      outSum += diff; outN++; if (diff > outMax) outMax = diff;
    }
  }
  window.__previousAfter = b.d.slice();
  return {
    width: a.w, height: a.h, faces: faces.length, insideMean: inSum / inN, insideN: inN,
    outsideMean: outSum / outN, outsideMax: outMax, outsideN: outN, vsPreviousInside: prev ? agedSum / inN : null,
  };
})()`;

interface PixelStats {
  error?: string;
  width: number;
  height: number;
  faces: number;
  insideMean: number;
  insideN: number;
  outsideMean: number;
  outsideMax: number;
  outsideN: number;
  vsPreviousInside: number | null;
}

interface Timings {
  generatorMs: number;
  pasteMs: number;
  totalMs: number;
  detectMs?: number;
}

const log = (...args: unknown[]) => console.log('[e2e]', ...args);

describe('web demo in Chromium', () => {
  let server: StaticServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];
  const consoleErrors: string[] = [];
  const t0 = Date.now();

  const waitState = async (state: string, extra = '', timeout = 120_000) => {
    await page.waitForSelector(`body[data-state="${state}"]${extra}`, { timeout, state: 'attached' });
  };
  const status = () => page.locator('#status').textContent();
  /** The before/after canvases' pixel statistics, logged with `what` (left out of the log when empty). */
  const pixelStats = async (what = '') => {
    const s = (await page.evaluate(PIXEL_STATS)) as PixelStats;
    if (what) log(`pixels ${what}:`, s);
    return s;
  };

  beforeAll(async () => {
    if (!existsSync(join(distDir, 'index.html'))) throw new Error(`${distDir} has no build: run \`pnpm --filter web-demo build\` first (test:e2e does)`);
    if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: run .ci/install-chromium (Debian package chromium) or set CHROMIUM_PATH`);
    await mkdir(resultsDir, { recursive: true });
    server = await serveStatic(distDir);
    // playwright gives every launch a fresh, empty profile (its own --user-data-dir).
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
    // Context-level: also sees the service worker's requests.
    context.on('request', (r) => requested.push(r.url()));
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    log(`chromium ${browser.version()}, serving ${distDir} at ${server.origin}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('starts on wasm, loads both models from its own origin and says which model it is', async () => {
    const t = Date.now();
    await page.goto(`${server.origin}/?backend=wasm`);
    await waitState('ready');
    log(`ready in ${Date.now() - t} ms: ${await status()}`);
    expect(await page.getAttribute('body', 'data-backend')).toBe('wasm');
    const note = page.locator('#model-note');
    expect(await note.isVisible()).toBe(true);
    // the bundled trained model (from @ragan/model-utkface) states its data and licence; the untrained fallback says so
    const manifest = JSON.parse(readFileSync(join(distDir, 'models', 'ragan', 'manifest.json'), 'utf8')) as {
      extra?: { untrained?: boolean; meta?: { licence?: string } };
    };
    const text = (await note.textContent()) ?? '';
    log(`model note: ${text}`);
    if (manifest.extra?.untrained) expect(text).toMatch(/untrained demo model — results are noise until a trained model is bundled/i);
    else {
      // a trained model states the terms of its weights (prepare-assets refuses a bundled model without them)
      expect(manifest.extra?.meta?.licence).toBeTruthy();
      expect(text).toContain(`Weights: ${manifest.extra!.meta!.licence!}`);
    }
  });

  it('re-ages the face in a photo: the face changes, the rest of the photo does not', async () => {
    const t = Date.now();
    await page.setInputFiles('#photo', samplePhoto);
    await waitState('done', '[data-age="65"]');
    const timings = (await page.evaluate('window.raganDemo.timings')) as Timings;
    log(`photo done in ${Date.now() - t} ms; timings on wasm:`, timings, `— ${await page.locator('#timing').textContent()}`);
    const s = await pixelStats('at age 65');
    expect(s.error).toBeUndefined();
    expect(s.faces).toBeGreaterThanOrEqual(1);
    expect(s.insideN).toBeGreaterThan(100);
    expect(s.outsideN).toBeGreaterThan(1000);
    // The generator's output replaces the face: it differs from the photo inside it (mean |Δ| of 0..255:
    // ~8 with the bundled trained model, > 10 with the untrained fallback; 0 would mean nothing was pasted)...
    expect(s.insideMean).toBeGreaterThan(3);
    // ...and paste-back leaves every pixel outside the faces' crops as it was.
    expect(s.outsideMax).toBeLessThanOrEqual(2);
    expect(s.outsideMean).toBeLessThan(0.05);
    await page.screenshot({ path: join(resultsDir, 'web-demo-age-65.png'), fullPage: true });
  });

  it('moving the age slider re-renders with the new age (CBN blending)', async () => {
    const t = Date.now();
    await page.locator('#age').fill('20');
    await waitState('done', '[data-age="20"]');
    log(`slider to 20 rendered in ${Date.now() - t} ms`);
    expect(await page.locator('#age-label').textContent()).toBe('20 (15-19 60 %, 20-29 40 %)');
    const s = await pixelStats('at age 20');
    expect(s.insideMean).toBeGreaterThan(3);
    expect(s.outsideMax).toBeLessThanOrEqual(2);
    // Another age, another output inside the face (each group has its own CBN scale and shift).
    expect(s.vsPreviousInside).toBeGreaterThan(1);
    await page.screenshot({ path: join(resultsDir, 'web-demo.png'), fullPage: true });
  });

  it('switches backend and shows the time per image on each', async () => {
    const options = await page.$$eval('#backend-select option', (os) =>
      os.map((o) => ({ value: (o as HTMLOptionElement).value, disabled: (o as HTMLOptionElement).disabled, label: o.textContent })),
    );
    log('backend options:', options);
    const times: Record<string, Timings> = {};
    times.wasm = (await page.evaluate('window.raganDemo.timings')) as Timings;
    // cpu is always there; webgl runs on SwiftShader here (no GPU: ~10 s per photo), so only on request.
    const order = process.env.RAGAN_E2E_WEBGL === '1' ? ['webgl', 'cpu', 'wasm'] : ['cpu', 'wasm'];
    let previous = 'wasm';
    for (const name of order) {
      if (options.find((o) => o.value === name)?.disabled !== false) continue;
      const t = Date.now();
      await page.evaluate('document.body.dataset.age = ""');
      await page.selectOption('#backend-select', name);
      await waitState('done', '[data-age="20"]', 240_000);
      expect(await page.getAttribute('body', 'data-backend')).toBe(name);
      times[name] = (await page.evaluate('window.raganDemo.timings')) as Timings;
      const s = await pixelStats();
      log(
        `${name}: switch + warm-up + render ${Date.now() - t} ms; time per image "${await page.locator('#timing').textContent()}"; inside change vs ` +
          `previous backend ${s.vsPreviousInside?.toFixed(3)}`,
      );
      if (name === 'webgl')
        log(
          'webgl flags:',
          await page.evaluate(
            '(({ WEBGL_VERSION, WEBGL_RENDER_FLOAT32_ENABLED, WEBGL_RENDER_FLOAT32_CAPABLE, WEBGL_FORCE_F16_TEXTURES }) => ({ WEBGL_VERSION, ' +
              'WEBGL_RENDER_FLOAT32_ENABLED, WEBGL_RENDER_FLOAT32_CAPABLE, WEBGL_FORCE_F16_TEXTURES }))(window.raganDemo.tfFlags())',
          ),
        );
      expect(s.outsideMax).toBeLessThanOrEqual(2);
      // Same model, same age: cpu and wasm (float32 both) give the same face up to rounding.
      if (name !== 'webgl' && previous !== 'webgl') expect(s.vsPreviousInside).toBeLessThan(1);
      previous = name;
    }
    expect(Object.keys(times).length).toBeGreaterThanOrEqual(2);
  });

  it('downloads the result as a PNG', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe('ragan-age-20.png');
    const file = join(resultsDir, download.suggestedFilename());
    await download.saveAs(file);
    const bytes = await readFile(file);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it("finds the four faces of a photo too dark for SSD (BlazeFace, as `ragan age`'s auto detector) and re-ages them", async () => {
    // face-api's sample6.jpg at a tenth of its brightness: SSD finds none of its 4 faces, auto all 4 (in Node too)
    const dark = join(resultsDir, 'dark-sample6.png');
    await writeDarkSample6(dark);
    await page.setInputFiles('#photo', dark);
    await waitState('done', '[data-faces="4"]');
    const s = await pixelStats('of the dark photo');
    expect(s.faces).toBe(4);
    expect(s.outsideMax).toBeLessThanOrEqual(2);
    expect(s.insideMean).toBeGreaterThan(1);
    await page.screenshot({ path: join(resultsDir, 'web-demo-dark.png'), fullPage: true });
  });

  it('takes a photo from the webcam (a fake camera here: no face in it)', async () => {
    await page.click('#webcam-start');
    await page.waitForSelector('#webcam-box[data-live="true"]', { timeout: 30_000 });
    await page.click('#webcam-snap');
    await waitState('no-face');
    expect(await status()).toMatch(/No face found/);
    expect(await page.evaluate('[document.getElementById("before").width, document.getElementById("before").height]')).toEqual(
      await page.evaluate('[document.getElementById("webcam").videoWidth, document.getElementById("webcam").videoHeight]'),
    );
    await page.click('#webcam-stop');
    expect(await page.locator('#webcam-box').isHidden()).toBe(true);
  });

  it('works offline once loaded (service worker), with the server gone', async () => {
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
    await server.close();
    const t = Date.now();
    await page.reload();
    await waitState('ready');
    await page.setInputFiles('#photo', samplePhoto);
    await waitState('done', '[data-age="65"]');
    log(`offline reload + photo in ${Date.now() - t} ms`);
    const s = await pixelStats();
    expect(s.outsideMax).toBeLessThanOrEqual(2);
    expect(s.insideMean).toBeGreaterThan(3);
  });

  it('made no request outside its own origin and logged no error', () => {
    const origin = server.origin;
    const foreign = requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
    log(`${requested.length} requests (${server.requests.length} reached the server), ${foreign.length} to other origins`);
    expect(foreign).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
