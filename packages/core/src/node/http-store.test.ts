import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError } from '../errors/index.js';
import { resolveModelConfig } from '../config/presets.js';
import type { Module } from '../layers/module.js';
import { loadModelFolder, saveModelFolder } from '../io/model-folder.js';
import { httpStore } from '../io/store.js';
import { TinyNet, weightValues } from '../io/tiny-module.fixture.js';
import { fsStore } from './io-fs.js';

const config = resolveModelConfig('tiny');
const create = (_c: unknown, names: readonly string[]): Record<string, Module> => Object.fromEntries(names.map((n) => [n, new TinyNet(n)]));

/**
 * Serves the saved folder on 127.0.0.1 only. Extra routes: /huge-chunked (no Content-Length, endless-ish
 * body) and /huge-declared (Content-Length larger than the cap).
 */
function serve(dir: string): Promise<{ server: Server; base: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push(url);
    if (url === '/m/huge-chunked.bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const pump = () => {
        while (sent < 50 * 1024 * 1024) {
          sent += 64 * 1024;
          if (!res.write(new Uint8Array(64 * 1024))) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (sent = Infinity));
      pump();
      return;
    }
    if (url === '/m/huge-declared.bin') {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.end(new Uint8Array(10)); // lies; the client must stop at the header
      return;
    }
    const m = /^\/m\/([A-Za-z0-9_.-]+)$/.exec(url);
    try {
      if (!m) throw new Error('no route');
      const body = readFileSync(join(dir, m[1]!));
      res.writeHead(200, { 'content-length': String(body.byteLength) });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, base: `http://127.0.0.1:${port}/m/`, requests });
    });
  });
}

describe('httpStore against a loopback server', () => {
  let tmp: string;
  let server: Server;
  let base: string;
  let requests: string[];
  const saved: Record<string, TinyNet> = {};

  beforeAll(async () => {
    await tf.setBackend('cpu');
    tmp = mkdtempSync(join(tmpdir(), 'ragan-http-'));
    saved.generator = new TinyNet('generator', 2, 11);
    saved.discriminator = new TinyNet('discriminator', 2, 12);
    await saveModelFolder(fsStore(tmp), { config, modules: saved, packageVersion: '0.1.0', extra: { step: 7 } });
    ({ server, base, requests } = await serve(tmp));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(tmp, { recursive: true, force: true });
    for (const m of Object.values(saved)) m.dispose();
  });

  it('loads a folder saved by fsStore with identical weights', async () => {
    const before = tf.memory().numTensors;
    const loaded = await loadModelFolder(httpStore(base), { create });
    expect(loaded.manifest.extra).toEqual({ step: 7 });
    for (const [k, m] of Object.entries(saved)) expect(weightValues(loaded.modules[k]!)).toEqual(weightValues(m));
    for (const m of Object.values(loaded.modules)) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fetches only the manifest and the requested module', async () => {
    requests.length = 0;
    const loaded = await loadModelFolder(httpStore(base), { create, modules: ['generator'] });
    expect(requests).toEqual(['/m/manifest.json', '/m/generator.bin']);
    for (const m of Object.values(loaded.modules)) m.dispose();
  });

  it('reports HTTP errors with the URL', async () => {
    const store = httpStore(`${base}nothing-here`);
    await expect(store.read('manifest.json')).rejects.toThrow(ModelLoadError);
    await expect(store.read('manifest.json')).rejects.toThrow(/\/m\/nothing-here\/manifest\.json: HTTP 404/);
  });

  it('stops streaming at the cap, with or without Content-Length', async () => {
    const store = httpStore(base);
    await expect(store.read('huge-chunked.bin', { maxBytes: 1000 })).rejects.toThrow(/huge-chunked\.bin: file is too large: more bytes, at most 1000/);
    await expect(store.read('huge-declared.bin', { maxBytes: 1000 })).rejects.toThrow(/too large: 10485760 bytes/);
    const manifestBytes = readFileSync(join(tmp, 'manifest.json')).byteLength;
    await expect(store.read('manifest.json', { maxBytes: manifestBytes - 1 })).rejects.toThrow(/too large/);
    expect((await store.read('manifest.json', { maxBytes: manifestBytes })).byteLength).toBe(manifestBytes);
  });

  it('refuses unsafe paths before any request is made', async () => {
    let calls = 0;
    const store = httpStore(base, {
      fetch: (async (...args: Parameters<typeof fetch>) => {
        calls++;
        return fetch(...args);
      }) as typeof fetch,
    });
    for (const p of ['../secret', '/etc/passwd', 'http://evil/x.bin', 'a\\b', '%2e%2e/x']) {
      await expect(store.read(p)).rejects.toThrow(/path refused/);
    }
    expect(calls).toBe(0);
    await store.read('manifest.json');
    expect(calls).toBe(1);
  });

  it('wraps network failures in ModelLoadError', async () => {
    const store = httpStore('http://127.0.0.1:9/none', { fetch: (async () => Promise.reject(new TypeError('fetch failed'))) as typeof fetch });
    await expect(store.read('manifest.json')).rejects.toThrow(/could not fetch: fetch failed/);
  });
});
