import type { Point2, RgbImage } from '@ragan/core';

/**
 * A plausible frontal 68-point iBUG shape (same as @ragan/data's test fixture): eye midpoint at (cx, cy),
 * eye centres `eyeDist` apart, mouth corners 1.05·eyeDist below the eyes.
 */
export function syntheticLandmarks68(cx: number, cy: number, eyeDist: number): Point2[] {
  const e = eyeDist;
  const pts: Point2[] = [];
  for (let k = 0; k <= 16; k++) pts.push([-e * Math.cos((Math.PI * k) / 16), 0.1 * e + 1.4 * e * Math.sin((Math.PI * k) / 16)]);
  for (let k = 0; k < 5; k++) pts.push([-0.85 * e + 0.175 * e * k, -0.35 * e - 0.1 * e * Math.sin((Math.PI * k) / 4)]);
  for (let k = 0; k < 5; k++) pts.push([0.15 * e + 0.175 * e * k, -0.35 * e - 0.1 * e * Math.sin((Math.PI * k) / 4)]);
  for (let k = 0; k < 4; k++) pts.push([0, 0.05 * e + 0.18 * e * k]);
  for (let k = 0; k < 5; k++) pts.push([-0.2 * e + 0.1 * e * k, 0.7 * e]);
  for (const sx of [-0.5, 0.5]) {
    for (let k = 0; k < 6; k++) {
      const t = Math.PI + (2 * Math.PI * k) / 6;
      pts.push([sx * e + 0.15 * e * Math.cos(t), 0.05 * e * Math.sin(t)]);
    }
  }
  for (let k = 0; k < 12; k++) {
    const t = Math.PI + (2 * Math.PI * k) / 12;
    pts.push([0.4 * e * Math.cos(t), 1.05 * e + 0.15 * e * Math.sin(t)]);
  }
  for (let k = 0; k < 8; k++) {
    const t = Math.PI + (2 * Math.PI * k) / 8;
    pts.push([0.3 * e * Math.cos(t), 1.05 * e + 0.05 * e * Math.sin(t)]);
  }
  return pts.map(([x, y]): Point2 => [cx + x, cy + y]);
}

/** A smooth, textured test photo. */
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
