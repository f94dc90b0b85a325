/**
 * The Winograd transforms in WebAssembly SIMD (their user: wasm-winograd.ts), generated from the
 * transform matrices: forward F(m×m, 3×3) and the filter gradient's F(3×3, m×m); built by the
 * assembler of wasm-simd.ts.
 */
import { Fn, assemble, instanceOn, instanceOnAsync } from './wasm-simd.js';

// ---------------------------------------------------------------------------------------------------
// The Winograd F(m×m, 3×3) transforms, generated from the transform matrices (α = m + 2 input tile).
// ---------------------------------------------------------------------------------------------------

/** Winograd matrices for F(m×m, 3×3): Bᵀ [α×α], G [α×3], Aᵀ [m×α]. */
export interface WinogradMatrices {
  m: number;
  BT: readonly (readonly number[])[];
  G: readonly (readonly number[])[];
  AT: readonly (readonly number[])[];
}

/** F(2×2, 3×3), points 0, ±1, ∞ (Lavin & Gray). */
export const F2: WinogradMatrices = {
  m: 2,
  BT: [
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
  ],
  G: [
    [1, 0, 0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 0],
    [0, 1, -1, -1],
  ],
};

/** F(4×4, 3×3), points 0, ±1, ±2, ∞ (Lavin & Gray). */
export const F4: WinogradMatrices = {
  m: 4,
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

/**
 * Leaves Σ c_j·x_j on the stack (v128 locals x_j): ±1 as adds and subtractions, others multiplied by a
 * splatted constant. At least one coefficient must be non-zero.
 */
function linear(f: Fn, coeffs: readonly number[], xs: readonly string[]): void {
  let first = true;
  coeffs.forEach((c, j) => {
    if (c === 0) return;
    const x = xs[j]!;
    const mag = Math.abs(c);
    if (first) {
      f.get(x);
      if (c !== 1) f.splat(c).fmul();
      first = false;
      return;
    }
    f.get(x);
    if (mag !== 1) f.splat(mag).fmul();
    if (c > 0) f.fadd();
    else f.fsub();
  });
  if (first) throw new Error('wasm assembler: a transform row of zeros');
}

const names = (p: string, n: number) => Array.from({ length: n }, (_, k) => `${p}${k}`);

/**
 * rows(s_0 … s_{n−1}, t, rowBytes, nBytes): the row transform t_i = Σ_j T[i][j]·s_j of n input rows s_j
 * into the α rows t + i·rowBytes, over nBytes bytes (T is α × n: Bᵀ for input tiles, n = α).
 */
function rowsFn(T: readonly (readonly number[])[]): Fn {
  const a = T.length;
  const n = T[0]!.length;
  const f = new Fn('rows', [...names('s', n), 't', 'rowBytes', 'nBytes'], ['i', 'q'], names('d', n));
  f.loop('i', 'nBytes', 16, () => {
    for (let j = 0; j < n; j++) f.loadAt(`d${j}`, `s${j}`, 'i');
    f.get('t').get('i').add().set('q');
    for (let i = 0; i < a; i++) {
      f.get('q');
      linear(f, T[i]!, names('d', n));
      f.vstore();
      if (i < a - 1) f.inc('q', 'rowBytes');
    }
  });
  return f;
}

/**
 * cols(t, rowBytes, ciBytes, tiles, vtab, vOffset): the column transform of one tile row (T is α × n).
 * Tile tx reads columns m·tx … m·tx + n − 1 of the α rows at t and writes
 * V_{iα+l} = Σ_j T[l][j]·t_i[col j] to v_{iα+l} + vOffset + tx·ciBytes, the α² pointers v_k at vtab.
 */
function colsFn(T: readonly (readonly number[])[], m: number): Fn {
  const a = T.length;
  const n = T[0]!.length;
  const v = names('v', a * a);
  const f = new Fn('cols', ['t', 'rowBytes', 'ciBytes', 'tiles', 'vtab', 'vOffset'], ['tx', 'c', 'o', 'b', 'step', ...v], names('p', n));
  v.forEach((name, k) =>
    f
      .get('vtab')
      .loadI32(4 * k)
      .get('vOffset')
      .add()
      .set(name),
  );
  f.get('ciBytes').const(m).mul().set('step');
  f.const(0).set('b');
  f.loop('tx', 'tiles', 1, () => {
    f.get('tx').get('ciBytes').mul().set('o');
    f.loop('c', 'ciBytes', 16, () => {
      for (let i = 0; i < a; i++) {
        // p_j = t_i[column m·tx + j], channels c…c+3
        for (let j = 0; j < n; j++) {
          f.get('t').get('b').add().get('c').add();
          if (i > 0) f.get('rowBytes').const(i).mul().add();
          if (j > 0) f.get('ciBytes').const(j).mul().add();
          f.vload().set(`p${j}`);
        }
        for (let l = 0; l < a; l++) {
          f.get(v[i * a + l]!)
            .get('o')
            .add()
            .get('c')
            .add();
          linear(f, T[l]!, names('p', n));
          f.vstore();
        }
      }
    });
    f.inc('b', 'step');
  });
  return f;
}

/**
 * out(mtab, mOffset, tiles, coBytes, dst_0 … dst_{m−1}, lastCols): Y = Aᵀ M A for one tile row. Tile tx
 * reads M_k at mOffset + tx·coBytes (the α² pointers at mtab) and writes output row r of the tile to
 * dst_r at columns m·tx … m·tx + m − 1 (column stride coBytes); dst_r = 0 skips the row (past the
 * bottom edge). The last tile writes only its first lastCols columns.
 */
function outFn(w: WinogradMatrices): Fn {
  const a = w.BT.length;
  const m = w.m;
  const mp = names('m', a * a);
  const dst = names('dst', m);
  const r = Array.from({ length: m * a }, (_, k) => `r${Math.floor(k / a)}_${k % a}`);
  const f = new Fn(
    'out',
    ['mtab', 'mOffset', 'tiles', 'coBytes', ...dst, 'lastCols'],
    ['tx', 'c', 'o', 'y', 'cols', 'last', 'q', ...mp],
    [...names('x', a), ...r],
  );
  mp.forEach((name, k) =>
    f
      .get('mtab')
      .loadI32(4 * k)
      .get('mOffset')
      .add()
      .set(name),
  );
  f.get('tiles').const(1).sub().set('last');
  f.loop('tx', 'tiles', 1, () => {
    f.get('tx').get('coBytes').mul().set('o');
    f.get('o').const(m).mul().set('y');
    // cols = tx < last ? m : lastCols   (select: [m, lastCols, cond])
    f.const(m).get('lastCols').get('tx').get('last').ltU();
    f.select().set('cols');
    f.loop('c', 'coBytes', 16, () => {
      for (let j = 0; j < a; j++) {
        // column j of M: x_i = M_{iα+j}; r_{p,j} = Σ_i Aᵀ[p][i]·x_i
        for (let i = 0; i < a; i++)
          f.get(mp[i * a + j]!)
            .get('o')
            .add()
            .get('c')
            .add()
            .vload()
            .set(`x${i}`);
        for (let p = 0; p < m; p++) {
          linear(f, w.AT[p]!, names('x', a));
          f.set(`r${p}_${j}`);
        }
      }
      for (let p = 0; p < m; p++) {
        f.ifSet(dst[p]!, () => {
          for (let q = 0; q < m; q++) {
            const store = () => {
              f.get(dst[p]!).get('y').add().get('c').add();
              if (q > 0) f.get('coBytes').const(q).mul().add();
              linear(
                f,
                w.AT[q]!,
                Array.from({ length: a }, (_, j) => `r${p}_${j}`),
              );
              f.vstore();
            };
            if (q === 0) store();
            else {
              // if (q < cols)
              f.const(q).get('cols').ltU().set('q');
              f.ifSet('q', store);
            }
          }
        });
      }
    });
  });
  return f;
}

/**
 * filter(g, nBytes, utab): U = G g Gᵀ for a [3, 3, Ci, Co] filter at g (nBytes = Ci·Co·4 per tap) into
 * the α² [Ci, Co] arrays whose pointers are at utab.
 */
function filterFn(w: WinogradMatrices): Fn {
  const a = w.G.length;
  const u = names('u', a * a);
  const g = names('g', 9);
  const f = new Fn('filter', ['g', 'nBytes', 'utab'], ['e', ...u], [...g, 'w0', 'w1', 'w2']);
  u.forEach((name, k) =>
    f
      .get('utab')
      .loadI32(4 * k)
      .set(name),
  );
  f.loop('e', 'nBytes', 16, () => {
    for (let k = 0; k < 9; k++) {
      f.get('g').get('e').add();
      if (k > 0) f.get('nBytes').const(k).mul().add();
      f.vload().set(g[k]!);
    }
    for (let i = 0; i < a; i++) {
      // w_b = Σ_r G[i][r]·g[r][b], then U_{i,j} = Σ_b G[j][b]·w_b
      for (let b = 0; b < 3; b++) {
        linear(f, w.G[i]!, [g[b]!, g[3 + b]!, g[6 + b]!]);
        f.set(`w${b}`);
      }
      for (let j = 0; j < a; j++) {
        f.get(u[i * a + j]!)
          .get('e')
          .add();
        linear(f, w.G[j]!, ['w0', 'w1', 'w2']);
        f.vstore();
      }
    }
  });
  return f;
}

export interface WinogradSimd {
  readonly matrices: WinogradMatrices;
  rows(...args: number[]): void;
  cols(t: number, rowBytes: number, ciBytes: number, tiles: number, vtab: number, vOffset: number): void;
  out(...args: number[]): void;
  filter(g: number, nBytes: number, utab: number): void;
}

/**
 * A module of transforms generated from Winograd matrices: compiled per heap and tile size (`name` +
 * m), synchronously or asynchronously, its exports given the matrices they were made from.
 */
function transformModule<T extends { matrices: WinogradMatrices }>(name: string, fns: (w: WinogradMatrices) => Fn[]) {
  const bytes = (w: WinogradMatrices, shared: boolean) => assemble(fns(w), shared);
  const make = (w: WinogradMatrices) => (exports: object) => ({ ...exports, matrices: w }) as T;
  return {
    bytes,
    sync: (memory: WebAssembly.Memory, w: WinogradMatrices) => instanceOn(memory, `${name}${w.m}`, (shared) => bytes(w, shared), make(w)),
    async: (memory: WebAssembly.Memory, w: WinogradMatrices) => instanceOnAsync(memory, `${name}${w.m}`, (shared) => bytes(w, shared), make(w)),
  };
}

const forward = transformModule<WinogradSimd>('winograd', (w) => [rowsFn(w.BT), colsFn(w.BT, w.m), outFn(w), filterFn(w)]);

/**
 * The transforms for `w`, compiled for `memory` (the tfjs wasm heap), or null when this runtime cannot
 * (no WebAssembly SIMD, or a refused compile). Cached per memory and tile size. Compiles synchronously
 * unless `prepareWinogradSimd` did it first: browsers refuse synchronous compiles of modules over 4 KB
 * on the main thread (F(4×4) is ≈ 9 KB).
 */
export function winogradSimd(memory: WebAssembly.Memory, w: WinogradMatrices): WinogradSimd | null {
  return forward.sync(memory, w);
}

/** Compiles the transforms for `w` asynchronously (allowed everywhere); then `winogradSimd` finds them. */
export async function prepareWinogradSimd(memory: WebAssembly.Memory, w: WinogradMatrices): Promise<WinogradSimd | null> {
  return forward.async(memory, w);
}

/** For tests: the module's bytes (to validate them with `WebAssembly.validate`). */
export function winogradSimdBytesForTests(w: WinogradMatrices, shared: boolean): Uint8Array<ArrayBuffer> {
  return forward.bytes(w, shared);
}

// ---------------------------------------------------------------------------------------------------
// The filter gradient's transforms, F(3×3, m×m) from the same points (wasm-winograd.ts).
// ---------------------------------------------------------------------------------------------------

/** A = (Aᵀ)ᵀ, α × m: the transform of an m×m tile of dy. */
const transposed = (M: readonly (readonly number[])[]) => M[0]!.map((_, j) => M.map((row) => row[j]!));

/**
 * gradOut(mtab, nBytes, dw): dW[i, j] = Σ_{p,q} G[p][i]·G[q][j]·M_{pα+q} for i, j < 3, where the α²
 * summed products M_k (nBytes each, pointers at mtab) are [Ci, Co] and dW is [3, 3, Ci, Co] at dw.
 */
function gradOutFn(w: WinogradMatrices): Fn {
  const a = w.G.length;
  const mp = names('m', a * a);
  const wv = Array.from({ length: 3 * a }, (_, k) => `w${Math.floor(k / 3)}_${k % 3}`);
  const f = new Fn('gradOut', ['mtab', 'nBytes', 'dw'], ['e', ...mp], [...names('x', a), ...wv]);
  mp.forEach((name, k) =>
    f
      .get('mtab')
      .loadI32(4 * k)
      .set(name),
  );
  f.loop('e', 'nBytes', 16, () => {
    for (let p = 0; p < a; p++) {
      // w_{p,j} = Σ_q G[q][j]·M_{pα+q}
      for (let q = 0; q < a; q++)
        f.get(mp[p * a + q]!)
          .get('e')
          .add()
          .vload()
          .set(`x${q}`);
      for (let j = 0; j < 3; j++) {
        linear(
          f,
          w.G.map((row) => row[j]!),
          names('x', a),
        );
        f.set(`w${p}_${j}`);
      }
    }
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        f.get('dw').get('e').add();
        if (i * 3 + j > 0)
          f.get('nBytes')
            .const(i * 3 + j)
            .mul()
            .add();
        linear(
          f,
          w.G.map((row) => row[i]!),
          Array.from({ length: a }, (_, p) => `w${p}_${j}`),
        );
        f.vstore();
      }
    }
  });
  return f;
}

/**
 * The filter gradient's dy transforms (rows and cols as for input tiles, with A: an m×m dy tile at
 * stride m into α×α) and its output transform, for the points of `w`. The input tiles of x use the
 * forward transforms (`winogradSimd`): by the transposition principle, F(3×3, m×m) shares Bᵀ with
 * F(m×m, 3×3) and swaps the roles of A and G.
 */
export interface WinogradGradSimd {
  readonly matrices: WinogradMatrices;
  rows(...args: number[]): void;
  cols(t: number, rowBytes: number, coBytes: number, tiles: number, utab: number, uOffset: number): void;
  gradOut(mtab: number, nBytes: number, dw: number): void;
}

const grad = transformModule<WinogradGradSimd>('winogradGrad', (w) => {
  const A = transposed(w.AT);
  return [rowsFn(A), colsFn(A, w.m), gradOutFn(w)];
});

/** The filter gradient's transforms for `w`, compiled for `memory`, or null (as `winogradSimd`). */
export function winogradGradSimd(memory: WebAssembly.Memory, w: WinogradMatrices): WinogradGradSimd | null {
  return grad.sync(memory, w);
}

/** Compiles them asynchronously (as `prepareWinogradSimd`). */
export async function prepareWinogradGradSimd(memory: WebAssembly.Memory, w: WinogradMatrices): Promise<WinogradGradSimd | null> {
  return grad.async(memory, w);
}

/** For tests: the module's bytes. */
export function winogradGradSimdBytesForTests(w: WinogradMatrices, shared: boolean): Uint8Array<ArrayBuffer> {
  return grad.bytes(w, shared);
}
