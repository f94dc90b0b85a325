import { ShapeError } from '../errors/index.js';
import { checkRgbImage, type RgbImage } from './image.js';
import { featherMask } from './raster.js';
import { affineScale, applyAffine, invertAffine, type Affine } from './affine.js';

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
