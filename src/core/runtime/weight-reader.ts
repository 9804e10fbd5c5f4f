// Reads weight tensors (or row slices of them) from a checkpoint's .safetensors files into float32
// arrays, one group ("a layer", "a head chunk") at a time, with the next group read ahead in the
// background: file reads run on libuv's thread pool while ONNX Runtime computes on the main thread, so
// the disk and the CPU overlap. BF16/F16 are upcast here (exactly: BF16 → F32 is a 16-bit shift), so the
// files stay as they are and only one group's float32 copy exists at a time. Buffers are recycled
// between groups of the same shapes (all Mamba layers alike, all MLP layers alike). With a WeightArena
// (weight-arena.ts), bytes are read into WebAssembly memory and BF16 is upcast there by a SIMD kernel;
// whatever does not fit the arena takes the plain path.

import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { HybridCompressError } from '../errors';
import type { Checkpoint } from '../checkpoint/checkpoint';
import { DTYPE_BYTES, decodeToFloat32, f16ToF32 } from '../safetensors/dtype';
import { WeightArena } from './weight-arena';

/** One array to read: tensor `tensor`'s bytes [byteStart, byteEnd) (whole tensor by default). */
export interface WeightPart {
  /** Key of the result map. */
  key: string;
  tensor: string;
  byteStart?: number;
  byteEnd?: number;
  /** ‖W[:, j]‖² of this (whole, 2-D) tensor will be asked for: take them while upcasting, where that is possible. */
  columnSquares?: boolean;
}

interface RawPart {
  part: WeightPart;
  dtype: string;
  /** F32 is read straight into its destination; other dtypes into a scratch buffer. */
  bytes: Uint8Array;
  out?: Float32Array;
}

const LITTLE_ENDIAN = endianness() === 'LE';
/** Bytes per read request of a large tensor (several are in flight at once). */
const READ_CHUNK_BYTES = 32 << 20;

let f16Table: Float32Array | undefined;

/** Decodes little-endian F32/BF16/F16/F64 bytes into `out` (same element count). */
export function decodeFloat32Into(dtype: string, bytes: Uint8Array, out: Float32Array): void {
  const n = out.length;
  if (bytes.byteLength !== n * (DTYPE_BYTES[dtype] ?? 0)) throw new Error(`decode: ${bytes.byteLength} bytes of ${dtype} for ${n} values`);
  if (!LITTLE_ENDIAN || dtype === 'F64') {
    out.set(decodeToFloat32(dtype, bytes));
    return;
  }
  if (dtype === 'F32') {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
    return;
  }
  const dst = new Uint32Array(out.buffer, out.byteOffset, n);
  if (dtype === 'BF16') {
    if (bytes.byteOffset % 4 === 0 && n % 2 === 0) bf16PairsToF32(new Uint32Array(bytes.buffer, bytes.byteOffset, n / 2), dst);
    else if (bytes.byteOffset % 2 === 0) bf16ToF32Bits(new Uint16Array(bytes.buffer, bytes.byteOffset, n), dst);
    else out.set(decodeToFloat32(dtype, bytes));
    return;
  }
  if (dtype === 'F16') {
    if (!f16Table) {
      f16Table = new Float32Array(65536);
      for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
    }
    const src = bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, n) : new Uint16Array(bytes.slice().buffer);
    const t = f16Table;
    for (let i = 0; i < n; i++) out[i] = t[src[i]!]!;
    return;
  }
  throw new Error(`dtype ${dtype} cannot be decoded to float32 (valid: F32, F16, BF16, F64)`);
}

// Two BF16 values per 32-bit load: low half → even element, high half → odd element (little-endian).
function bf16PairsToF32(src: Uint32Array, dst: Uint32Array): void {
  for (let i = 0, j = 0; i < src.length; i++, j += 2) {
    const x = src[i]!;
    dst[j] = x << 16;
    dst[j + 1] = x & 0xffff0000;
  }
}

function bf16ToF32Bits(src: Uint16Array, dst: Uint32Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = src[i]! << 16;
}

/** Where the reader's time went (milliseconds, on the main thread) and how much it read. */
export interface WeightReaderStats {
  /** take() waiting for reads that the read-ahead had not finished. */
  waitMs: number;
  /** Upcasting to float32. */
  decodeMs: number;
  /** Bytes that did not fit the arena and took the plain path (0 when the arena is sized right). */
  outsideArena: number;
  bytes: number;
}

export class WeightReader {
  readonly stats: WeightReaderStats = { waitMs: 0, decodeMs: 0, bytes: 0, outsideArena: 0 };
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private readonly inflight = new Map<string, Promise<RawPart[]>>();
  /** Free buffers by byte length. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private closed = false;

  private readonly arena: WeightArena | undefined;
  /** Column squares taken during the upcast, by the array they belong to. */
  private readonly squares = new WeakMap<Float32Array, Float64Array>();

  /** `arenaBytes`: size of the WebAssembly arena (none: plain buffers and the TypeScript decoder). */
  constructor(
    private readonly ckpt: Checkpoint,
    o: { arenaBytes?: number } = {},
  ) {
    this.arena = o.arenaBytes ? WeightArena.create(o.arenaBytes) : undefined;
  }

  /** Whether weights go through the WebAssembly arena. */
  get usesArena(): boolean {
    return this.arena !== undefined;
  }

  private handle(file: string): Promise<FileHandle> {
    let h = this.handles.get(file);
    if (!h) this.handles.set(file, (h = open(file, 'r')));
    return h;
  }

  private alloc(bytes: number): ArrayBuffer {
    return this.free.get(bytes)?.pop() ?? new ArrayBuffer(bytes);
  }

  /** `bytes` in the arena when it has room, else a plain (pooled) buffer. */
  private allocBytes(bytes: number): Uint8Array {
    const at = this.arena?.alloc(bytes);
    if (at !== undefined) return new Uint8Array(this.arena!.buffer, at, bytes);
    if (this.arena) this.stats.outsideArena += bytes;
    return new Uint8Array(this.alloc(bytes));
  }

  /**
   * ‖W[:, j]‖² (float64) of a row-major [rows, cols] array from take(): the sums taken while upcasting it
   * (parts marked columnSquares), else by the arena's SIMD kernel; undefined when it is not in the arena.
   */
  columnSquares(w: Float32Array, rows: number, cols: number): Float64Array | undefined {
    const done = this.squares.get(w);
    if (done && done.length === cols && w.length === rows * cols) return done;
    return this.arena?.columnSquares(w, rows, cols);
  }

  /** Hands arrays from take() back for reuse by later groups of the same shapes. */
  recycle(arrays: Iterable<Float32Array | Uint8Array>): void {
    for (const a of arrays) {
      if (this.arena?.owns(a)) {
        this.arena.release(a.byteOffset);
        continue;
      }
      if (a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength || !(a.buffer instanceof ArrayBuffer)) continue;
      const list = this.free.get(a.byteLength) ?? [];
      // Two of a size cover "in use" + "read ahead"; more would only hold memory.
      if (list.length < 2 && !list.includes(a.buffer)) list.push(a.buffer);
      this.free.set(a.byteLength, list);
    }
  }

  private async readPart(part: WeightPart): Promise<RawPart> {
    const t = this.ckpt.tensor(part.tensor);
    const start = part.byteStart ?? 0;
    const end = part.byteEnd ?? t.byteLength;
    if (start < 0 || end > t.byteLength || start > end) throw new RangeError(`${t.file}: byte range [${start}, ${end}) outside tensor "${t.name}" of ${t.byteLength} bytes`);
    const width = DTYPE_BYTES[t.dtype];
    if (width === undefined || !['F32', 'BF16', 'F16', 'F64'].includes(t.dtype)) {
      throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `${t.file}: tensor "${t.name}" has dtype ${t.dtype}; the engine computes with F32, F16, BF16 or F64 weights`, { file: t.file, tensor: t.name });
    }
    const len = end - start;
    const fh = await this.handle(t.file);
    let out: Float32Array | undefined;
    // F32 is read straight into place; BF16 into the arena (upcast there); F16/F64 into a scratch buffer.
    const bytes = t.dtype === 'F32' || t.dtype === 'BF16' ? this.allocBytes(len) : new Uint8Array(this.alloc(len));
    if (t.dtype === 'F32' && LITTLE_ENDIAN) out = new Float32Array(bytes.buffer, bytes.byteOffset, len / 4);
    // Large tensors are read as several concurrent chunks: from a cold page cache the disk then serves
    // several requests at once (dd on the build VM's virtual disk: 1.2 GB/s for 1 stream, 1.9 for 4). The
    // 8B calibration from a cold cache waited 1.5 instead of 2.5 s for reads; on 2 vCPUs the kernel's I/O
    // work then slows the computation about as much, so the gain shows on machines with cores to spare.
    const reads: Promise<void>[] = [];
    for (let c0 = 0; c0 < len; c0 += READ_CHUNK_BYTES) {
      const c1 = Math.min(len, c0 + READ_CHUNK_BYTES);
      reads.push(
        (async () => {
          let off = c0;
          while (off < c1) {
            const { bytesRead } = await fh.read(bytes, off, c1 - off, t.fileOffset + start + off);
            if (bytesRead === 0) throw new HybridCompressError('IO_ERROR', `${t.file}: file ended while reading tensor "${t.name}" (was it truncated?)`, { file: t.file, tensor: t.name });
            off += bytesRead;
          }
        })(),
      );
    }
    await Promise.all(reads);
    return { part, dtype: t.dtype, bytes, out };
  }

  /** Starts reading group `key` in the background (no-op when already started). */
  prefetch(key: string, parts: readonly WeightPart[]): void {
    if (this.closed || this.inflight.has(key)) return;
    const p = Promise.all(parts.map((x) => this.readPart(x)));
    p.catch(() => undefined); // surfaced by take()
    this.inflight.set(key, p);
  }

  /** Group `key` as float32 arrays by part key (waits for its read-ahead, or reads it now). */
  async take(key: string, parts: readonly WeightPart[]): Promise<Map<string, Float32Array>> {
    if (this.closed) throw new HybridCompressError('OPTION_INVALID', 'the weight reader was closed');
    this.prefetch(key, parts);
    const w0 = performance.now();
    const raw = await this.inflight.get(key)!;
    const d0 = performance.now();
    this.stats.waitMs += d0 - w0;
    this.inflight.delete(key);
    const out = new Map<string, Float32Array>();
    for (const r of raw) {
      this.stats.bytes += r.bytes.byteLength;
      if (r.out) {
        out.set(r.part.key, r.out);
        continue;
      }
      const n = r.bytes.byteLength / DTYPE_BYTES[r.dtype]!;
      const f8 = this.allocBytes(n * 4);
      const f = new Float32Array(f8.buffer, f8.byteOffset, n);
      if (r.dtype === 'BF16' && LITTLE_ENDIAN && this.arena?.owns(r.bytes) && this.arena.owns(f)) {
        const shape = this.withSquares(r);
        const sq = shape && this.arena.bf16ToF32WithColumnSquares(r.bytes.byteOffset, f.byteOffset, shape[0], shape[1]);
        if (sq) this.squares.set(f, sq);
        else this.arena.bf16ToF32(r.bytes.byteOffset, f.byteOffset, n);
      } else decodeFloat32Into(r.dtype, r.bytes, f);
      this.recycle([r.bytes]);
      out.set(r.part.key, f);
    }
    this.stats.decodeMs += performance.now() - d0;
    return out;
  }

  /** [rows, cols] of a part whose column squares are wanted and can be taken while upcasting (a whole 2-D tensor). */
  private withSquares(r: RawPart): [number, number] | undefined {
    if (!r.part.columnSquares || r.part.byteStart !== undefined || r.part.byteEnd !== undefined) return undefined;
    const shape = this.ckpt.tensor(r.part.tensor).shape;
    return shape.length === 2 ? [shape[0]!, shape[1]!] : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.inflight.values());
    this.inflight.clear();
    this.free.clear();
    for (const h of this.handles.values()) await (await h.catch(() => undefined))?.close();
    this.handles.clear();
  }
}
