import type { RgbImage } from '@ragan/core';

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
