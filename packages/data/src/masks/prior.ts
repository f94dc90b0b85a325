import type { PriorShape } from '../readers/types.js';

/** An axis-aligned ellipse in units of the image side, with a soft edge. */
export interface EllipsePrior {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  /** Width of the linear ramp at the edge, in units of the side. */
  feather: number;
}

/**
 * Where the face region (face, hair, neck) sits on average, per framing [ours]. FFHQ-aligned crops
 * (FFHQ-Aging, `ragan align`): eyes at ~0.47 of the height and chin at ~0.85, hair above; UTKFace
 * chips are much tighter, the face fills the frame. Only used when nothing better is available.
 */
export const ELLIPSE_PRIORS: Record<PriorShape, EllipsePrior> = {
  'ffhq-aligned': { cx: 0.5, cy: 0.52, rx: 0.31, ry: 0.41, feather: 0.03 },
  'utkface-crop': { cx: 0.5, cy: 0.5, rx: 0.43, ry: 0.53, feather: 0.04 },
};

/** The elliptical prior mask, `size`×`size` bytes (255 inside, linear ramp over `feather`). */
export function ellipticalPrior(size: number, shape: PriorShape | EllipsePrior = 'ffhq-aligned'): Uint8Array {
  const e = typeof shape === 'string' ? ELLIPSE_PRIORS[shape] : shape;
  const out = new Uint8Array(size * size);
  const cx = e.cx * size;
  const cy = e.cy * size;
  const rx = e.rx * size;
  const ry = e.ry * size;
  // the ramp is measured along the normalised radius, scaled so that it spans ~feather·side
  const ramp = Math.max(1e-6, (e.feather * size) / Math.min(rx, ry));
  for (let y = 0; y < size; y++) {
    const dy = (y + 0.5 - cy) / ry;
    for (let x = 0; x < size; x++) {
      const dx = (x + 0.5 - cx) / rx;
      const r = Math.sqrt(dx * dx + dy * dy);
      const t = (1 + ramp / 2 - r) / ramp;
      out[y * size + x] = Math.round(255 * Math.min(1, Math.max(0, t)));
    }
  }
  return out;
}
