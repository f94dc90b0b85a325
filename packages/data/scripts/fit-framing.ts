/**
 * Measures how a folder of already aligned face crops is framed, in the terms of the FFHQ alignment
 * (`ffhqAlignQuad` in @ragan/core): for each crop, detect the 68 landmarks and find the eye-to-eye scale,
 * eye-to-mouth scale and centre shift that would reproduce the crop's own square. Prints the medians as
 * JSON; a model trained on those crops should align photos the same way (its manifest's `alignment`).
 *
 *   pnpm --filter @ragan/data exec tsx --conditions=@ragan/source scripts/fit-framing.ts \
 *     ../../../shared/data/utkface/crop_part1 300
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { initNodeBackend } from '@ragan/core/node';
import { decodeRgb, detectFaces, fnv1a32, loadFaceModels, readImageFile } from '../src/index.js';

const dir = process.argv[2];
const n = Number(process.argv[3] ?? 300);
if (!dir) {
  console.error('usage: fit-framing.ts <folder of aligned crops> [count=300]');
  process.exit(2);
}
await initNodeBackend({ backend: 'wasm' });
await loadFaceModels({ age: false, recognition: false });
// A spread-out, reproducible subset (hash order), not the first names in sorted order.
const names = readdirSync(dir)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort((a, b) => fnv1a32(a) - fnv1a32(b))
  .slice(0, n);

const e2eRatio: number[] = [];
const e2mRatio: number[] = [];
const shiftAlong: number[] = [];
const shiftAcross: number[] = [];
for (const name of names) {
  const buf = await readImageFile(join(dir, name));
  const img = await decodeRgb(buf, 200);
  const faces = await detectFaces(img, { pad: 1, minConfidence: 0.3 });
  if (faces.length === 0) continue;
  const lm = faces[0]!.landmarks68;
  const mean = (a: number, b: number) => {
    let x = 0,
      y = 0;
    for (let i = a; i < b; i++) {
      x += lm[i]![0];
      y += lm[i]![1];
    }
    return [x / (b - a), y / (b - a)] as const;
  };
  const el = mean(36, 42),
    er = mean(42, 48);
  const eye = [(el[0] + er[0]) / 2, (el[1] + er[1]) / 2];
  const mouth = [(lm[48]![0] + lm[54]![0]) / 2, (lm[48]![1] + lm[54]![1]) / 2];
  const e2e = Math.hypot(er[0] - el[0], er[1] - el[1]);
  const e2m = [mouth[0]! - eye[0]!, mouth[1]! - eye[1]!];
  const e2mLen = Math.hypot(e2m[0]!, e2m[1]!);
  const half = img.width / 2;
  e2eRatio.push(half / e2e);
  e2mRatio.push(half / e2mLen);
  // where the crop centre sits relative to the eye midpoint, in eye-to-mouth units
  const d = [half - eye[0]!, half - eye[1]!];
  shiftAlong.push((d[0]! * e2m[0]! + d[1]! * e2m[1]!) / (e2mLen * e2mLen));
  shiftAcross.push((d[0]! * -e2m[1]! + d[1]! * e2m[0]!) / (e2mLen * e2mLen));
}
if (e2eRatio.length === 0) {
  console.error(`fit-framing: face-api found no face in any of the ${names.length} crops; nothing to measure`);
  process.exit(1);
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const q = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(a.length * p)]!;
// The FFHQ half side is max(a·|e2e|, b·|e2m|). Choose a and b as the per-crop medians: each alone
// reproduces the typical crop, and the max of the two is then right for faces of typical proportions.
const result = {
  folder: dir,
  crops: names.length,
  /** Crops where face-api found a face: the figures are measured on these only. */
  withFace: e2eRatio.length,
  eyeToEyeScale: +med(e2eRatio).toFixed(3),
  eyeToMouthScale: +med(e2mRatio).toFixed(3),
  centreShift: +med(shiftAlong).toFixed(3),
  spread: {
    eyeToEyeScale: [+q(e2eRatio, 0.1).toFixed(3), +q(e2eRatio, 0.9).toFixed(3)],
    eyeToMouthScale: [+q(e2mRatio, 0.1).toFixed(3), +q(e2mRatio, 0.9).toFixed(3)],
    centreShift: [+q(shiftAlong, 0.1).toFixed(3), +q(shiftAlong, 0.9).toFixed(3)],
    sidewaysShift: [+q(shiftAcross, 0.1).toFixed(3), +q(shiftAcross, 0.9).toFixed(3)],
  },
};
console.log(JSON.stringify(result, null, 2));
