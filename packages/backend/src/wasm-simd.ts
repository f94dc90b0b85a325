/**
 * WebAssembly SIMD loops that run straight on the tfjs wasm backend's heap, each set beside its user: the
 * transforms of the Winograd convolution (wasm-winograd-simd.ts for wasm-winograd.ts), our matrix product
 * with its packing and a transpose (wasm-gemm-simd.ts for wasm-gemm.ts), and elementwise kernels
 * (wasm-elementwise-simd.ts for wasm-elementwise.ts). Written as bytecode by the small assembler here (no
 * toolchain, nothing fetched, nothing eval'd), compiled once per wasm memory by the instance cache here.
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
export class Fn {
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
export function assemble(fns: readonly Fn[], shared: boolean): Uint8Array<ArrayBuffer> {
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
export function instanceOn<T>(
  memory: WebAssembly.Memory,
  key: string,
  bytes: (shared: boolean) => Uint8Array<ArrayBuffer>,
  make = (e: object) => e as T,
): T | null {
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
export async function instanceOnAsync<T>(
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
