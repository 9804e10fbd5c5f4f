// A fixed block of WebAssembly memory that streamed weights live in, with a hand-assembled SIMD kernel
// that upcasts BF16 to float32 in place (a BF16 value is the high half of its float32: widen each 16-bit
// lane to 32 bits and shift left by 16). Raw bytes are read from the file straight into the arena, the
// kernel writes the float32 copy next to them, and ONNX Runtime reads that copy through a Float32Array
// view — no copies in between. Measured on the 2-vCPU build VM: 0.3 ns per value against 1.1 ns for the
// best plain TypeScript loop (typed-array bounds checks on every access).
//
// A second kernel sums the squares of each column of a float32 matrix in float64 (FLAP's ‖W[:, j]‖²,
// calibrate/flap.ts) on the weights where they already are; a third does both at once for BF16 weights
// whose column norms are wanted, in about half the time of the two passes (bench/weight-kernels.ts).
//
// The memory is sized once and never grown: growing would detach the views ORT and pending reads hold.
// Allocation is first-fit over a free list; when a request does not fit, the caller falls back to plain
// ArrayBuffers and the TypeScript decoder (weight-reader.ts).

import { fixedMemory, ins, lazyKernelModule, leb, SIMD } from '../util/wasm-bytes';

const { get, set, tee, simd } = ins;
const c = ins.i32;
const { V128_LOAD, V128_STORE, I32X4_EXTEND_LOW_I16X8_U, I32X4_EXTEND_HIGH_I16X8_U, I32X4_SHL, V128_LOAD64_ZERO, F64X2_PROMOTE_LOW_F32X4, I8X16_SHUFFLE, F64X2_ADD, F64X2_MUL } = SIMD;

/**
 * bf16(src, dst, groups): for each group of 8 values, 16 bytes at src → 32 bytes at dst.
 * Params: 0 src, 1 dst, 2 groups (all i32; used as loop variables).
 */
function bf16Body(): number[] {
  const half = (extend: number, offset: number) => [...get(1), ...get(0), ...simd(V128_LOAD), 0x04, 0x00, ...simd(extend), ...c(16), ...simd(I32X4_SHL), ...simd(V128_STORE), 0x04, ...leb(offset)];
  const code = [
    0x00, // no extra locals
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(2), 0x45, 0x0d, 1, // if groups == 0: break
    ...half(I32X4_EXTEND_LOW_I16X8_U, 0),
    ...half(I32X4_EXTEND_HIGH_I16X8_U, 16),
    ...get(0), ...c(16), 0x6a, ...set(0),
    ...get(1), ...c(32), 0x6a, ...set(1),
    ...get(2), ...c(1), 0x6b, ...set(2),
    0x0c, 0, // continue
    0x0b, 0x0b, 0x0b,
  ];
  return [...leb(code.length), ...code];
}

/**
 * colsq(w, out, rows, pairs, skip): out[j] += w[o, j]² (float64) for each row o in turn and each column j
 * of `pairs` pairs, then w += skip bytes (a row's odd last column, left to the caller). Row by row, so
 * each column's sum is taken in the same order as a plain loop over rows: the same float64 result.
 * Params: 0 w, 1 out, 2 rows, 3 pairs, 4 skip; locals: 5 p, 6 j (i32), 7 x (v128).
 */
function colsqBody(): number[] {
  const code = [
    0x02, 0x02, 0x7f, 0x01, 0x7b, // locals: 2 × i32, 1 × v128
    0x02, 0x40, 0x03, 0x40, // block, loop (rows)
    ...get(2), 0x45, 0x0d, 1,
    ...get(1), ...set(5),
    ...get(3), ...set(6),
    0x02, 0x40, 0x03, 0x40, // block, loop (column pairs)
    ...get(6), 0x45, 0x0d, 1,
    ...get(5),
    ...get(5), ...simd(V128_LOAD), 0x03, 0x00,
    ...get(0), ...simd(V128_LOAD64_ZERO), 0x02, 0x00, ...simd(F64X2_PROMOTE_LOW_F32X4), ...tee(7), ...get(7), ...simd(F64X2_MUL),
    ...simd(F64X2_ADD),
    ...simd(V128_STORE), 0x03, 0x00,
    ...get(0), ...c(8), 0x6a, ...set(0),
    ...get(5), ...c(16), 0x6a, ...set(5),
    ...get(6), ...c(1), 0x6b, ...set(6),
    0x0c, 0,
    0x0b, 0x0b,
    ...get(0), ...get(4), 0x6a, ...set(0),
    ...get(2), ...c(1), 0x6b, ...set(2),
    0x0c, 0,
    0x0b, 0x0b, 0x0b,
  ];
  return [...leb(code.length), ...code];
}

/**
 * bf16sq(src, dst, acc, rows, groups): bf16 for a row-major matrix of `rows` rows of `groups` × 8 columns,
 * and at the same time acc[j] += w[o, j]² (float64) for every row o in turn — colsq's sums in colsq's
 * order, taken while the values are in registers instead of in a second pass over the float32 copy.
 * `per` rows per iteration (4: one load/store of the sums per 4 rows, each sum still adding row o before
 * row o + 1; a third less time than one row at a time); `rows` is a multiple of `per`. Params: 0 src, 1 dst, 2 acc, 3 rows, 4 groups; locals: 5 a, 6 g, 7 rowBytes (i32), 8 t,
 * then the upcast halves lo, hi of each row (v128).
 */
function bf16sqBody(per: 1 | 4): number[] {
  const add = [0x6a];
  // Upcast the 8 values at src (+ row r's offset) into locals lo/hi and store them at dst (+ offset).
  const upcast = (r: number) => {
    const lo = 9 + 2 * r;
    const hi = lo + 1;
    const srcAt = r === 0 ? get(0) : [...get(0), ...get(7), ...c(r), 0x6c, ...add];
    const dstAt = r === 0 ? get(1) : [...get(1), ...get(7), ...c(2 * r), 0x6c, ...add];
    return [
      ...srcAt, ...simd(V128_LOAD), 0x04, 0x00, ...tee(8),
      ...simd(I32X4_EXTEND_LOW_I16X8_U), ...c(16), ...simd(I32X4_SHL), ...set(lo),
      ...get(8), ...simd(I32X4_EXTEND_HIGH_I16X8_U), ...c(16), ...simd(I32X4_SHL), ...set(hi),
      ...dstAt, ...get(lo), ...simd(V128_STORE), 0x04, 0x00,
      ...dstAt, ...get(hi), ...simd(V128_STORE), 0x04, 0x10,
    ];
  };
  // Lanes 2, 3 of a float32x4 moved to lanes 0, 1 (for promote_low).
  const upper = [...simd(I8X16_SHUFFLE), 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
  // acc[off/8 .. off/8 + 1] += square of lanes (low or upper half) of v, for each row in order.
  const accumulate = (off: number, half: 'low' | 'high', which: 'lo' | 'hi') => {
    const sq = (r: number) => {
      const v = 9 + 2 * r + (which === 'hi' ? 1 : 0);
      return [...get(v), ...(half === 'high' ? [...get(v), ...upper] : []), ...simd(F64X2_PROMOTE_LOW_F32X4), ...tee(8), ...get(8), ...simd(F64X2_MUL), ...simd(F64X2_ADD)];
    };
    return [...get(5), ...get(5), ...simd(V128_LOAD), 0x03, ...leb(off), ...Array.from({ length: per }, (_, r) => sq(r)).flat(), ...simd(V128_STORE), 0x03, ...leb(off)];
  };
  const code = [
    0x02, 0x03, 0x7f, ...leb(1 + 2 * per), 0x7b, // locals: 3 × i32, 1 + 2 · per × v128
    ...get(4), ...c(16), 0x6c, ...set(7), // rowBytes = groups · 16
    0x02, 0x40, 0x03, 0x40, // block, loop (rows)
    ...get(3), 0x45, 0x0d, 1,
    ...get(2), ...set(5),
    ...get(4), ...set(6),
    0x02, 0x40, 0x03, 0x40, // block, loop (groups of 8 columns)
    ...get(6), 0x45, 0x0d, 1,
    ...Array.from({ length: per }, (_, r) => upcast(r)).flat(),
    ...accumulate(0, 'low', 'lo'),
    ...accumulate(16, 'high', 'lo'),
    ...accumulate(32, 'low', 'hi'),
    ...accumulate(48, 'high', 'hi'),
    ...get(0), ...c(16), ...add, ...set(0),
    ...get(1), ...c(32), ...add, ...set(1),
    ...get(5), ...c(64), ...add, ...set(5),
    ...get(6), ...c(1), 0x6b, ...set(6),
    0x0c, 0,
    0x0b, 0x0b,
    // Past the other rows of this iteration.
    ...(per > 1 ? [...get(0), ...get(7), ...c(per - 1), 0x6c, ...add, ...set(0), ...get(1), ...get(7), ...c(2 * (per - 1)), 0x6c, ...add, ...set(1)] : []),
    ...get(3), ...c(per), 0x6b, ...set(3),
    0x0c, 0,
    0x0b, 0x0b, 0x0b,
  ];
  return [...leb(code.length), ...code];
}

const I32 = 0x7f;
const kernelModule = lazyKernelModule(() => [
  { name: 'bf16', params: [I32, I32, I32], body: bf16Body() },
  { name: 'colsq', params: [I32, I32, I32, I32, I32], body: colsqBody() },
  { name: 'bf16sq', params: [I32, I32, I32, I32, I32], body: bf16sqBody(1) },
  { name: 'bf16sq4', params: [I32, I32, I32, I32, I32], body: bf16sqBody(4) },
]);

const ALIGN = 64;

type Kernel5 = (a: number, b: number, c: number, d: number, e: number) => void;

export class WeightArena {
  readonly memory: WebAssembly.Memory;
  private readonly kernel: (src: number, dst: number, groups: number) => void;
  private readonly colsq: (w: number, out: number, rows: number, pairs: number, skip: number) => void;
  private readonly bf16sq: Kernel5;
  private readonly bf16sq4: Kernel5;
  /** Free blocks [start, end), sorted by start. */
  private free: [number, number][];
  private readonly used = new Map<number, number>();

  private constructor(memory: WebAssembly.Memory, inst: WebAssembly.Instance, bytes: number) {
    this.memory = memory;
    this.kernel = inst.exports['bf16'] as (src: number, dst: number, groups: number) => void;
    this.colsq = inst.exports['colsq'] as (w: number, out: number, rows: number, pairs: number, skip: number) => void;
    this.bf16sq = inst.exports['bf16sq'] as Kernel5;
    this.bf16sq4 = inst.exports['bf16sq4'] as Kernel5;
    this.free = [[0, bytes]];
  }

  /** An arena of `bytes` (rounded up to 64 KiB pages), or undefined without WebAssembly SIMD or above 4 GiB. */
  static create(bytes: number): WeightArena | undefined {
    const m = kernelModule();
    const memory = m && bytes > 0 ? fixedMemory(bytes) : undefined;
    if (!m || !memory) return undefined;
    const inst = new WebAssembly.Instance(m, { e: { m: memory } });
    return new WeightArena(memory, inst, memory.buffer.byteLength);
  }

  get buffer(): ArrayBuffer {
    return this.memory.buffer;
  }

  /** Byte offset of a free block of `bytes`, or undefined when none is large enough. */
  alloc(bytes: number): number | undefined {
    const size = Math.ceil(Math.max(bytes, 1) / ALIGN) * ALIGN;
    for (let i = 0; i < this.free.length; i++) {
      const [s, e] = this.free[i]!;
      if (e - s < size) continue;
      if (e - s === size) this.free.splice(i, 1);
      else this.free[i] = [s + size, e];
      this.used.set(s, size);
      return s;
    }
    return undefined;
  }

  /** Frees the block at `offset` (a no-op for offsets not allocated here). */
  release(offset: number): void {
    const size = this.used.get(offset);
    if (size === undefined) return;
    this.used.delete(offset);
    let lo = 0;
    while (lo < this.free.length && this.free[lo]![0] < offset) lo++;
    this.free.splice(lo, 0, [offset, offset + size]);
    // Merge with the neighbours.
    if (lo + 1 < this.free.length && this.free[lo]![1] === this.free[lo + 1]![0]) this.free.splice(lo, 2, [this.free[lo]![0], this.free[lo + 1]![1]]);
    if (lo > 0 && this.free[lo - 1]![1] === this.free[lo]![0]) this.free.splice(lo - 1, 2, [this.free[lo - 1]![0], this.free[lo]![1]]);
  }

  /** Owns this view (it lies in the arena's memory)? */
  owns(a: ArrayBufferView): boolean {
    return a.buffer === this.memory.buffer;
  }

  /** BF16 values at byte offset `src` (n of them) → float32 at byte offset `dst`; both 16-byte aligned. */
  bf16ToF32(src: number, dst: number, n: number): void {
    const groups = Math.floor(n / 8);
    if (groups > 0) this.kernel(src, dst, groups);
    const u16 = new Uint16Array(this.memory.buffer, src + groups * 16, n - groups * 8);
    const u32 = new Uint32Array(this.memory.buffer, dst + groups * 32, n - groups * 8);
    for (let i = 0; i < u16.length; i++) u32[i] = u16[i]! << 16;
  }

  /**
   * bf16ToF32 of a row-major BF16 matrix [rows, cols] (cols a multiple of 8, both offsets 16-byte aligned)
   * that also returns ‖W[:, j]‖² in float64 — columnSquares' numbers, from the same pass; undefined (and
   * nothing done) when cols is not a multiple of 8 or there is no room for the sums.
   */
  bf16ToF32WithColumnSquares(src: number, dst: number, rows: number, cols: number): Float64Array | undefined {
    if (cols % 8 !== 0 || src % 16 !== 0 || dst % 16 !== 0) return undefined;
    const at = this.alloc(cols * 8);
    if (at === undefined) return undefined;
    try {
      new Float64Array(this.memory.buffer, at, cols).fill(0);
      const quads = rows & ~3;
      if (quads) this.bf16sq4(src, dst, at, quads, cols / 8);
      if (rows > quads) this.bf16sq(src + quads * cols * 2, dst + quads * cols * 4, at, rows - quads, cols / 8);
      return new Float64Array(this.memory.buffer, at, cols).slice();
    } finally {
      this.release(at);
    }
  }

  /**
   * ‖W[:, j]‖² in float64 for a row-major float32 matrix [rows, cols] that lives in the arena (16-byte
   * aligned), summed row by row like a plain loop; undefined when there is no room for the sums.
   */
  columnSquares(w: Float32Array, rows: number, cols: number): Float64Array | undefined {
    if (!this.owns(w) || w.byteOffset % 16 !== 0 || w.length !== rows * cols) return undefined;
    const at = this.alloc(cols * 8);
    if (at === undefined) return undefined;
    try {
      const acc = new Float64Array(this.memory.buffer, at, cols);
      acc.fill(0);
      const pairs = cols >> 1;
      this.colsq(w.byteOffset, at, rows, pairs, (cols & 1) * 4);
      if (cols & 1) for (let o = 0; o < rows; o++) acc[cols - 1]! += w[o * cols + cols - 1]! ** 2;
      return acc.slice();
    } finally {
      this.release(at);
    }
  }

  /** Bytes in use (tests, diagnostics). */
  get usedBytes(): number {
    let s = 0;
    for (const v of this.used.values()) s += v;
    return s;
  }
}
