// Parameters and AdamW state in one block of WebAssembly memory, updated by a hand-assembled SIMD kernel.
// The plain loop in optimizer.ts costs 5–6 ns per parameter (scalar float64 square root and division per
// element): about 0.7 s per step at 123M parameters, a fifth of the step. The kernel does the same float64
// arithmetic two lanes at a time, operation for operation, so its results are bit for bit those of the
// loop (test/distill/optimizer.test.ts) and a run resumed on either path continues identically.
//
// The parameters themselves live here (the trainer reads the checkpoint into value(k), and ORT reads them
// from there as inputs), with m and v next to them. A gradient from elsewhere is copied into one scratch
// block per tensor; or, when the memory holds a gradient block per tensor (`gradients`), the gradients
// the training steps write there (ORT's pre-allocated outputs) are updated in place, with no copy and no
// scratch. The clipping factor is applied inside the kernel, rounded to float32 exactly as clipGradients'
// in-place scaling would be, which saves a pass over the gradients.
//
// Sized once and never grown (growing would detach the views ORT and the caller hold); wasm32 memories end
// at 4 GiB, so models past ~350M parameters (~265M with gradient blocks) keep the plain arrays and loop.

import { fixedMemory, ins, lazyKernelModule, leb, SIMD } from '../util/wasm-bytes';

const { get, set, simd } = ins;
const c = ins.i32;
const { V128_LOAD64_ZERO, V128_STORE64_LANE, F64X2_SPLAT, F64X2_EXTRACT_LANE, F32X4_DEMOTE_F64X2_ZERO, F64X2_PROMOTE_LOW_F32X4, F64X2_SQRT, F64X2_ADD, F64X2_SUB, F64X2_MUL, F64X2_DIV } = SIMD;

/** Scalars of one update, in the kernel's parameter order after the pointers and the pair count. */
const SCALARS = ['b1', 'oneMinusB1', 'b2', 'oneMinusB2', 'decay', 'stepSize', 'invSqrtBc2', 'eps', 'clip'] as const;
export type AdamWScalars = Record<(typeof SCALARS)[number], number>;

/**
 * adamw(g, w, m, v, pairs, b1, 1−b1, b2, 1−b2, decay, stepSize, 1/√bc2, eps, clip), per pair of float32s:
 *   g' = f32(g · clip);  m' = b1·m + (1−b1)·g';  v' = b2·v + ((1−b2)·g')·g'
 *   w' = w·decay − (stepSize·m') / (√v' · (1/√bc2) + eps);  m, v, w stored as float32
 * in float64, in the order optimizer.ts's loop evaluates it (no fused multiply-adds in WebAssembly).
 * Params 0–3 pointers, 4 pairs (i32), 5–13 scalars (f64); locals 14–22 the splatted scalars, 23–25 g', m', v' (v128).
 */
function adamwBody(): number[] {
  const splat = (s: (typeof SCALARS)[number]) => get(14 + SCALARS.indexOf(s));
  const load = (ptr: number) => [...get(ptr), ...simd(V128_LOAD64_ZERO), 0x03, 0x00, ...simd(F64X2_PROMOTE_LOW_F32X4)];
  const store = (ptr: number, value: number[]) => [...get(ptr), ...value, ...simd(F32X4_DEMOTE_F64X2_ZERO), ...simd(V128_STORE64_LANE), 0x03, 0x00, 0];
  const [G, M, V] = [23, 24, 25];
  const code = [
    0x01, 12, 0x7b, // locals: 12 × v128
    ...SCALARS.flatMap((_, i) => [...get(5 + i), ...simd(F64X2_SPLAT), ...set(14 + i)]),
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(4), 0x45, 0x0d, 1, // pairs == 0: done
    // g' = f32(g · clip)
    ...load(0), ...splat('clip'), ...simd(F64X2_MUL), ...simd(F32X4_DEMOTE_F64X2_ZERO), ...simd(F64X2_PROMOTE_LOW_F32X4), ...set(G),
    // m' = b1·m + (1−b1)·g'
    ...splat('b1'), ...load(2), ...simd(F64X2_MUL), ...splat('oneMinusB1'), ...get(G), ...simd(F64X2_MUL), ...simd(F64X2_ADD), ...set(M),
    // v' = b2·v + ((1−b2)·g')·g'
    ...splat('b2'), ...load(3), ...simd(F64X2_MUL), ...splat('oneMinusB2'), ...get(G), ...simd(F64X2_MUL), ...get(G), ...simd(F64X2_MUL), ...simd(F64X2_ADD), ...set(V),
    ...store(2, get(M)),
    ...store(3, get(V)),
    // w' = w·decay − (stepSize·m') / (√v' · (1/√bc2) + eps)
    ...store(1, [
      ...load(1), ...splat('decay'), ...simd(F64X2_MUL),
      ...splat('stepSize'), ...get(M), ...simd(F64X2_MUL),
      ...get(V), ...simd(F64X2_SQRT), ...splat('invSqrtBc2'), ...simd(F64X2_MUL), ...splat('eps'), ...simd(F64X2_ADD),
      ...simd(F64X2_DIV),
      ...simd(F64X2_SUB),
    ]),
    ...[0, 1, 2, 3].flatMap((p) => [...get(p), ...c(8), 0x6a, ...set(p)]),
    ...get(4), ...c(1), 0x6b, ...set(4),
    0x0c, 0,
    0x0b, 0x0b, 0x0b,
  ];
  return [...leb(code.length), ...code];
}

/**
 * sumsq(p, octets) → Σ x² over the float32s at p (8 per octet), in float64 (each square is exact) with four
 * two-lane accumulators: the global gradient norm without the plain loop's serial chain of additions.
 * Params 0–1; locals 2–5 the accumulators, 6 a loaded pair (v128).
 */
function sumsqBody(): number[] {
  const load = (offset: number) => [...get(0), ...simd(V128_LOAD64_ZERO), 0x03, ...leb(offset), ...simd(F64X2_PROMOTE_LOW_F32X4)];
  const X = 6;
  const code = [
    0x01, 5, 0x7b, // locals: 5 × v128 (zero-initialised)
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(1), 0x45, 0x0d, 1, // octets == 0: done
    ...[0, 1, 2, 3].flatMap((j) => [...get(2 + j), ...load(8 * j), ...ins.tee(X), ...get(X), ...simd(F64X2_MUL), ...simd(F64X2_ADD), ...set(2 + j)]),
    ...get(0), ...c(32), 0x6a, ...set(0),
    ...get(1), ...c(1), 0x6b, ...set(1),
    0x0c, 0,
    0x0b, 0x0b,
    ...get(2), ...get(3), ...simd(F64X2_ADD), ...get(4), ...get(5), ...simd(F64X2_ADD), ...simd(F64X2_ADD), ...ins.tee(X),
    ...simd(F64X2_EXTRACT_LANE), 0, ...get(X), ...simd(F64X2_EXTRACT_LANE), 1, 0xa0, // f64.add
    0x0b,
  ];
  return [...leb(code.length), ...code];
}

const I32 = 0x7f;
const F64 = 0x7c;
const kernelModule = lazyKernelModule(() => [
  { name: 'adamw', params: [I32, I32, I32, I32, I32, ...SCALARS.map(() => F64)], body: adamwBody() },
  { name: 'sumsq', params: [I32, I32], results: [F64], body: sumsqBody() },
]);

const ALIGN = 64;
const aligned = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;

type Kernel = (g: number, w: number, m: number, v: number, pairs: number, ...scalars: number[]) => void;
type SumSquares = (p: number, octets: number) => number;

export class OptimizerMemory {
  private readonly views: { value: Float32Array; m: Float32Array; v: Float32Array; g?: Float32Array }[];
  private readonly scratch: number;

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly kernel: Kernel,
    private readonly sumsq: SumSquares,
    sizes: readonly number[],
    gradients: boolean,
  ) {
    let at = 0;
    const take = (n: number) => {
      const a = new Float32Array(memory.buffer, at, n);
      at += aligned(4 * n);
      return a;
    };
    this.views = sizes.map((n) => ({ value: take(n), m: take(n), v: take(n), ...(gradients ? { g: take(n) } : {}) }));
    this.scratch = at;
  }

  /**
   * Memory for tensors of these element counts: value, m and v each, plus a gradient block each with
   * `gradients`, else one gradient's scratch; undefined without WebAssembly SIMD or past 4 GiB.
   */
  static create(sizes: readonly number[], o: { gradients?: boolean } = {}): OptimizerMemory | undefined {
    const m = kernelModule();
    if (!m || sizes.length === 0) return undefined;
    const gradients = o.gradients === true;
    const bytes = sizes.reduce((s, n) => s + (gradients ? 4 : 3) * aligned(4 * n), 0) + (gradients ? 0 : aligned(4 * Math.max(...sizes)));
    const memory = fixedMemory(bytes);
    if (!memory) return undefined;
    const inst = new WebAssembly.Instance(m, { e: { m: memory } });
    return new OptimizerMemory(memory, inst.exports['adamw'] as Kernel, inst.exports['sumsq'] as SumSquares, sizes, gradients);
  }

  get tensors(): number {
    return this.views.length;
  }

  /** Tensor k's parameter values (zeros until the caller fills them). */
  value(k: number): Float32Array {
    return this.views[k]!.value;
  }

  /** Tensor k's first and second moments. */
  moments(k: number): { m: Float32Array; v: Float32Array } {
    return this.views[k]!;
  }

  /** Tensor k's gradient block, when the memory was created with `gradients`. */
  gradient(k: number): Float32Array | undefined {
    return this.views[k]!.g;
  }

  /**
   * Σ x² of `a` in float64 when `a` lives in this memory (a gradient block, say), else undefined. Finite
   * exactly when every element is (float32 squares cannot overflow a float64 sum of this length).
   */
  sumOfSquares(a: Float32Array): number | undefined {
    if (a.buffer !== this.memory.buffer) return undefined;
    const n = a.length;
    let s = this.sumsq(a.byteOffset, n >> 3);
    for (let i = n & ~7; i < n; i++) s += a[i]! * a[i]!;
    return s;
  }

  /** One AdamW update of tensor k with gradient `g` (read in place when it is gradient(k), else copied in; not modified). */
  update(k: number, g: Float32Array, s: AdamWScalars): void {
    const { value, m, v, g: own } = this.views[k]!;
    const n = value.length;
    if (g.length !== n) throw new Error(`gradient of tensor ${k} has ${g.length} elements, parameter has ${n}`);
    const at = own?.byteOffset ?? this.scratch;
    const inPlace = own !== undefined && g.buffer === own.buffer && g.byteOffset === at;
    if (!inPlace) new Float32Array(this.memory.buffer, at, n).set(g);
    const pairs = n >> 1;
    if (pairs > 0) this.kernel(at, value.byteOffset, m.byteOffset, v.byteOffset, pairs, ...SCALARS.map((x) => s[x]));
    if (n & 1) {
      // The odd last element, by the same formulas in float64 (Math.fround: the kernel's float32 rounding).
      const i = n - 1;
      const gi = Math.fround(g[i]! * s.clip);
      const mi = s.b1 * m[i]! + s.oneMinusB1 * gi;
      const vi = s.b2 * v[i]! + s.oneMinusB2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      value[i] = value[i]! * s.decay - (s.stepSize * mi) / (Math.sqrt(vi) * s.invSqrtBc2 + s.eps);
    }
  }
}
