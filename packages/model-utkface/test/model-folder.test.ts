import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UTKFACE_ALIGN, httpStore, initBackend, loadGenerator, parseModelManifest, readManifest } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { utkfaceModelDir } from '../src/node/index.js';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = utkfaceModelDir();

// The package exists to ship this folder: these tests fail (never skip) when it is missing or altered.
describe('the model folder of @ragan/model-utkface', () => {
  it('validates: manifest parsed, every weight file of the declared size and sha256, nothing else loadable', async () => {
    const manifest = parseModelManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')), dir);
    expect(manifest.modules).toEqual(['generator']);
    expect(manifest.config).toMatchObject({ resolution: 64, ageGroups: 'ffhq-aging-10', alignment: UTKFACE_ALIGN });
    expect(manifest.weightFiles.map((f) => f.path)).toEqual(['generator.bin']);
    for (const f of manifest.weightFiles) {
      const bytes = readFileSync(join(dir, f.path));
      expect(bytes.byteLength).toBe(f.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    }
    // core's own reader agrees (format version, limits)
    expect(await readManifest(fsStore(dir))).toEqual(manifest);
  });

  it('states its training data and licence, and ships its card, licence and grids', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { extra?: { meta?: Record<string, string>; untrained?: boolean } };
    expect(manifest.extra?.meta?.trainedOn).toMatch(/UTKFace/);
    expect(manifest.extra?.meta?.licence).toMatch(/non-commercial/i);
    expect(manifest.extra?.untrained).toBeUndefined();
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['LICENSE', 'MODEL_CARD.md', 'generator.bin', 'manifest.json', 'sample-grid-raw.png', 'sample-grid.png']);
    expect(files.reduce((s, f) => s + statSync(join(dir, f)).size, 0)).toBeLessThan(40e6);
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toMatch(/non-commercial research purposes only/i);
    const card = readFileSync(join(dir, 'MODEL_CARD.md'), 'utf8');
    expect(card).toMatch(/non-commercial research use only/i);
    // the card's relative links point at files that exist
    for (const [, target] of card.matchAll(/\]\(([^)#:]+)\)/g)) expect(statSync(join(dir, target!)).isFile(), target).toBe(true);
  });

  it('is published: package.json ships the folder and names the weights licence', () => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { files: string[]; license: string; private?: boolean };
    expect(pkg.files).toContain('model');
    expect(pkg.license).toBe('(Apache-2.0 AND LicenseRef-UTKFace-NC)');
    expect(pkg.private).toBe(false);
  });
});

// The README's browser example reads the folder with httpStore; here a local server plays the web server.
describe('the model folder over HTTP (httpStore)', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    server = createServer((req, res) => {
      const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/model\//, '');
      if (!['manifest.json', 'generator.bin'].includes(name)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200).end(readFileSync(join(dir, name)));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model/`;
  });

  afterAll(async () => {
    await new Promise((ok) => server.close(ok));
  });

  it('loads the same generator as fsStore does', async () => {
    const [a, b] = [await loadGenerator(httpStore(base)), await loadGenerator(fsStore(dir))];
    try {
      expect(a.manifest).toEqual(b.manifest);
      const wa = a.generator.weights();
      const wb = b.generator.weights();
      expect(wa.length).toBe(wb.length);
      for (let i = 0; i < wa.length; i++) {
        expect(wa[i]!.name).toBe(wb[i]!.name);
        expect(
          tf.tidy(() => tf.max(tf.abs(tf.sub(wa[i]!.variable, wb[i]!.variable))).dataSync()[0]),
          wa[i]!.name,
        ).toBe(0);
      }
    } finally {
      a.generator.dispose();
      b.generator.dispose();
    }
  });
});
