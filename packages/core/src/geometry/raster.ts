import type { Point2 } from './image.js';

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
  const a = Float32Array.from(mask);
  const b = new Float32Array(a.length);
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

/** The edge fade `ragan age`, `demo` and the web demo use: 15 % of the crop side. */
export const DEFAULT_EDGE_FADE = 0.15;

/**
 * Ramps a crop mask down to 0 over `fraction` of the side at the crop's borders. A tight framing (UTKFace)
 * cuts the forehead and hair part of the mask at the crop's top and side edges; without the ramp the
 * pasted face would end in a straight line there. The ramp is a smoothstep per axis, multiplied
 * (s(x)·s(y)): no kink where it starts (a linear ramp's kink showed as a straight line on photos) and
 * round corners (a min() of distances gives a diagonal crease). Masks that stay inside the crop
 * (FFHQ-Aging framing) lose at most their hairline tips. Changes `mask` (size², 0..255) in place and returns it.
 */
export function fadeMaskEdges(mask: Uint8Array, size: number, fraction: number): Uint8Array {
  const w = fraction * size;
  if (!(w > 0)) return mask;
  const ramp = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const t = Math.min(1, Math.min(i + 0.5, size - i - 0.5) / w);
    ramp[i] = t * t * (3 - 2 * t);
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const k = ramp[y]! * ramp[x]!;
      if (k < 1) mask[y * size + x] = Math.round(mask[y * size + x]! * k);
    }
  }
  return mask;
}
