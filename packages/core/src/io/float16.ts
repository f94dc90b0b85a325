/**
 * IEEE 754 binary16 (half float) conversion, written out because tfjs has no float16 dtype and
 * `Float16Array` is not in Node 20. Used only for storage: weights are float32 in memory.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Largest finite half float. */
export const FLOAT16_MAX = 65504;

/**
 * Bits of the half float nearest to `value` (round to nearest, ties to even).
 * Finite values beyond ±65504 (after rounding) become ±Infinity; NaN stays NaN (top payload bits kept);
 * -0 stays -0; values below half the smallest subnormal (2^-25) become ±0.
 */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;

  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const m = mant >>> 13;
    return sign | 0x7c00 | (m === 0 ? 0x200 : m);
  }

  const e = exp - 127 + 15; // rebiased exponent
  if (e >= 0x1f) return sign | 0x7c00;

  if (e <= 0) {
    // Subnormal half (or zero): mantissa in units of 2^-24. Float32 subnormals (exp 0) land here too and round to 0.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++; // carry into the exponent is correct
    return sign | half;
  }

  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // carry may reach 0x7c00 = Infinity, correctly
  return half;
}

let table: Float32Array | undefined;

/** Float32 value of every half-float bit pattern, built on first use (256 KiB). */
function decodeTable(): Float32Array {
  if (table) return table;
  const t = new Float32Array(65536);
  const bits = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) {
      t[h] = (sign ? -1 : 1) * m * 2 ** -24; // exact in float32; keeps -0
    } else if (e === 0x1f) {
      bits[h] = (sign | 0x7f800000 | (m << 13)) >>> 0;
    } else {
      bits[h] = (sign | ((e - 15 + 127) << 23) | (m << 13)) >>> 0;
    }
  }
  table = t;
  return t;
}

/** Number value of half-float bits `h` (0..65535). */
export function fromFloat16Bits(h: number): number {
  return decodeTable()[h & 0xffff]!;
}

/** Converts a whole array to half-float bits. */
export function float32ToFloat16(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = toFloat16Bits(src[i]!);
  return out;
}

/** Converts half-float bits back to float32. */
export function float16ToFloat32(src: Uint16Array): Float32Array {
  const t = decodeTable();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]!]!;
  return out;
}
