/**
 * FFHQ-Aging alignment, face masks and paste-back for the browser: pure TypeScript, no Node built-ins.
 *
 * Copied verbatim (imports aside) from @ragan/data — src/align/affine.ts, src/align/ffhq.ts,
 * src/faces/raster.ts, src/faces/landmark-mask.ts and src/align/warp.ts — because the demo depends on
 * @ragan/core alone and @ragan/data is a Node package (sharp). Keep in step with those files until they
 * move into @ragan/core.
 */
import { ConfigError, ShapeError } from '@ragan/core';

/** A point `[x, y]` in pixels (x right, y down; pixel (i, j) covers [i, i+1) × [j, j+1), as in face-api). */
export type Point2 = [number, number];

/** 8-bit RGB, row-major HWC, `data.length === width * height * 3`. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Throws a ShapeError unless `image` is a well-formed RgbImage. */
export function checkRgbImage(image: RgbImage, what = 'image'): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ShapeError(`${what}: width and height must be positive integers, got ${width}x${height}`);
  }
  if (!data || data.length !== width * height * 3) {
    throw new ShapeError(`${what}: expected ${width * height * 3} bytes (${width}x${height} RGB), got ${data?.length}`);
  }
}

// ---- affine (src/align/affine.ts) ----

/**
 * A 2×3 affine matrix `[a, b, c, d, e, f]` mapping `(x, y)` to `(a·x + b·y + c, d·x + e·y + f)`.
 * Coordinates are continuous pixels: pixel (col i, row j) covers [i, i+1) × [j, j+1), its centre is at
 * (i + 0.5, j + 0.5) (the convention of face-api's landmarks and of sharp).
 */
export type Affine = [number, number, number, number, number, number];

export function applyAffine(m: Affine, p: Point2): Point2 {
  return [m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new ShapeError(`invertAffine: the matrix [${m.join(', ')}] is singular`);
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** `compose(m2, m1)` applies m1 first, then m2. */
export function composeAffine(m2: Affine, m1: Affine): Affine {
  return [
    m2[0] * m1[0] + m2[1] * m1[3],
    m2[0] * m1[1] + m2[1] * m1[4],
    m2[0] * m1[2] + m2[1] * m1[5] + m2[2],
    m2[3] * m1[0] + m2[4] * m1[3],
    m2[3] * m1[1] + m2[4] * m1[4],
    m2[3] * m1[2] + m2[4] * m1[5] + m2[5],
  ];
}

/** Mean scale factor of the linear part (sqrt |det|): output pixels per input pixel. */
export function affineScale(m: Affine): number {
  return Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]));
}

// ---- FFHQ crop (src/align/ffhq.ts) ----

/** How the FFHQ-Aging crop is derived from the landmarks (ragan-spec.md, Data). */
export interface FfhqAlignParams {
  /** Half side ≥ this × |eye-to-eye|. Default 2.0 (as FFHQ). */
  eyeToEyeScale?: number;
  /** Half side ≥ this × |eye-to-mouth|. Default 2.2 [ours, spec]; FFHQ uses 1.8 (a looser crop keeps hair and chin). */
  eyeToMouthScale?: number;
  /** Centre = eye midpoint + this × eye-to-mouth. Default 0.1 (as FFHQ). */
  centreShift?: number;
}

export const DEFAULT_FFHQ_ALIGN: Required<FfhqAlignParams> = { eyeToEyeScale: 2.0, eyeToMouthScale: 2.2, centreShift: 0.1 };

/** The oriented crop square in photo coordinates. */
export interface AlignQuad {
  /** Corners top-left, bottom-left, bottom-right, top-right (FFHQ's order), photo pixels. */
  quad: [Point2, Point2, Point2, Point2];
  centre: Point2;
  /** Half the side, photo pixels. */
  halfSide: number;
  /** Rotation of the crop's x axis in the photo, radians (0 = upright). */
  angle: number;
  eyeLeft: Point2;
  eyeRight: Point2;
  mouthLeft: Point2;
  mouthRight: Point2;
}

function mean(points: Point2[]): Point2 {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p[0];
    y += p[1];
  }
  return [x / points.length, y / points.length];
}

/**
 * FFHQ's recipe (NVlabs/ffhq-dataset `recreate_aligned_images`) with the spec's sizes: eye centres from
 * points 36-41 and 42-47, mouth corners 48 and 54; x = eye_to_eye − flip(eye_to_mouth)·[−1, 1] normalised
 * (so the crop axis blends the eye line and the perpendicular of the eye-mouth line); half side =
 * max(2.0·|eye_to_eye|, 2.2·|eye_to_mouth|); centre = eye midpoint + 0.1·eye_to_mouth.
 * "Left eye" is the one at smaller x in an upright photo (the subject's right eye, iBUG 36-41).
 */
export function ffhqAlignQuad(landmarks68: Point2[], params: FfhqAlignParams = {}): AlignQuad {
  if (landmarks68.length !== 68) throw new ShapeError(`ffhqAlignQuad: expected 68 landmarks, got ${landmarks68.length}`);
  const { eyeToEyeScale, eyeToMouthScale, centreShift } = { ...DEFAULT_FFHQ_ALIGN, ...params };
  const eyeLeft = mean(landmarks68.slice(36, 42));
  const eyeRight = mean(landmarks68.slice(42, 48));
  const eyeAvg: Point2 = [(eyeLeft[0] + eyeRight[0]) / 2, (eyeLeft[1] + eyeRight[1]) / 2];
  const eyeToEye: Point2 = [eyeRight[0] - eyeLeft[0], eyeRight[1] - eyeLeft[1]];
  const mouthLeft = landmarks68[48]!;
  const mouthRight = landmarks68[54]!;
  const mouthAvg: Point2 = [(mouthLeft[0] + mouthRight[0]) / 2, (mouthLeft[1] + mouthRight[1]) / 2];
  const eyeToMouth: Point2 = [mouthAvg[0] - eyeAvg[0], mouthAvg[1] - eyeAvg[1]];

  // x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]
  let xv: Point2 = [eyeToEye[0] + eyeToMouth[1], eyeToEye[1] - eyeToMouth[0]];
  const xn = Math.hypot(xv[0], xv[1]);
  if (!(xn > 1e-6)) throw new ShapeError('ffhqAlignQuad: degenerate landmarks (eyes and mouth coincide)');
  const halfSide = Math.max(Math.hypot(...eyeToEye) * eyeToEyeScale, Math.hypot(...eyeToMouth) * eyeToMouthScale);
  xv = [(xv[0] / xn) * halfSide, (xv[1] / xn) * halfSide];
  const yv: Point2 = [-xv[1], xv[0]];
  const c: Point2 = [eyeAvg[0] + eyeToMouth[0] * centreShift, eyeAvg[1] + eyeToMouth[1] * centreShift];
  const quad: AlignQuad['quad'] = [
    [c[0] - xv[0] - yv[0], c[1] - xv[1] - yv[1]],
    [c[0] - xv[0] + yv[0], c[1] - xv[1] + yv[1]],
    [c[0] + xv[0] + yv[0], c[1] + xv[1] + yv[1]],
    [c[0] + xv[0] - yv[0], c[1] + xv[1] - yv[1]],
  ];
  return { quad, centre: c, halfSide, angle: Math.atan2(xv[1], xv[0]), eyeLeft, eyeRight, mouthLeft, mouthRight };
}

/**
 * The crop → photo affine for an output of `size`×`size` pixels: crop point (u, v) maps to
 * topLeft + (u/size)·(topRight − topLeft) + (v/size)·(bottomLeft − topLeft).
 */
export function quadToAffine(q: AlignQuad, size: number): Affine {
  const [tl, bl, , tr] = q.quad;
  return [(tr[0] - tl[0]) / size, (bl[0] - tl[0]) / size, tl[0], (tr[1] - tl[1]) / size, (bl[1] - tl[1]) / size, tl[1]];
}

// ---- rasterising (src/faces/raster.ts) ----

/**
 * Fills a polygon (even-odd rule, sampled at pixel centres) into a new `width`×`height` Uint8Array:
 * 255 inside, 0 outside.
 */
export function fillPolygon(points: Point2[], width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const n = points.length;
  if (n < 3) return out;
  const xs: number[] = [];
  for (let row = 0; row < height; row++) {
    const y = row + 0.5;
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const [xi, yi] = points[i]!;
      const [xj, yj] = points[j]!;
      if (yi > y !== yj > y) xs.push(xi + ((y - yi) / (yj - yi)) * (xj - xi));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // pixel centres col + 0.5 within [xs[k], xs[k+1])
      const from = Math.max(0, Math.ceil(xs[k]! - 0.5));
      const to = Math.min(width - 1, Math.ceil(xs[k + 1]! - 0.5) - 1);
      for (let col = from; col <= to; col++) out[row * width + col] = 255;
    }
  }
  return out;
}

/**
 * Approximately Gaussian blur (three box passes per axis, σ ≈ radius / √3 · … ) of a single-channel
 * 8-bit image. Returns a new array; `radius` ≤ 0 returns a copy. Edges are clamped.
 */
export function featherMask(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const r = Math.round(radius);
  if (r <= 0) return mask.slice();
  let a = Float32Array.from(mask);
  let b = new Float32Array(a.length);
  for (let pass = 0; pass < 3; pass++) {
    boxH(a, b, width, height, r);
    boxV(b, a, width, height, r);
  }
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(a[i]!)));
  return out;
}

function boxH(src: Float32Array, dst: Float32Array, w: number, h: number, r: number): void {
  const norm = 1 / (2 * r + 1);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += src[row + Math.min(w - 1, Math.max(0, k))]!;
    for (let x = 0; x < w; x++) {
      dst[row + x] = acc * norm;
      acc += src[row + Math.min(w - 1, x + r + 1)]! - src[row + Math.max(0, x - r)]!;
    }
  }
}

function boxV(src: Float32Array, dst: Float32Array, w: number, h: number, r: number): void {
  const norm = 1 / (2 * r + 1);
  for (let x = 0; x < w; x++) {
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += src[Math.min(h - 1, Math.max(0, k)) * w + x]!;
    for (let y = 0; y < h; y++) {
      dst[y * w + x] = acc * norm;
      acc += src[Math.min(h - 1, y + r + 1) * w + x]! - src[Math.max(0, y - r) * w + x]!;
    }
  }
}

// ---- face mask (src/faces/landmark-mask.ts) ----

export interface LandmarkMaskOptions {
  /**
   * How far the brows are raised toward the hairline, as a fraction of the eye-midpoint-to-chin
   * distance. Faces are roughly thirds (hairline-brow, brow-nose, nose-chin), so ≈ 0.55 reaches the
   * hairline; the default 0.7 takes in the forehead and the front of the hair [ours; the spec puts hair
   * in the face region so that it can grey].
   */
  foreheadRaise?: number;
  /** Grow the polygon about its centroid by this fraction (takes in the jaw edge). Default 0.05. */
  grow?: number;
  /** Feather radius as a fraction of the mask's larger side (soft edge). Default 0.015; 0 = hard edge. */
  feather?: number;
}

export const DEFAULT_LANDMARK_MASK: Required<LandmarkMaskOptions> = { foreheadRaise: 0.7, grow: 0.05, feather: 0.015 };

/** The face-region polygon (photo coordinates) that `landmarkMask` fills. */
export function landmarkMaskPolygon(landmarks68: Point2[], options: LandmarkMaskOptions = {}): Point2[] {
  if (landmarks68.length !== 68) throw new ShapeError(`landmarkMask: expected 68 landmarks, got ${landmarks68.length}`);
  const { foreheadRaise, grow } = { ...DEFAULT_LANDMARK_MASK, ...options };
  if (!(foreheadRaise >= 0 && foreheadRaise <= 3)) throw new ConfigError('foreheadRaise', `must be in [0, 3], got ${foreheadRaise}`);
  if (!(grow > -0.5 && grow <= 1)) throw new ConfigError('grow', `must be in (-0.5, 1], got ${grow}`);
  const L = landmarks68;
  const mean = (idx: number[]): Point2 => [idx.reduce((s, i) => s + L[i]![0], 0) / idx.length, idx.reduce((s, i) => s + L[i]![1], 0) / idx.length];
  const eyes = mean([36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47]);
  const chin = L[8]!;
  // "Up" is from the chin through the eyes, so tilted faces get a tilted forehead.
  const ux = eyes[0] - chin[0];
  const uy = eyes[1] - chin[1];
  const dist = Math.hypot(ux, uy);
  if (!(dist > 1e-6)) throw new ShapeError('landmarkMask: degenerate landmarks (eyes on the chin)');
  const raise = (p: Point2, f: number): Point2 => [p[0] + (ux / dist) * dist * f, p[1] + (uy / dist) * dist * f];

  const poly: Point2[] = [];
  poly.push(raise(L[0]!, foreheadRaise * 0.35));
  for (let i = 0; i <= 16; i++) poly.push(L[i]!);
  poly.push(raise(L[16]!, foreheadRaise * 0.35));
  // Brows right to left; the outer ends a little less raised, giving a rounded forehead.
  for (let i = 26; i >= 17; i--) {
    const t = i <= 21 ? (i - 17) / 4 : (26 - i) / 4; // 0 at the outer ends, 1 at the inner
    poly.push(raise(L[i]!, foreheadRaise * (0.8 + 0.2 * t)));
  }
  const cx = poly.reduce((s, p) => s + p[0], 0) / poly.length;
  const cy = poly.reduce((s, p) => s + p[1], 0) / poly.length;
  return poly.map(([x, y]): Point2 => [cx + (x - cx) * (1 + grow), cy + (y - cy) * (1 + grow)]);
}

/**
 * The face-region mask from 68 landmarks: the jaw line (0-16) closed over the top by the brows
 * (17-26) raised toward the hairline, filled and feathered. `size` is the image's side or
 * `{ width, height }`; the landmarks are in its pixels. Returns `height * width` bytes, 255 = face.
 */
export function landmarkMask(landmarks68: Point2[], size: number | { width: number; height: number }, options: LandmarkMaskOptions = {}): Uint8Array {
  const { width, height } = typeof size === 'number' ? { width: size, height: size } : size;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new ShapeError(`landmarkMask: size must be positive integers, got ${width}x${height}`);
  }
  const feather = options.feather ?? DEFAULT_LANDMARK_MASK.feather;
  const hard = fillPolygon(landmarkMaskPolygon(landmarks68, options), width, height);
  return featherMask(hard, width, height, feather * Math.max(width, height));
}

// ---- warp and paste-back (src/align/warp.ts) ----

/** `reflect` = numpy/FFHQ reflect (mirror without repeating the edge pixel); `edge` repeats the edge. */
export type BorderMode = 'reflect' | 'edge';

function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  let k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - k;
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** Supersampling factor for a sampling step of `scale` source pixels per output pixel (area-like anti-aliasing). */
function supersampling(scale: number): number {
  return Math.max(1, Math.min(6, Math.ceil(scale - 0.25)));
}

/**
 * Resamples `src` onto a `width`×`height` grid: output point (u, v) takes the colour of source point
 * `outToSrc(u, v)` (bilinear). Outside the source, `border` decides. When one output pixel spans more
 * than one source pixel, each output pixel averages k×k bilinear samples (anti-aliasing, as FFHQ's
 * shrink step). Returns a new image; `src` is not modified.
 */
export function warpAffine(src: RgbImage, outToSrc: Affine, width: number, height: number, border: BorderMode = 'reflect'): RgbImage {
  checkRgbImage(src, 'warpAffine source');
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new ShapeError(`warpAffine: output size must be positive integers, got ${width}x${height}`);
  }
  const { data, width: sw, height: sh } = src;
  const idx = border === 'reflect' ? reflectIndex : clampIndex;
  const k = supersampling(affineScale(outToSrc));
  const out = new Uint8Array(width * height * 3);
  const [a, b, c, d, e, f] = outToSrc;
  const inv = 1 / (k * k);
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      let r = 0;
      let g = 0;
      let bl = 0;
      for (let sy = 0; sy < k; sy++) {
        const vy = v + (sy + 0.5) / k;
        for (let sx = 0; sx < k; sx++) {
          const ux = u + (sx + 0.5) / k;
          const fx = a * ux + b * vy + c - 0.5;
          const fy = d * ux + e * vy + f - 0.5;
          const x0 = Math.floor(fx);
          const y0 = Math.floor(fy);
          const tx = fx - x0;
          const ty = fy - y0;
          const xa = idx(x0, sw);
          const xb = idx(x0 + 1, sw);
          const ya = idx(y0, sh) * sw;
          const yb = idx(y0 + 1, sh) * sw;
          const p00 = (ya + xa) * 3;
          const p01 = (ya + xb) * 3;
          const p10 = (yb + xa) * 3;
          const p11 = (yb + xb) * 3;
          const w00 = (1 - tx) * (1 - ty);
          const w01 = tx * (1 - ty);
          const w10 = (1 - tx) * ty;
          const w11 = tx * ty;
          r += data[p00]! * w00 + data[p01]! * w01 + data[p10]! * w10 + data[p11]! * w11;
          g += data[p00 + 1]! * w00 + data[p01 + 1]! * w01 + data[p10 + 1]! * w10 + data[p11 + 1]! * w11;
          bl += data[p00 + 2]! * w00 + data[p01 + 2]! * w01 + data[p10 + 2]! * w10 + data[p11 + 2]! * w11;
        }
      }
      const o = (v * width + u) * 3;
      out[o] = Math.round(r * inv);
      out[o + 1] = Math.round(g * inv);
      out[o + 2] = Math.round(bl * inv);
    }
  }
  return { data: out, width, height };
}

export interface PasteBackOptions {
  /**
   * Feather radius in crop pixels: the mask is blurred by it and faded to 0 over this distance from the
   * crop's border, so the seam is invisible. Default 2% of the crop side (≈ 5 px at 256).
   */
  feather?: number;
}

/**
 * Warps `crop` back into (a copy of) `photo` through `inverse` (crop → photo coordinates, as returned
 * by `alignFace`), blending with `mask` (crop-sized, H*W, 0..255; `null` = the whole crop) after
 * feathering. Photo pixels whose feathered mask weight is 0 are copied unchanged. Returns a new image;
 * neither input is modified.
 */
export function pasteBack(photo: RgbImage, crop: RgbImage, inverse: Affine, mask: Uint8Array | null, options: PasteBackOptions = {}): RgbImage {
  checkRgbImage(photo, 'pasteBack photo');
  checkRgbImage(crop, 'pasteBack crop');
  const cw = crop.width;
  const ch = crop.height;
  if (mask && mask.length !== cw * ch) throw new ShapeError(`pasteBack: mask must have ${cw * ch} values (${cw}x${ch}), got ${mask.length}`);
  const feather = options.feather ?? 0.02 * Math.max(cw, ch);
  const alpha = featherMask(mask ?? new Uint8Array(cw * ch).fill(255), cw, ch, feather);
  const forward = invertAffine(inverse);
  const out = new Uint8Array(photo.data);
  const { width: pw, height: ph } = photo;

  // Only photo pixels inside the warped crop's bounding box can change.
  const corners = [applyAffine(inverse, [0, 0]), applyAffine(inverse, [cw, 0]), applyAffine(inverse, [0, ch]), applyAffine(inverse, [cw, ch])];
  const x0 = Math.max(0, Math.floor(Math.min(...corners.map((p) => p[0]))));
  const x1 = Math.min(pw - 1, Math.ceil(Math.max(...corners.map((p) => p[0]))));
  const y0 = Math.max(0, Math.floor(Math.min(...corners.map((p) => p[1]))));
  const y1 = Math.min(ph - 1, Math.ceil(Math.max(...corners.map((p) => p[1]))));
  const k = supersampling(affineScale(forward));
  const fade = Math.max(1, feather);
  const [a, b, c, d, e, f] = forward;
  const cd = crop.data;
  for (let py = y0; py <= y1; py++) {
    for (let px = x0; px <= x1; px++) {
      let wsum = 0;
      let r = 0;
      let g = 0;
      let bl = 0;
      for (let sy = 0; sy < k; sy++) {
        const yy = py + (sy + 0.5) / k;
        for (let sx = 0; sx < k; sx++) {
          const xx = px + (sx + 0.5) / k;
          const u = a * xx + b * yy + c;
          const v = d * xx + e * yy + f;
          if (u <= 0 || v <= 0 || u >= cw || v >= ch) continue;
          const edge = Math.min(u, v, cw - u, ch - v);
          const fu = u - 0.5;
          const fv = v - 0.5;
          const ua = Math.floor(fu);
          const va = Math.floor(fv);
          const tx = fu - ua;
          const ty = fv - va;
          const i00 = clampIndex(va, ch) * cw + clampIndex(ua, cw);
          const i01 = clampIndex(va, ch) * cw + clampIndex(ua + 1, cw);
          const i10 = clampIndex(va + 1, ch) * cw + clampIndex(ua, cw);
          const i11 = clampIndex(va + 1, ch) * cw + clampIndex(ua + 1, cw);
          const w00 = (1 - tx) * (1 - ty);
          const w01 = tx * (1 - ty);
          const w10 = (1 - tx) * ty;
          const w11 = tx * ty;
          const m = ((alpha[i00]! * w00 + alpha[i01]! * w01 + alpha[i10]! * w10 + alpha[i11]! * w11) / 255) * Math.min(1, edge / fade);
          if (m <= 0) continue;
          wsum += m;
          r += m * (cd[i00 * 3]! * w00 + cd[i01 * 3]! * w01 + cd[i10 * 3]! * w10 + cd[i11 * 3]! * w11);
          g += m * (cd[i00 * 3 + 1]! * w00 + cd[i01 * 3 + 1]! * w01 + cd[i10 * 3 + 1]! * w10 + cd[i11 * 3 + 1]! * w11);
          bl += m * (cd[i00 * 3 + 2]! * w00 + cd[i01 * 3 + 2]! * w01 + cd[i10 * 3 + 2]! * w10 + cd[i11 * 3 + 2]! * w11);
        }
      }
      if (wsum <= 0) continue;
      // alpha = mean weight over the k×k samples; colour = weight-averaged crop colour.
      const alphaPx = wsum / (k * k);
      const o = (py * pw + px) * 3;
      out[o] = Math.round(photo.data[o]! * (1 - alphaPx) + (r / wsum) * alphaPx);
      out[o + 1] = Math.round(photo.data[o + 1]! * (1 - alphaPx) + (g / wsum) * alphaPx);
      out[o + 2] = Math.round(photo.data[o + 2]! * (1 - alphaPx) + (bl / wsum) * alphaPx);
    }
  }
  return { data: out, width: pw, height: ph };
}
