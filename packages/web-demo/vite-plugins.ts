/** Vite plugins of the demo (shared by vite.config.ts and vitest.config.ts). */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import type { Plugin } from 'vite';

const require = createRequire(import.meta.url);

/**
 * `virtual:ragan-webgpu`: a loader for @tensorflow/tfjs-backend-webgpu when this package can resolve it,
 * else `null` (the backend switch then says "not in this build"). Keeps the WebGPU backend optional.
 */
export function optionalWebGpu(): Plugin {
  const id = 'virtual:ragan-webgpu';
  let installed = false;
  try {
    require.resolve('@tensorflow/tfjs-backend-webgpu/package.json');
    installed = true;
  } catch {
    installed = false;
  }
  return {
    name: 'ragan-optional-webgpu',
    resolveId: (source) => (source === id ? `\0${id}` : undefined),
    load: (resolved) =>
      resolved === `\0${id}`
        ? installed
          ? "export const loadWebGpu = () => import('@tensorflow/tfjs-backend-webgpu');"
          : 'export const loadWebGpu = null;'
        : undefined,
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

/**
 * Writes dist/precache.json: every file of the build (relative URLs) and a version hash. The service
 * worker (public/sw.js) caches them on install, so the page works offline after its first visit.
 */
export function precacheList(): Plugin {
  let outDir = 'dist';
  return {
    name: 'ragan-precache-list',
    apply: 'build',
    configResolved: (c) => {
      outDir = c.build.outDir.startsWith('/') ? c.build.outDir : join(c.root, c.build.outDir);
    },
    closeBundle: async () => {
      const files = (await listFiles(outDir))
        .map((f) => relative(outDir, f).split(sep).join('/'))
        .filter((f) => f !== 'precache.json' && f !== 'sw.js' && !f.endsWith('.map'))
        .sort();
      const hash = createHash('sha256');
      for (const f of files) hash.update(f).update(await readFile(join(outDir, f)));
      const list = { version: hash.digest('hex').slice(0, 16), files: ['./', ...files] };
      await writeFile(join(outDir, 'precache.json'), `${JSON.stringify(list, null, 1)}\n`);
    },
  };
}
