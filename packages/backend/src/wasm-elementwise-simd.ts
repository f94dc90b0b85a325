/**
 * WebAssembly SIMD elementwise loops (their user: wasm-elementwise.ts); built by the assembler of
 * wasm-simd.ts.
 */
import { Fn, assemble, instanceOn } from './wasm-simd.js';

// ---------------------------------------------------------------------------------------------------
// Elementwise loops.
// ---------------------------------------------------------------------------------------------------

/**
 * leakyRelu(src, dst, nBytes, alphaBits): dst = src < 0 ? alpha·src : src, as tfjs's kernel computes it
 * (−0 and NaN pass through), alpha given as its float32 bits.
 */
function leakyReluFn(): Fn {
  const f = new Fn('leakyRelu', ['src', 'dst', 'nBytes', 'alphaBits'], ['i'], ['alpha', 'zero', 'x']);
  f.get('alphaBits').splatI32().set('alpha');
  f.splat(0).set('zero');
  f.loop('i', 'nBytes', 16, () => {
    f.loadAt('x', 'src', 'i');
    f.get('dst').get('i').add();
    f.get('x').get('alpha').fmul(); // taken where x < 0
    f.get('x');
    f.get('x').get('zero').flt();
    f.bitselect().vstore();
  });
  return f;
}

/**
 * colSum(src, dst, images, rows, rowBytes, mean): dst [n, C] = Σ_p src [n, p, C] for each of `images`
 * blocks of `rows` rows of rowBytes (a multiple of 16), divided by `rows` when mean ≠ 0. Rows outside,
 * so that src is read once in order and dst's row stays in L1; each column sums p in order from 0, as
 * a scalar loop would.
 */
function colSumFn(): Fn {
  const f = new Fn('colSum', ['src', 'dst', 'images', 'rows', 'rowBytes', 'mean'], ['n', 'p', 'c', 'row', 'out'], ['count']);
  f.get('rows').convertU().fsplat().set('count');
  f.get('src').set('row');
  f.get('dst').set('out');
  f.loop('n', 'images', 1, () => {
    f.loop('c', 'rowBytes', 16, () => {
      f.get('out').get('c').add().splat(0).vstore();
    });
    f.loop('p', 'rows', 1, () => {
      f.loop('c', 'rowBytes', 16, () => {
        f.get('out').get('c').add();
        f.get('out').get('c').add().vload();
        f.get('row').get('c').add().vload();
        f.fadd().vstore();
      });
      f.inc('row', 'rowBytes');
    });
    f.ifSet('mean', () => {
      f.loop('c', 'rowBytes', 16, () => {
        f.get('out').get('c').add();
        f.get('out').get('c').add().vload();
        f.get('count').fdiv().vstore();
      });
    });
    f.inc('out', 'rowBytes');
  });
  return f;
}

export interface ElementwiseSimd {
  /** dst = src < 0 ? alpha·src : src over nBytes (a multiple of 16) at byte offsets src, dst. */
  leakyRelu(src: number, dst: number, nBytes: number, alphaBits: number): void;
  /** dst [n, C] = Σ_p src [n, p, C] (rowBytes = 4C, a multiple of 16). */
  colSum(src: number, dst: number, images: number, rows: number, rowBytes: number, mean: number): void;
}

/**
 * The elementwise loops compiled for `memory` (the tfjs wasm heap), or null when this runtime cannot
 * (no WebAssembly SIMD). Under 4 KB (tested): a synchronous compile is allowed everywhere, browsers
 * included.
 */
export function elementwiseSimd(memory: WebAssembly.Memory): ElementwiseSimd | null {
  return instanceOn(memory, 'elementwise', elementwiseBytes);
}

function elementwiseBytes(shared: boolean): Uint8Array<ArrayBuffer> {
  return assemble([leakyReluFn(), colSumFn()], shared);
}

/** For tests: the elementwise module's bytes. */
export function elementwiseSimdBytesForTests(shared: boolean): Uint8Array<ArrayBuffer> {
  return elementwiseBytes(shared);
}
