/**
 * WebAssembly SIMD loops that run straight on the tfjs wasm backend's heap: the transforms of the
 * Winograd convolution (wasm-winograd.ts), our matrix product with its packing and a transpose
 * (wasm-gemm.ts), and elementwise kernels (wasm-elementwise.ts). Written as bytecode by the small
 * assembler below (no toolchain, nothing fetched, nothing eval'd), compiled once per wasm memory.
 *
 * Why not JS: the same loops in JS take 5–7 ns per element written (measured here), as long as the
 * matrix products they feed; 128-bit SIMD does four lanes per instruction.
 *
 * The loops work on float32 vectors of 4 lanes: vectorised sizes must be multiples of 4 (each loop says
 * which; the callers check). Pointers are byte offsets into the heap (unsigned 32-bit).
 */

// ---------------------------------------------------------------------------------------------------
// A minimal assembler: only the instructions these loops use.
// ---------------------------------------------------------------------------------------------------
const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function utf8(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

/** One function's body: i32 parameters, then i32 and v128 locals by name. */
class Fn {
  readonly code: number[] = [];
  private readonly index = new Map<string, number>();
  private readonly i32Locals: string[] = [];
  private readonly vLocals: string[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly string[],
    i32Locals: readonly string[],
    vLocals: readonly string[],
  ) {
    const add = (n: string) => {
      if (this.index.has(n)) throw new Error(`wasm assembler: '${n}' declared twice in ${name}`);
      this.index.set(n, this.index.size);
    };
    params.forEach(add);
    for (const l of i32Locals) {
      add(l);
      this.i32Locals.push(l);
    }
    for (const l of vLocals) {
      add(l);
      this.vLocals.push(l);
    }
  }

  private at(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`wasm assembler: no local '${name}' in ${this.name}`);
    return i;
  }

  get(name: string): this {
    this.code.push(0x20, ...uleb(this.at(name)));
    return this;
  }
  set(name: string): this {
    this.code.push(0x21, ...uleb(this.at(name)));
    return this;
  }
  const(n: number): this {
    this.code.push(0x41, ...sleb(n));
    return this;
  }
  /** Appends raw instruction bytes. */
  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  add = () => this.op(0x6a); // i32.add
  sub = () => this.op(0x6b); // i32.sub
  mul = () => this.op(0x6c); // i32.mul
  ltU = () => this.op(0x49); // i32.lt_u
  and = () => this.op(0x71); // i32.and
  /** select: [a, b, cond] → cond ? a : b */
  select = () => this.op(0x1b);
  /** local[name] += n (i32). */
  inc(name: string, by: string | number): this {
    this.get(name);
    if (typeof by === 'number') this.const(by);
    else this.get(by);
    return this.add().set(name);
  }
  /** i32.load of the address on the stack + offset. */
  loadI32(offset = 0): this {
    this.code.push(0x28, 2, ...uleb(offset));
    return this;
  }
  /** v128.load of the address on the stack (align hint 4 bytes). */
  vload = () => this.op(0xfd, 0x00, 2, 0);
  /** v128.load of the address on the stack + a constant offset. */
  vloadOff(offset: number): this {
    return this.op(0xfd, 0x00, 2, ...uleb(offset));
  }
  /** v128.load32_splat of the address on the stack + a constant offset. */
  vloadSplat(offset = 0): this {
    return this.op(0xfd, 0x09, 2, ...uleb(offset));
  }
  /** v128.store with a constant offset: [address, value] on the stack. */
  vstoreOff(offset: number): this {
    return this.op(0xfd, 0x0b, 2, ...uleb(offset));
  }
  /** v128.store: [address, value] on the stack. */
  vstore = () => this.op(0xfd, 0x0b, 2, 0);
  fadd = () => this.op(0xfd, 0xe4, 0x01); // f32x4.add
  fsub = () => this.op(0xfd, 0xe5, 0x01); // f32x4.sub
  fmul = () => this.op(0xfd, 0xe6, 0x01); // f32x4.mul
  fdiv = () => this.op(0xfd, 0xe7, 0x01); // f32x4.div
  /** f32x4.relaxed_madd (relaxed SIMD): [a, b, c] → a·b + c, fused where the CPU has FMA. */
  fmadd = () => this.op(0xfd, 0x85, 0x02);
  /** f32.convert_i32_u of the i32 on the stack. */
  convertU = () => this.op(0xb3);
  /** f32x4.splat of the f32 on the stack. */
  fsplat = () => this.op(0xfd, 0x13);
  flt = () => this.op(0xfd, 0x43); // f32x4.lt
  /** i8x16.shuffle of the two vectors on the stack, by float lanes (0–3 the first, 4–7 the second). */
  shuffle(lanes: readonly [number, number, number, number]): this {
    return this.op(0xfd, 0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  }
  /** v128.bitselect: [a, b, mask] → (a & mask) | (b & ~mask) */
  bitselect = () => this.op(0xfd, 0x52);
  /** i32x4.splat of the i32 on the stack (a float's bits give that float in every lane). */
  splatI32 = () => this.op(0xfd, 0x11);
  /** f32x4.splat of an f32 constant. */
  splat(x: number): this {
    const b = new DataView(new ArrayBuffer(4));
    b.setFloat32(0, x, true); // wasm constants are little-endian whatever the host
    this.code.push(0x43, b.getUint8(0), b.getUint8(1), b.getUint8(2), b.getUint8(3), 0xfd, 0x13);
    return this;
  }
  /** v = load(a + b), a and b i32 locals. */
  loadAt(v: string, a: string, b?: string): this {
    this.get(a);
    if (b !== undefined) this.get(b).add();
    return this.vload().set(v);
  }
  /** Vector expression helpers: x ± y of v128 locals, left on the stack. */
  vop(x: string, op: '+' | '-', y: string): this {
    this.get(x).get(y);
    return op === '+' ? this.fadd() : this.fsub();
  }
  /** for (i = 0; i < n; i += step) body — `n`/`step` i32 locals or constants; runs nothing when n ≤ 0. */
  loop(i: string, n: string, step: string | number, body: () => void): this {
    this.const(0).set(i);
    this.code.push(0x02, 0x40); // block
    this.get(i).get(n).ltU();
    this.code.push(0x45, 0x0d, 0); // i32.eqz; br_if 0 (exit)
    this.code.push(0x03, 0x40); // loop
    body();
    this.inc(i, step);
    this.get(i).get(n).ltU();
    this.code.push(0x0d, 0); // br_if 0 (continue)
    this.code.push(0x0b, 0x0b); // end loop, end block
    return this;
  }
  /** if (local ≠ 0) then() else otherwise() */
  ifElse(flag: string, then: () => void, otherwise: () => void): this {
    this.get(flag);
    this.code.push(0x04, 0x40);
    then();
    this.code.push(0x05);
    otherwise();
    this.code.push(0x0b);
    return this;
  }
  /** if (local ≠ 0) body */
  ifSet(flag: string, body: () => void): this {
    this.get(flag);
    this.code.push(0x04, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }

  encodeBody(): number[] {
    const locals: number[] = [];
    const groups: [number, number][] = [];
    if (this.i32Locals.length) groups.push([this.i32Locals.length, I32]);
    if (this.vLocals.length) groups.push([this.vLocals.length, V128]);
    locals.push(...uleb(groups.length));
    for (const [n, t] of groups) locals.push(...uleb(n), t);
    const body = [...locals, ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/** A module importing `env.memory` (shared or not, as `memory` is) and exporting `fns`. */
function assemble(fns: readonly Fn[], shared: boolean): Uint8Array<ArrayBuffer> {
  const types: number[] = [];
  for (const f of fns) types.push(0x60, ...uleb(f.params.length), ...f.params.map(() => I32), 0);
  const limits = shared ? [0x03, ...uleb(0), ...uleb(65536)] : [0x00, ...uleb(0)];
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [...uleb(fns.length), ...types]),
    ...section(2, [...uleb(1), ...utf8('env'), ...utf8('memory'), 0x02, ...limits]),
    ...section(3, [...uleb(fns.length), ...fns.map((_, i) => i)]),
    ...section(7, [...uleb(fns.length), ...fns.flatMap((f, i) => [...utf8(f.name), 0x00, ...uleb(i)])]),
    ...section(10, [...uleb(fns.length), ...fns.flatMap((f) => f.encodeBody())]),
  ];
  return new Uint8Array(bytes);
}

// ---------------------------------------------------------------------------------------------------
// Instances: one per heap and module, made on first use.
// ---------------------------------------------------------------------------------------------------

const isShared = (memory: WebAssembly.Memory) => typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;

/** Per heap: the instances made so far, by module key (null: it would not compile here). */
const instances = new WeakMap<WebAssembly.Memory, Map<string, unknown>>();

function instancesOf(memory: WebAssembly.Memory): Map<string, unknown> {
  let byKey = instances.get(memory);
  if (!byKey) instances.set(memory, (byKey = new Map()));
  return byKey;
}

/**
 * The module `bytes` (built for `memory` shared or not) instantiated on `memory`, as `make` of its
 * exports; compiled synchronously on first use, then cached; null where it cannot compile.
 */
function instanceOn<T>(memory: WebAssembly.Memory, key: string, bytes: (shared: boolean) => Uint8Array<ArrayBuffer>, make = (e: object) => e as T): T | null {
  const byKey = instancesOf(memory);
  if (byKey.has(key)) return byKey.get(key) as T | null;
  let result: T | null = null;
  try {
    result = make(new WebAssembly.Instance(new WebAssembly.Module(bytes(isShared(memory))), { env: { memory } }).exports);
  } catch {
    result = null;
  }
  byKey.set(key, result);
  return result;
}

/** `instanceOn`, compiled asynchronously (browsers allow that at any size); an earlier failure is tried again. */
async function instanceOnAsync<T>(
  memory: WebAssembly.Memory,
  key: string,
  bytes: (shared: boolean) => Uint8Array<ArrayBuffer>,
  make = (e: object) => e as T,
): Promise<T | null> {
  const byKey = instancesOf(memory);
  if (byKey.get(key)) return byKey.get(key) as T;
  let result: T | null = null;
  try {
    const module = await WebAssembly.compile(bytes(isShared(memory)));
    result = make((await WebAssembly.instantiate(module, { env: { memory } })).exports);
  } catch {
    result = null;
  }
  byKey.set(key, result);
  return result;
}

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
