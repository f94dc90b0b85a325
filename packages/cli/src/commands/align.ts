import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, type BackendName } from '@ragan/core';
import { alignPhoto, checkPhotoFile, encodeRgbPng, NoFaceError, toFacesJson, type FacesJson } from '@ragan/data';
import { backendOption, initCliBackend, parseThreads, THREADS_HELP } from '../backend.js';
import { detectorOption, MIN_CONFIDENCE_HELP, noFaceMessage, parseMinConfidence, type Detector } from '../photo-options.js';
import { writeAtomic } from '../write-atomic.js';

export interface AlignCommandOptions {
  out: string;
  size: string;
  detector: Detector;
  minConfidence: string;
  backend?: BackendName | 'auto';
  threads?: string;
  json?: boolean;
}

export async function runAlign(photoPath: string, opts: AlignCommandOptions): Promise<FacesJson> {
  const size = Number(opts.size);
  if (!Number.isInteger(size) || size < 16 || size > 4096) throw new ConfigError('--size', `must be an integer in [16, 4096], got ${opts.size}`);
  const minConfidence = parseMinConfidence(opts.minConfidence);
  const threads = parseThreads(opts.threads);
  await checkPhotoFile(photoPath); // a missing file or a folder is said so before anything loads
  await initCliBackend(opts.backend, { threads });

  const result = await alignPhoto(photoPath, { size, minConfidence, models: { detector: opts.detector } });
  if (result.faces.length === 0) {
    throw new NoFaceError(photoPath, noFaceMessage(opts.detector, minConfidence));
  }
  const outDir = resolve(opts.out);
  await mkdir(outDir, { recursive: true });
  const json = toFacesJson(photoPath, result, { size, detector: opts.detector });
  for (const [i, f] of result.faces.entries()) await writeAtomic(join(outDir, `face-${i}.png`), await encodeRgbPng(f.crop));
  await writeAtomic(join(outDir, 'faces.json'), `${JSON.stringify(json, null, 2)}\n`);
  // Crops left by an earlier run with more faces would not match faces.json: remove them.
  for (const name of await readdir(outDir)) {
    const m = /^face-(\d+)\.png$/.exec(name);
    if (m && Number(m[1]) >= result.faces.length) await rm(join(outDir, name), { force: true });
  }
  return json;
}

export function registerAlign(program: Command): void {
  program
    .command('align')
    .description('detect every face in a photo and align each the FFHQ-Aging way (one PNG per face + faces.json with the transforms to paste back)')
    .argument('<photo>', 'photo to read (JPEG, PNG, WebP, TIFF, ...; EXIF orientation is honoured)')
    .requiredOption('-o, --out <dir>', 'output folder (created if missing): face-<i>.png per face, faces.json')
    .option('-s, --size <px>', 'side of each aligned crop in pixels', '256')
    .addOption(detectorOption())
    .option('--min-confidence <p>', MIN_CONFIDENCE_HELP, '0.5')
    .addOption(backendOption())
    .option('--threads <n>', THREADS_HELP)
    .option('--json', 'print faces.json to stdout instead of a summary')
    .addHelpText(
      'after',
      `
FFHQ-Aging alignment: eye centres from landmarks 36-41 / 42-47, mouth corners 48 / 54;
half side = max(2.0 x |eye-to-eye|, 2.2 x |eye-to-mouth|) (FFHQ uses 1.8), centre = eye midpoint +
0.1 x eye-to-mouth, oriented square, reflect padding, bilinear resampling with anti-aliasing.
faces.json keeps, per face: detector box and score, the 68 landmarks (photo and crop coordinates), the
photo->crop transform and its inverse (2x3 affine), for pasting an edited crop back into the photo.

Examples:
  ragan align group.jpg --out aligned/
  ragan align portrait.png --out out/ --size 512 --detector tiny
Exits with 1 and a message when no face is found.`,
    )
    .action(async (photo: string, opts: AlignCommandOptions) => {
      const t = Date.now();
      const json = await runAlign(photo, opts);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        return;
      }
      const lines = [
        `${photo}: ${json.photo.width}x${json.photo.height}${json.photo.orientation !== 1 ? ` (EXIF orientation ${json.photo.orientation} applied)` : ''}, ` +
          `${json.faces.length} face${json.faces.length === 1 ? '' : 's'} in ${((Date.now() - t) / 1000).toFixed(1)} s`,
      ];
      for (const f of json.faces) {
        lines.push(
          `  ${join(opts.out, f.file)}  score ${f.score.toFixed(2)}, box ${Math.round(f.box.width)}x${Math.round(f.box.height)} at ` +
            `(${Math.round(f.box.x)}, ${Math.round(f.box.y)}), roll ${f.angleDegrees.toFixed(1)}°`,
        );
      }
      lines.push(`  ${join(opts.out, 'faces.json')}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
