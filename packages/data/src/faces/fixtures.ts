import type { Point2 } from './image.js';

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
