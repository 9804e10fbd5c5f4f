// Streaming row/column slicing of one tensor's raw bytes, from a source file position to an output file
// position, in bounded chunks: the values are never decoded, so every dtype is preserved bit for bit, and
// memory stays at two pairs of chunk buffers whatever the tensor size.
//
// Speed (bench/prune.ts): reads of scattered kept rows are merged across small gaps; the chunks are
// pipelined — chunk k+1 is being read and chunk k−1 written while chunk k's columns are gathered — and
// columns are gathered by a WebAssembly kernel working on buffers that live in its memory.

import type { FileHandle } from 'node:fs/promises';
import { HybridCompressError } from '../errors';
import { DTYPE_BYTES } from '../safetensors/dtype';
import { GatherMemory } from './gather-wasm';

/** Output rows per chunk are sized so a chunk's source rows take about this many bytes. */
export const DEFAULT_CHUNK_BYTES = 16 << 20;
/** Unwanted rows between two wanted ones are read through (one read instead of two) up to this size. */
const MERGE_GAP_BYTES = 256 << 10;

export interface SliceSource {
  fh: FileHandle;
  /** Absolute offset of the tensor's first byte. */
  offset: number;
  dtype: string;
  shape: readonly number[];
  name: string;
}

export interface SliceTarget {
  fh: FileHandle;
  offset: number;
}

/**
 * Reusable scratch buffers: two input and two output slots (for the pipeline) plus the gather kernel's
 * row and column tables, all in one WebAssembly memory. Allocated once per write; regions only grow.
 */
export class SliceBuffers {
  private readonly mem: GatherMemory;
  private layout = { rows: 0, cols: 0, input: 0, output: 0 };
  private at = { rowTable: 0, colTable: 0, in: [0, 0], out: [0, 0] };

  constructor(readonly chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.mem = new GatherMemory(6 * chunkBytes + (1 << 20));
    this.ensure(2 * chunkBytes, chunkBytes, 1024, 1024);
  }

  /** Makes room for input slots of `inBytes`, output slots of `outBytes`, `rows` row and `cols` column entries. */
  ensure(inBytes: number, outBytes: number, rows: number, cols: number): void {
    const l = this.layout;
    if (inBytes <= l.input && outBytes <= l.output && rows <= l.rows && cols <= l.cols) return;
    const up = (n: number) => Math.ceil(n / 64) * 64;
    this.layout = { rows: Math.max(rows, l.rows), cols: Math.max(cols, l.cols), input: up(Math.max(inBytes, l.input)), output: up(Math.max(outBytes, l.output)) };
    const { rows: r, cols: c, input, output } = this.layout;
    const rowTable = 0;
    const colTable = up(4 * r);
    const in0 = colTable + up(4 * c);
    this.at = { rowTable, colTable, in: [in0, in0 + input], out: [in0 + 2 * input, in0 + 2 * input + output] };
    this.mem.reserve(in0 + 2 * input + 2 * output);
  }

  get inputCapacity(): number {
    return this.layout.input;
  }

  input(slot: number): Uint8Array {
    return this.mem.bytes(this.at.in[slot]!, this.layout.input);
  }

  output(slot: number): Uint8Array {
    return this.mem.bytes(this.at.out[slot]!, this.layout.output);
  }

  /** Stores the kept columns (as byte offsets within a row) for the following gathers. */
  setColumns(cols: Int32Array, elemBytes: number): void {
    const t = this.mem.u32(this.at.colTable, cols.length);
    for (let j = 0; j < cols.length; j++) t[j] = cols[j]! * elemBytes;
  }

  /** Gathers the columns set by setColumns from the rows at `rowOffsets` of input `slot` into output `slot`. */
  gather(slot: number, rowOffsets: Float64Array, nCols: number, elemBytes: number): void {
    const t = this.mem.u32(this.at.rowTable, rowOffsets.length);
    const base = this.at.in[slot]!;
    for (let i = 0; i < rowOffsets.length; i++) t[i] = base + rowOffsets[i]!;
    this.mem.gather(elemBytes, this.at.rowTable, rowOffsets.length, this.at.colTable, nCols, this.at.out[slot]!);
  }
}

async function readFully(fh: FileHandle, buf: Uint8Array, off: number, len: number, pos: number, name: string): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, off + done, len - done, pos + done);
    if (bytesRead === 0) throw new HybridCompressError('CHECKPOINT_INVALID', `tensor "${name}": file ended while reading (truncated checkpoint?)`, { tensor: name });
    done += bytesRead;
  }
}

async function writeFully(fh: FileHandle, buf: Uint8Array, len: number, pos: number): Promise<void> {
  let done = 0;
  while (done < len) {
    try {
      const { bytesWritten } = await fh.write(buf, done, len - done, pos + done);
      done += bytesWritten;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new HybridCompressError('IO_ERROR', `disk full while writing the pruned checkpoint (${len - done} bytes pending); nothing was renamed into place`);
      throw e;
    }
  }
}

/** Maximal runs of consecutive indices: [start, length] pairs. */
export function indexRuns(idx: Int32Array, from = 0, to = idx.length): [number, number][] {
  const runs: [number, number][] = [];
  let i = from;
  while (i < to) {
    let j = i + 1;
    while (j < to && idx[j] === idx[j - 1]! + 1) j++;
    runs.push([idx[i]!, j - i]);
    i = j;
  }
  return runs;
}

/** How one chunk's rows are read: byte spans of the source, and where each wanted row lands in the buffer. */
export interface ChunkReads {
  /** [source byte offset (relative to the tensor), length, buffer offset]. */
  spans: [number, number, number][];
  /** Buffer byte offset of each of the chunk's rows, in output order. */
  rowOffsets: Float64Array;
  /** True when the rows lie back to back in the buffer, in order (no compaction needed). */
  dense: boolean;
}

/**
 * Plans the reads of rows `rows[from..to)` (or of rows from..to when `rows` is null): ascending runs
 * separated by small gaps are read as one span while the buffer (`capacity` bytes) allows.
 */
export function planChunkReads(rows: Int32Array | null, from: number, to: number, rowBytes: number, capacity: number, gapBytes = MERGE_GAP_BYTES): ChunkReads {
  const n = to - from;
  const rowOffsets = new Float64Array(n);
  if (!rows) {
    for (let i = 0; i < n; i++) rowOffsets[i] = i * rowBytes;
    return { spans: [[from * rowBytes, n * rowBytes, 0]], rowOffsets, dense: true };
  }
  const spans: [number, number, number][] = [];
  let used = 0;
  let k = 0;
  const runs = indexRuns(rows, from, to);
  const maxGapRows = Math.floor(gapBytes / rowBytes);
  // Budget for read-through gaps: whatever the buffer holds beyond the wanted rows.
  let gapBudget = capacity - n * rowBytes;
  for (let r = 0; r < runs.length; r++) {
    const [start, len] = runs[r]!;
    const last = spans[spans.length - 1];
    const prevEnd = last ? last[0] / rowBytes + last[1] / rowBytes : -1;
    const gap = start - prevEnd;
    if (last && gap >= 0 && gap <= maxGapRows && gap * rowBytes <= gapBudget) {
      // Extend the previous span through the gap.
      gapBudget -= gap * rowBytes;
      used += gap * rowBytes;
      for (let i = 0; i < len; i++) rowOffsets[k++] = used + i * rowBytes;
      last[1] += (gap + len) * rowBytes;
      used += len * rowBytes;
    } else {
      spans.push([start * rowBytes, len * rowBytes, used]);
      for (let i = 0; i < len; i++) rowOffsets[k++] = used + i * rowBytes;
      used += len * rowBytes;
    }
  }
  let dense = true;
  for (let i = 0; i < n && dense; i++) dense = rowOffsets[i] === i * rowBytes;
  return { spans, rowOffsets, dense };
}

/**
 * Writes the selected rows/columns of `src` at `dst`. Returns the bytes written.
 * `rows`: kept first-dimension indices (any order; null = all); `cols`: kept last-dimension indices of a
 * 2-D tensor (null = all).
 */
export async function sliceTensorBytes(src: SliceSource, rows: Int32Array | null, cols: Int32Array | null, dst: SliceTarget, bufs: SliceBuffers, signal?: AbortSignal): Promise<number> {
  const elem = DTYPE_BYTES[src.dtype];
  if (elem === undefined) throw new HybridCompressError('CHECKPOINT_INVALID', `tensor "${src.name}": dtype ${src.dtype} is not byte-sized and cannot be sliced`, { tensor: src.name });
  if (cols && src.shape.length !== 2) throw new Error(`tensor "${src.name}": column selection needs a matrix, shape is [${src.shape.join(', ')}]`);
  const nRows = src.shape.length === 0 ? 1 : src.shape[0]!;
  let inner = 1;
  for (let i = 1; i < src.shape.length; i++) inner *= src.shape[i]!;
  const inRow = inner * elem;
  const outRow = (cols ? cols.length : inner) * elem;
  const nOut = rows ? rows.length : nRows;
  if (nOut === 0 || outRow === 0) return 0;
  const perChunk = Math.max(1, Math.floor(bufs.chunkBytes / Math.max(inRow, 1)));
  bufs.ensure(2 * perChunk * inRow, perChunk * outRow, perChunk, cols ? cols.length : 0);
  const capacity = bufs.inputCapacity;
  if (cols) bufs.setColumns(cols, elem);
  const chunks: [number, number][] = [];
  for (let s = 0; s < nOut; s += perChunk) chunks.push([s, Math.min(nOut, s + perChunk)]);

  const reads: (Promise<ChunkReads> | undefined)[] = [undefined, undefined];
  const writes: (Promise<void> | undefined)[] = [undefined, undefined];
  const startRead = (k: number): Promise<ChunkReads> => {
    const [from, to] = chunks[k]!;
    const plan = planChunkReads(rows, from, to, inRow, capacity);
    const buf = bufs.input(k % 2);
    return Promise.all(plan.spans.map(([at, len, bo]) => readFully(src.fh, buf, bo, len, src.offset + at, src.name))).then(() => plan);
  };
  let written = 0;
  try {
    reads[0] = startRead(0);
    for (let k = 0; k < chunks.length; k++) {
      if (signal?.aborted) throw signal.reason ?? new HybridCompressError('CANCELLED', 'pruning cancelled');
      const slot = k % 2;
      const plan = await reads[slot]!;
      // Input slot k+1 is free once chunk k−1's write (which may have used it directly) has finished.
      await writes[1 - slot];
      if (k + 1 < chunks.length) reads[1 - slot] = startRead(k + 1);
      const n = chunks[k]![1] - chunks[k]![0];
      let out: Uint8Array;
      if (cols) {
        await writes[slot];
        bufs.gather(slot, plan.rowOffsets, cols.length, elem);
        out = bufs.output(slot);
      } else if (plan.dense) out = bufs.input(slot);
      else {
        await writes[slot];
        const o = bufs.output(slot);
        const input = bufs.input(slot);
        for (let i = 0; i < n; i++) o.set(input.subarray(plan.rowOffsets[i]!, plan.rowOffsets[i]! + inRow), i * inRow);
        out = o;
      }
      writes[slot] = writeFully(dst.fh, out, n * outRow, dst.offset + written);
      written += n * outRow;
    }
    await Promise.all(writes);
  } catch (e) {
    // Let in-flight reads/writes settle before the caller closes the files.
    await Promise.allSettled([...reads, ...writes]);
    throw e;
  }
  return written;
}
