import sharp from 'sharp';

export interface ContactSheetTile {
  /** S·S·3 RGB bytes. */
  image: Uint8Array;
  /** S·S mask bytes (0 background … 255 face). */
  mask: Uint8Array;
  /** Short text under the tile, e.g. "34 · train". */
  caption?: string;
}

export interface ContactSheetRow {
  /** Row heading, e.g. the age-group label. */
  label: string;
  /** Second heading line, e.g. "123 samples". */
  sublabel?: string;
  tiles: ContactSheetTile[];
}

export interface ContactSheetOptions {
  /** Side of the stored images. */
  size: number;
  /** Tiles per row (columns). Default: the longest row. */
  columns?: number;
  /** Title line at the top. */
  title?: string;
  /** Displayed tile side; default: the size doubled below 96 px, capped at 160 px. */
  tile?: number;
}

// Outside the mask the image is blended towards this colour, so the mask reads at a glance.
const TINT = [30, 80, 220] as const;
const TINT_STRENGTH = 0.6;
const LABEL_W = 120;
const PAD = 8;
const GAP = 6;
const CAPTION_H = 16;
const HEADER_H = 34;
const BG = { r: 28, g: 28, b: 30 };

/**
 * A contact sheet PNG: one row per group (label on the left), the images with the background region
 * (mask = 0) tinted blue, captions under each tile. Text is drawn through an SVG overlay (sharp's
 * librsvg); without fonts on the machine the text is simply missing.
 */
export async function renderContactSheet(rows: ContactSheetRow[], options: ContactSheetOptions): Promise<Buffer> {
  const S = options.size;
  const T = options.tile ?? Math.min(160, S < 96 ? S * 2 : S);
  const cols = Math.max(1, options.columns ?? Math.max(1, ...rows.map((r) => r.tiles.length)));
  // rows without tiles are kept (a missing age group is worth seeing) but short
  const EMPTY_H = 48;
  const heights = rows.map((r) => (r.tiles.length ? T + CAPTION_H + GAP : EMPTY_H));
  const tops = heights.map((_, r) => HEADER_H + PAD + heights.slice(0, r).reduce((a, b) => a + b, 0));
  const width = PAD * 2 + LABEL_W + cols * (T + GAP);
  const height =
    HEADER_H +
    PAD +
    Math.max(
      EMPTY_H,
      heights.reduce((a, b) => a + b, 0),
    ) +
    PAD;

  const composites: sharp.OverlayOptions[] = [];
  const texts: string[] = [];
  if (options.title) texts.push(text(PAD, 22, options.title, 15, '#ffffff', 'bold'));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const top = tops[r]!;
    texts.push(text(PAD, top + 20, row.label, 16, '#ffffff', 'bold'));
    if (row.sublabel) texts.push(text(PAD, top + 40, row.sublabel, 12, '#b0b0b0'));
    if (!row.tiles.length) texts.push(text(PAD + LABEL_W, top + 20, 'no samples', 12, '#808080'));
    for (let c = 0; c < row.tiles.length && c < cols; c++) {
      const t = row.tiles[c]!;
      const left = PAD + LABEL_W + c * (T + GAP);
      const rgb = overlay(t.image, t.mask, S);
      const tile = await sharp(rgb, { raw: { width: S, height: S, channels: 3 } })
        .resize(T, T, { kernel: T % S === 0 ? 'nearest' : 'lanczos3' })
        .png()
        .toBuffer();
      composites.push({ input: tile, left, top });
      if (t.caption) texts.push(text(left + 2, top + T + 12, t.caption, 11, '#d0d0d0'));
    }
  }
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${texts.join('')}</svg>`);
  composites.push({ input: svg, left: 0, top: 0 });
  return sharp({ create: { width, height, channels: 3, background: BG } })
    .composite(composites)
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** Background pixels (mask 0) blended towards the tint; face pixels unchanged; soft masks blend linearly. */
export function overlay(image: Uint8Array, mask: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const bg = (1 - mask[i]! / 255) * TINT_STRENGTH;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(image[i * 3 + c]! * (1 - bg) + TINT[c]! * bg);
  }
  return out;
}

function text(x: number, y: number, s: string, size: number, fill: string, weight = 'normal'): string {
  return (
    `<text x="${x}" y="${y}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="${size}" font-weight="${weight}" ` +
    `fill="${fill}">${escapeXml(s)}</text>`
  );
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
