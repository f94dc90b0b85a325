/**
 * Photos and landmarks for tests of the photo pipeline (core's `photoFace`/`pasteFaces`, data's
 * alignment, the web demo's canvas path): no detector, no files. Types are structural, so that this
 * package depends on none of the packages it tests.
 */

/** A point `[x, y]` in pixels (core's `Point2`). */
export type Point2 = [number, number];
/** An RGB image, 3 bytes per pixel, row-major (core's `RgbImage`). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * A plausible frontal 68-point iBUG shape for tests that need landmarks without a detector: eye
 * midpoint at (cx, cy), eye centres `eyeDist` apart, mouth corners 1.05·eyeDist below the eyes, the
 * whole shape rotated by `angle` radians (positive = clockwise on screen, y down).
 */
export function syntheticLandmarks68(cx: number, cy: number, eyeDist: number, angle = 0): Point2[] {
  const e = eyeDist;
  const pts: Point2[] = [];
  for (let k = 0; k <= 16; k++) pts.push([-e * Math.cos((Math.PI * k) / 16), 0.1 * e + 1.4 * e * Math.sin((Math.PI * k) / 16)]); // jaw 0-16
  for (let k = 0; k < 5; k++) pts.push([-0.85 * e + 0.175 * e * k, -0.35 * e - 0.1 * e * Math.sin((Math.PI * k) / 4)]); // left brow 17-21
  for (let k = 0; k < 5; k++) pts.push([0.15 * e + 0.175 * e * k, -0.35 * e - 0.1 * e * Math.sin((Math.PI * k) / 4)]); // right brow 22-26
  for (let k = 0; k < 4; k++) pts.push([0, 0.05 * e + 0.18 * e * k]); // nose bridge 27-30
  for (let k = 0; k < 5; k++) pts.push([-0.2 * e + 0.1 * e * k, 0.7 * e]); // nostrils 31-35
  for (const sx of [-0.5, 0.5]) {
    for (let k = 0; k < 6; k++) {
      const t = Math.PI + (2 * Math.PI * k) / 6; // 36/42 outer-left corner, clockwise
      pts.push([sx * e + 0.15 * e * Math.cos(t), 0.05 * e * Math.sin(t)]); // eyes 36-41, 42-47 (centred on (±e/2, 0))
    }
  }
  for (let k = 0; k < 12; k++) {
    const t = Math.PI + (2 * Math.PI * k) / 12;
    pts.push([0.4 * e * Math.cos(t), 1.05 * e + 0.15 * e * Math.sin(t)]); // outer lip 48-59 (48 left corner, 54 right)
  }
  for (let k = 0; k < 8; k++) {
    const t = Math.PI + (2 * Math.PI * k) / 8;
    pts.push([0.3 * e * Math.cos(t), 1.05 * e + 0.05 * e * Math.sin(t)]); // inner lip 60-67
  }
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return pts.map(([x, y]): Point2 => [cx + c * x - s * y, cy + s * x + c * y]);
}

/** A smooth, textured test photo (so that resampling errors are measurable but bounded). */
export function testPhoto(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      data[i] = 128 + 100 * Math.sin(x / 9) * Math.cos(y / 13);
      data[i + 1] = (x * 255) / w;
      data[i + 2] = 128 + 90 * Math.sin((x + y) / 17);
    }
  }
  return { data, width: w, height: h };
}

/** PSNR (dB) between two RGB byte arrays over the pixels `keep` selects. */
export function psnr(a: Uint8Array, b: Uint8Array, keep: (pixel: number) => boolean): number {
  let se = 0;
  let n = 0;
  for (let p = 0; p < a.length / 3; p++) {
    if (!keep(p)) continue;
    for (let c = 0; c < 3; c++) se += (a[p * 3 + c]! - b[p * 3 + c]!) ** 2;
    n += 3;
  }
  return 10 * Math.log10((255 * 255) / (se / n));
}
