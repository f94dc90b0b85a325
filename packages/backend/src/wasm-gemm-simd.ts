/**
 * Our matrix product's WebAssembly SIMD loops (its user: wasm-gemm.ts), with the packing and a transpose;
 * built by the assembler of wasm-simd.ts.
 */
import { Fn, assemble, instanceOn } from './wasm-simd.js';

// ---------------------------------------------------------------------------------------------------
// Matrix product.
// ---------------------------------------------------------------------------------------------------

/**
 * gemm(a, bp, c, M, N, K, sr): c [M, N] = a [M, K] · b [K, N], float32 at byte offsets, c row-major,
 * row r of a at a + r·sr (row-major: sr = 4K; longer rows read a window of a wider matrix), b packed
 * by `pack` into panels of 8 columns ([N/8][K][8], each panel contiguous); N a multiple of 8, any M.
 * - Blocks of GEMM_ROWS rows × 8 columns are summed in 2·GEMM_ROWS vector accumulators (multiply, then
 *   add: WebAssembly SIMD has no FMA; with `fma`, relaxed SIMD's f32x4.relaxed_madd, fused where the CPU
 *   has FMA), panels outside and blocks of rows inside; the last M mod GEMM_ROWS rows one at a time.
 * - k goes in bands of GEMM_K_BAND rows, so that a band of a panel (8 KB) stays in L1 while every
 *   block of rows reads it. The first band starts the sums at 0, the others go on from c: every sum
 *   runs over k in order, as a single loop would.
 *
 * Measured here against XNNPACK's product in tfjs-backend-wasm 4.22 on one thread (interleaved in one
 * process; M × N × K of 256³, 1024 × 128², 4096 × 64 × 128, 4096 × 128 × 64, 256 × 512 × 256):
 * 1.23–1.41× its speed with packed panels, 0.98–1.24× reading b in place (rows of b 1 KB apart fall
 * into few L1 sets); 4 rows per block beat 2, 3, 5, 6 and 8 (more registers than V8 keeps in xmm),
 * and unrolling k (4 steps, loads at constant offsets) did not help.
 */
function gemmFn(fma = false): Fn {
  const mr = GEMM_ROWS;
  const pa = Array.from({ length: mr }, (_, r) => `pa${r}`);
  const acc = pa.flatMap((_, r) => [`c${r}_0`, `c${r}_1`]);
  const f = new Fn(
    'gemm',
    ['a', 'bp', 'c', 'M', 'N', 'K', 'sr'],
    ['k0', 'kn', 'aBand', 'bBand', 'i', 't', 'mBlocks', 'mRest', 'j', 'kb', 'kEnd', 'rowC', 'pb', 'pc', ...pa],
    ['b0', 'b1', 's', ...acc],
  );
  /** The block of `rows` rows starting at row i, columns j/4 … j/4 + 7, over this band of k. */
  const block = (rows: number) => {
    const rs = Array.from({ length: rows }, (_, r) => r);
    rs.forEach((r) => {
      f.get('aBand').get('i').const(r).add().get('sr').mul().add().set(pa[r]!);
    });
    f.get('c').get('i').get('rowC').mul().add().get('j').add().set('pc');
    // The first band starts the sums at 0, the others go on from c: one sum in k order.
    f.ifElse(
      'k0',
      () =>
        rs.forEach((r) => {
          f.get('pc').vload().set(`c${r}_0`);
          f.get('pc').vloadOff(16).set(`c${r}_1`);
          if (r < rows - 1) f.inc('pc', 'rowC');
        }),
      () => {
        for (const r of rs) f.splat(0).set(`c${r}_0`).splat(0).set(`c${r}_1`);
      },
    );
    f.get('bBand').get('j').get('K').mul().add().set('pb'); // panel j/32 starts at j·K bytes
    f.loop('kb', 'kEnd', 4, () => {
      f.get('pb').vload().set('b0');
      f.get('pb').vloadOff(16).set('b1');
      f.inc('pb', 32);
      rs.forEach((r) => {
        f.get(pa[r]!).get('kb').add().vloadSplat().set('s');
        if (fma) {
          f.get('s').get('b0').get(`c${r}_0`).fmadd().set(`c${r}_0`);
          f.get('s').get('b1').get(`c${r}_1`).fmadd().set(`c${r}_1`);
        } else {
          f.get(`c${r}_0`).get('s').get('b0').fmul().fadd().set(`c${r}_0`);
          f.get(`c${r}_1`).get('s').get('b1').fmul().fadd().set(`c${r}_1`);
        }
      });
    });
    f.get('c').get('i').get('rowC').mul().add().get('j').add().set('pc');
    rs.forEach((r) => {
      f.get('pc').get(`c${r}_0`).vstoreOff(0);
      f.get('pc').get(`c${r}_1`).vstoreOff(16);
      if (r < rows - 1) f.inc('pc', 'rowC');
    });
  };
  f.get('N').const(4).mul().set('rowC');
  f.get('M').const(-mr).and().set('mBlocks'); // rows in whole blocks
  f.get('M').get('mBlocks').sub().set('mRest');
  f.loop('k0', 'K', GEMM_K_BAND, () => {
    // kn = min(band, K − k0); this band starts 4·k0 bytes into each row of a, 32·k0 into each panel
    f.get('K').get('k0').sub().set('kn');
    f.get('kn').const(GEMM_K_BAND).get('kn').const(GEMM_K_BAND).ltU().select().set('kn');
    f.get('kn').const(4).mul().set('kEnd');
    f.get('a').get('k0').const(4).mul().add().set('aBand');
    f.get('bp').get('k0').const(32).mul().add().set('bBand');
    f.loop('j', 'rowC', 32, () => {
      f.loop('i', 'mBlocks', mr, () => block(mr));
      f.loop('t', 'mRest', 1, () => {
        f.get('mBlocks').get('t').add().set('i');
        block(1);
      });
    });
  });
  return f;
}

/** Rows per block of the matrix product (the threads' bands are whole blocks). */
export const GEMM_ROWS = 4;

/** Rows of k per pass over c: a band of a panel (256 × 32 bytes) stays in L1 while every row block reads it. */
const GEMM_K_BAND = 256;

/** pack(b, bp, K, N): b [K, N] row-major into panels of 8 columns, bp [N/8][K][8]; N a multiple of 8. */
function packFn(): Fn {
  const f = new Fn('pack', ['b', 'bp', 'K', 'N'], ['j', 'k', 'rowB', 'src', 'dst'], ['x', 'y']);
  f.get('N').const(4).mul().set('rowB');
  f.get('bp').set('dst');
  f.loop('j', 'rowB', 32, () => {
    f.get('b').get('j').add().set('src');
    f.loop('k', 'K', 1, () => {
      f.get('src').vload().set('x');
      f.get('src').vloadOff(16).set('y');
      f.get('dst').get('x').vstoreOff(0);
      f.get('dst').get('y').vstoreOff(16);
      f.inc('src', 'rowB');
      f.inc('dst', 32);
    });
  });
  return f;
}

/**
 * transpose(src, dst, rows, cols, srcRow, dstRowF): dst [cols, rows] = srcᵀ for a float32 [rows, cols]
 * at src, row r at src + r·srcRow (bytes; cols·4 for a row-major matrix), dst row c at dst + c·dstRowF·4
 * (dstRowF = rows for a row-major result; more writes a window of a wider matrix); rows and cols
 * multiples of 4. 4×4 blocks through shuffles; columns in bands of 64 so that the 4 rows read and the
 * 64 rows written stay in L1.
 */
function transposeFn(): Fn {
  const f = new Fn(
    'transpose',
    ['src', 'dst', 'rows', 'cols', 'srcRow', 'dstRowF'],
    ['cb', 'cn', 'r', 'k', 'sp', 'dp', 'colBytes', 'dstRow', 'q'],
    ['a', 'b', 'c', 'd', 't0', 't1', 't2', 't3'],
  );
  const band = 256; // bytes: 64 columns
  f.get('cols').const(4).mul().set('colBytes');
  f.get('dstRowF').const(4).mul().set('dstRow');
  f.loop('cb', 'colBytes', band, () => {
    // cn = min(band, colBytes − cb)   (select: [a, b, cond] → cond ? a : b)
    f.get('colBytes').get('cb').sub().set('cn');
    f.get('cn').const(band).get('cn').const(band).ltU().select().set('cn');
    f.loop('r', 'rows', 4, () => {
      f.get('src').get('r').get('srcRow').mul().add().get('cb').add().set('sp');
      f.get('dst').get('r').const(4).mul().add().get('cb').get('dstRowF').mul().add().set('dp');
      f.loop('k', 'cn', 16, () => {
        f.get('sp').get('k').add().set('q');
        ['a', 'b', 'c', 'd'].forEach((v, i) => {
          f.get('q');
          for (let j = 0; j < i; j++) f.get('srcRow').add();
          f.vload().set(v);
        });
        f.get('a').get('b').shuffle([0, 4, 1, 5]).set('t0');
        f.get('a').get('b').shuffle([2, 6, 3, 7]).set('t1');
        f.get('c').get('d').shuffle([0, 4, 1, 5]).set('t2');
        f.get('c').get('d').shuffle([2, 6, 3, 7]).set('t3');
        f.get('dp').get('k').get('dstRowF').mul().add().set('q');
        const rowsOut: [string, string, [number, number, number, number]][] = [
          ['t0', 't2', [0, 1, 4, 5]],
          ['t0', 't2', [2, 3, 6, 7]],
          ['t1', 't3', [0, 1, 4, 5]],
          ['t1', 't3', [2, 3, 6, 7]],
        ];
        rowsOut.forEach(([x, y, lanes], j) => {
          f.get('q');
          if (j > 0) f.get('dstRow').const(j).mul().add();
          f.get(x).get(y).shuffle(lanes).vstore();
        });
      });
    });
  });
  return f;
}

export interface GemmSimd {
  /** c = a · b for M rows, N a multiple of 8, b packed; row r of a at a + r·sr (byte offsets; sr = 4K for a row-major a). */
  gemm(a: number, bp: number, c: number, M: number, N: number, K: number, sr: number): void;
  /** b [K, N] into the panels the products read (N a multiple of 8). */
  pack(b: number, bp: number, K: number, N: number): void;
  /** dst [cols, rows] = src [rows, cols]ᵀ (rows and cols multiples of 4; strides as `transposeFn` says). */
  transpose(src: number, dst: number, rows: number, cols: number, srcRow: number, dstRowF: number): void;
  /** Whether the product fuses its multiply-adds (relaxed SIMD). */
  readonly fma: boolean;
}

/** A function using f32x4.relaxed_madd: whether it validates tells if this runtime has relaxed SIMD. */
function relaxedProbe(): Uint8Array<ArrayBuffer> {
  const f = new Fn('probe', [], [], ['x']);
  f.get('x').get('x').get('x').fmadd().set('x');
  return assemble([f], false);
}

let relaxedKnown = false;

/**
 * Whether this runtime validates WebAssembly relaxed SIMD (f32x4.relaxed_madd: a fused multiply-add on
 * CPUs with FMA). On by default in Chrome 114+ and Node 22+; Node 20 has it behind
 * `--experimental-wasm-relaxed-simd` (`enableWasmRelaxedSimd` from `@ragan/backend/node` sets that flag).
 * Checked again until true, as that flag can be set at run time.
 */
export function relaxedSimdSupported(): boolean {
  if (!relaxedKnown) relaxedKnown = typeof WebAssembly === 'object' && WebAssembly.validate(relaxedProbe());
  return relaxedKnown;
}

/**
 * The matrix product's loops compiled for `memory` (the tfjs wasm heap), or null when this runtime
 * cannot (no WebAssembly SIMD). With relaxed SIMD, the product's multiply-adds are fused
 * (f32x4.relaxed_madd): 1.4–2.5× faster per thread here (Node 20 with the flag), and no longer
 * bit-identical to XNNPACK's (one rounding per step instead of two). About 1.5 KB: a synchronous compile
 * is allowed everywhere.
 */
export function gemmSimd(memory: WebAssembly.Memory): GemmSimd | null {
  const fma = relaxedSimdSupported();
  const make =
    (f: boolean) =>
    (exports: object): GemmSimd => ({ ...(exports as Omit<GemmSimd, 'fma'>), fma: f });
  if (fma) {
    const fused = instanceOn(memory, 'gemmFma', (shared) => gemmModuleBytes(shared, true), make(true));
    if (fused) return fused;
  }
  return instanceOn(memory, 'gemm', (shared) => gemmModuleBytes(shared, false), make(false));
}

/**
 * The matrix-product module's bytes, for a memory shared or not (threads instantiate it on their side);
 * `fma`: fused multiply-adds (needs relaxed SIMD).
 */
export function gemmModuleBytes(shared: boolean, fma = false): Uint8Array<ArrayBuffer> {
  return assemble([gemmFn(fma), packFn(), transposeFn()], shared);
}
