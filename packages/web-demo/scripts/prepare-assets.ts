/**
 * Puts everything the page loads at run time into public/ (served from the app's own origin; the
 * generated folders are gitignored):
 *
 * - public/tfjs-wasm/       the .wasm binaries of @tensorflow/tfjs-backend-wasm (passed as wasmPaths)
 * - public/models/face-api/ face-api's SSD MobileNetV1 detector and 68-point landmark net
 * - public/models/blazeface/ MediaPipe's BlazeFace as @vladmandic/human ships it (the `auto` detector's second net)
 * - public/models/ragan/    the generator's model folder (manifest.json + generator.bin), read with httpStore
 *
 * The generator is the pretrained model of @ragan/model-utkface (its model/ folder, the one @ragan/cli
 * uses by default), copied on every run. Without one (a checkout from before it was bundled), an
 * untrained, seeded `tiny` one whose conditional batch-norm parameters get seeded per-group values, so
 * that the age slider visibly changes its (noise) output; a folder there whose manifest is not marked
 * `extra.untrained` is then left alone.
 *
 * Run with: tsx --conditions=@ragan/source scripts/prepare-assets.ts  (the package's `prebuild` step).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createGenerator, exportGenerator, initBackend, resolveModelConfig, VERSION } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { utkfaceModelDir } from '@ragan/model-utkface/node';
import { BLAZEFACE_FILES, FACE_API_FILES } from '../src/face-api-files.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, '..');
const publicDir = join(pkgDir, 'public');
const require = createRequire(join(pkgDir, 'package.json'));

/** Seed of the untrained demo generator. */
export const DEMO_MODEL_SEED = 2021;

async function copyInto(srcDir: string, names: readonly string[], destDir: string): Promise<void> {
  await mkdir(destDir, { recursive: true });
  for (const n of names) await copyFile(join(srcDir, n), join(destDir, n));
}

async function copyWasm(): Promise<string[]> {
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const files = (await readdir(join(dist, 'dist'))).filter((f) => f.endsWith('.wasm'));
  if (files.length === 0) throw new Error(`no .wasm files in ${join(dist, 'dist')}`);
  await copyInto(join(dist, 'dist'), files, join(publicDir, 'tfjs-wasm'));
  return files;
}

async function copyFaceApi(): Promise<void> {
  const dir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await copyInto(dir, FACE_API_FILES, join(publicDir, 'models', 'face-api'));
}

async function copyBlazeFace(): Promise<void> {
  // human's main entry sits in dist/; its exports do not list package.json
  const dir = join(dirname(dirname(require.resolve('@vladmandic/human'))), 'models');
  await copyInto(dir, BLAZEFACE_FILES, join(publicDir, 'models', 'blazeface'));
}

/**
 * The pretrained model of @ragan/model-utkface (a devDependency of this app, for this script only: the page
 * reads the copy in public/ over HTTP); the same one `ragan age` uses.
 */
const BUNDLED = utkfaceModelDir();
/** Outside public/ (so it is never deployed): the manifest bytes of the last copy we made. */
const COPY_RECORD = join(pkgDir, '.bundled-model-copy');

const readText = (file: string) => readFile(file, 'utf8').catch(() => undefined);

/** Copies the bundled model's manifest and weight files (not its card or licence) into public/models/ragan. */
async function copyBundled(dir: string): Promise<string> {
  const text = (await readText(join(BUNDLED, 'manifest.json')))!;
  const m = JSON.parse(text) as { weightFiles: Array<{ path: string; bytes: number }>; extra?: { meta?: { licence?: unknown } } };
  // the page shows the licence the weights come with; a bundled model without one is a packaging mistake
  if (typeof m.extra?.meta?.licence !== 'string') throw new Error(`${BUNDLED}/manifest.json has no extra.meta.licence (export it with --meta licence=...)`);
  const names = ['manifest.json', ...m.weightFiles.map((f) => f.path)];
  await rm(dir, { recursive: true, force: true });
  await copyInto(BUNDLED, names, dir);
  await writeFile(COPY_RECORD, text);
  const bytes = m.weightFiles.reduce((s, f) => s + f.bytes, 0);
  return `copied the bundled model ${BUNDLED} to ${dir} (${(bytes / 1024).toFixed(0)} KiB)`;
}

async function demoModel(): Promise<string> {
  const dir = join(publicDir, 'models', 'ragan');
  if (existsSync(join(BUNDLED, 'manifest.json'))) {
    // Replace our own earlier copies and the untrained fallback; keep a model someone else put there.
    const existing = await readText(join(dir, 'manifest.json'));
    let untrained = false;
    try {
      untrained = existing !== undefined && (JSON.parse(existing) as { extra?: { untrained?: boolean } }).extra?.untrained === true;
    } catch {
      // unreadable: replace it
    }
    const ours = existing === undefined || untrained || existing === (await readText(COPY_RECORD));
    if (!ours) return `kept the model already in ${dir} (not the bundled one; delete it to use the bundled model)`;
    return copyBundled(dir);
  }
  try {
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { extra?: { untrained?: boolean; seed?: number }; packageVersion?: string };
    if (m.extra?.untrained !== true) return `kept the model already in ${dir} (not marked untrained)`;
    if (m.extra.seed === DEMO_MODEL_SEED && m.packageVersion === VERSION) return `untrained demo model up to date in ${dir}`;
  } catch {
    // none yet (or unreadable): write it
  }
  await initBackend({ backend: 'cpu', quiet: true });
  const config = resolveModelConfig('tiny');
  const gen = createGenerator(config, { seed: DEMO_MODEL_SEED, name: 'generator' });
  try {
    // At init every group has gamma 1 / beta 0, so all ages would give the same output: give each group
    // its own seeded scale and shift so that the slider's CBN blending shows.
    gen.batchNormLayers().forEach((cbn, i) => {
      cbn.gamma.assign(tf.randomUniform(cbn.gamma.shape, 0.5, 1.5, 'float32', DEMO_MODEL_SEED + 2 * i));
      cbn.beta.assign(tf.randomUniform(cbn.beta.shape, -0.5, 0.5, 'float32', DEMO_MODEL_SEED + 2 * i + 1));
    });
    const manifest = await exportGenerator(fsStore(dir), gen, {
      dtype: 'float16',
      extra: {
        untrained: true,
        seed: DEMO_MODEL_SEED,
        note: 'untrained demo model (seeded tiny generator): results are noise until a trained model is bundled',
      },
    });
    const bytes = manifest.weightFiles.reduce((s, f) => s + f.bytes, 0);
    return `wrote the untrained ${config.resolution}px demo model to ${dir} (${(bytes / 1024).toFixed(0)} KiB)`;
  } finally {
    gen.dispose();
  }
}

const t0 = performance.now();
const wasm = await copyWasm();
await copyFaceApi();
await copyBlazeFace();
const model = await demoModel();
const files = `${wasm.length} wasm files, ${FACE_API_FILES.length} face-api files, ${BLAZEFACE_FILES.length} BlazeFace files`;
console.log(`prepare-assets: ${files}; ${model} (${Math.round(performance.now() - t0)} ms)`);
