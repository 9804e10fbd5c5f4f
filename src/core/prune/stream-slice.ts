// Streaming row/column slicing of tensors' raw bytes, from a source file into an OutputStream, in
// bounded chunks: the values are never decoded, so every dtype is preserved bit for bit, and memory stays
// at two input chunks plus the stream's staging slots whatever the tensor size.
//
// Speed (bench/prune.ts): reads of scattered kept rows are merged across small gaps; chunks of all the
// tensors of a file form one pipeline — chunk k+1 (possibly of the next tensor) is being read while
// chunk k's columns are gathered straight into the output stream's staging slot, whose earlier slots are
// meanwhile written to the file; columns are gathered by a WebAssembly kernel working on buffers that
// live in its memory.

import type { FileHandle } from 'node:fs/promises';
import { HybridCompressError } from '../errors';
import { DTYPE_BYTES } from '../safetensors/dtype';
import { GatherMemory } from './gather-wasm';
import { DIRECT_ALIGN, OutputStream, type StagingArea } from './output-stream';

/** Output rows per chunk are sized so a chunk's source rows take about this many bytes. */
export const DEFAULT_CHUNK_BYTES = 2 << 20;
/** Staging slots of the output stream: one being filled while the others are written. */
const DEFAULT_SLOTS = 4;
const MAX_SLOT_BYTES = 1 << 20;
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

/** One tensor to slice: `rows` kept first-dimension indices (any order; null = all), `cols` kept last-dimension indices of a matrix (null = all). */
export interface SliceJob {
  src: SliceSource;
  rows: Int32Array | null;
  cols: Int32Array | null;
}

export interface SliceBufferOptions {
  /** Bytes per staging slot of the output stream (default: half a chunk, 4 KiB … 8 MiB). */
  slotBytes?: number;
  /** Number of staging slots (default 3, at least 2). */
  slots?: number;
}

const up = (n: number, a = 64) => Math.ceil(n / a) * a;

/**
 * Reusable scratch memory, all in one WebAssembly memory: the output stream's staging slots (first, at
 * fixed 4 KiB-aligned addresses), the gather kernel's row and column tables, two input slots (for the
 * pipeline) and one output row for rows that straddle two staging slots. Regions only grow.
 */
export class SliceBuffers {
  readonly staging: StagingArea;
  private readonly mem: GatherMemory;
  private layout = { rows: 0, cols: 0, input: 0, scratch: 0 };
  private at = { rowTable: 0, colTable: 0, in: [0, 0], scratch: 0 };
  private rowsSlot = -1;

  constructor(readonly chunkBytes = DEFAULT_CHUNK_BYTES, opts: SliceBufferOptions = {}) {
    const slotBytes = opts.slotBytes ?? Math.min(MAX_SLOT_BYTES, up(Math.ceil(chunkBytes / 2), DIRECT_ALIGN));
    const count = Math.max(2, opts.slots ?? DEFAULT_SLOTS);
    if (!(slotBytes >= 1)) throw new Error(`slotBytes must be ≥ 1, got ${slotBytes}`);
    const stagingEnd = up(slotBytes * count, DIRECT_ALIGN);
    this.mem = new GatherMemory(stagingEnd + 4 * chunkBytes + (1 << 20));
    this.staging = { mem: this.mem, base: 0, slotBytes, count };
    this.ensure(2 * chunkBytes, 1024, 1024, 0);
  }

  /** True when input slots of `inBytes`, `rows` row and `cols` column entries and a `scratch`-byte row already fit. */
  fits(inBytes: number, rows: number, cols: number, scratch: number): boolean {
    const l = this.layout;
    return inBytes <= l.input && rows <= l.rows && cols <= l.cols && scratch <= l.scratch;
  }

  /** Makes room (see `fits`). Moves the input slots and tables: nothing may be reading into them. */
  ensure(inBytes: number, rows: number, cols: number, scratch: number): void {
    if (this.fits(inBytes, rows, cols, scratch)) return;
    const l = this.layout;
    this.layout = { rows: Math.max(rows, l.rows), cols: Math.max(cols, l.cols), input: up(Math.max(inBytes, l.input)), scratch: up(Math.max(scratch, l.scratch)) };
    const { rows: r, cols: c, input, scratch: sc } = this.layout;
    const rowTable = up(this.staging.slotBytes * this.staging.count, DIRECT_ALIGN);
    const colTable = rowTable + up(4 * r);
    const in0 = colTable + up(4 * c);
    this.at = { rowTable, colTable, in: [in0, in0 + input], scratch: in0 + 2 * input };
    this.rowsSlot = -1;
    this.mem.reserve(in0 + 2 * input + sc);
  }

  get inputCapacity(): number {
    return this.layout.input;
  }

  input(slot: number): Uint8Array {
    return this.mem.bytes(this.at.in[slot]!, this.layout.input);
  }

  /** Address of input `slot` in the memory. */
  inputAddress(slot: number): number {
    return this.at.in[slot]!;
  }

  /** Address of the one-row scratch area. */
  get scratch(): number {
    return this.at.scratch;
  }

  /** Stores the kept columns (as byte offsets within a row) for the following gathers. */
  setColumns(cols: Int32Array, elemBytes: number): void {
    const t = this.mem.u32(this.at.colTable, cols.length);
    for (let j = 0; j < cols.length; j++) t[j] = cols[j]! * elemBytes;
  }

  /** Stores the addresses of the rows at `rowOffsets` of input `slot` for the following `gatherRows`. */
  setRows(slot: number, rowOffsets: Float64Array): void {
    const t = this.mem.u32(this.at.rowTable, rowOffsets.length);
    const base = this.at.in[slot]!;
    for (let i = 0; i < rowOffsets.length; i++) t[i] = base + rowOffsets[i]!;
    this.rowsSlot = slot;
  }

  /** Gathers the columns set by setColumns from rows `from..from+count` set by setRows, packed at address `dst`. */
  gatherRows(from: number, count: number, nCols: number, elemBytes: number, dst: number): void {
    if (this.rowsSlot < 0) throw new Error('gatherRows before setRows');
    this.mem.gather(elemBytes, this.at.rowTable + 4 * from, count, this.at.colTable, nCols, dst);
  }

  /** Gathers the columns set by setColumns from the rows at `rowOffsets` of input `slot`, packed at address `dst`. */
  gather(slot: number, rowOffsets: Float64Array, nCols: number, elemBytes: number, dst: number): void {
    this.setRows(slot, rowOffsets);
    this.gatherRows(0, rowOffsets.length, nCols, elemBytes, dst);
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

interface Geometry {
  elem: number;
  inRow: number;
  outRow: number;
  nOut: number;
  perChunk: number;
}

function geometry(job: SliceJob, chunkBytes: number): Geometry {
  const { src, cols } = job;
  const elem = DTYPE_BYTES[src.dtype];
  if (elem === undefined) throw new HybridCompressError('CHECKPOINT_INVALID', `tensor "${src.name}": dtype ${src.dtype} is not byte-sized and cannot be sliced`, { tensor: src.name });
  if (cols && src.shape.length !== 2) throw new Error(`tensor "${src.name}": column selection needs a matrix, shape is [${src.shape.join(', ')}]`);
  const nRows = src.shape.length === 0 ? 1 : src.shape[0]!;
  let inner = 1;
  for (let i = 1; i < src.shape.length; i++) inner *= src.shape[i]!;
  const inRow = inner * elem;
  const outRow = (cols ? cols.length : inner) * elem;
  const nOut = outRow === 0 ? 0 : job.rows ? job.rows.length : nRows;
  return { elem, inRow, outRow, nOut, perChunk: Math.max(1, Math.floor(chunkBytes / Math.max(inRow, 1))) };
}

/**
 * Appends the selected rows/columns of every job, in order, to `out`. Returns the bytes produced per job;
 * `onTensor(i, bytes)` is called as job i's last byte is handed to the stream.
 */
export async function sliceTensors(jobs: readonly SliceJob[], out: OutputStream, bufs: SliceBuffers, opts: { signal?: AbortSignal; onTensor?: (index: number, bytes: number) => void } = {}): Promise<number[]> {
  const geo = jobs.map((j) => geometry(j, bufs.chunkBytes));
  const need = { input: 0, rows: 0, cols: 0, scratch: 0 };
  const chunks: { job: number; from: number; to: number; last: boolean }[] = [];
  for (const [j, g] of geo.entries()) {
    need.input = Math.max(need.input, 2 * Math.min(g.perChunk, g.nOut) * g.inRow);
    need.rows = Math.max(need.rows, Math.min(g.perChunk, g.nOut));
    need.cols = Math.max(need.cols, jobs[j]!.cols?.length ?? 0);
    need.scratch = Math.max(need.scratch, g.outRow);
    for (let s = 0; s < g.nOut; s += g.perChunk) chunks.push({ job: j, from: s, to: Math.min(g.nOut, s + g.perChunk), last: s + g.perChunk >= g.nOut });
  }
  if (!bufs.fits(need.input, need.rows, need.cols, need.scratch)) {
    // The stream's slots do not move, but wait for its writes anyway before the memory is reorganised.
    await out.drain();
    bufs.ensure(need.input, need.rows, need.cols, need.scratch);
  }
  const capacity = bufs.inputCapacity;
  const produced = jobs.map(() => 0);
  let reported = 0;
  const report = (upTo: number) => {
    // Jobs with nothing to write (and those before the next chunk's job) are complete.
    for (; reported < upTo; reported++) opts.onTensor?.(reported, produced[reported]!);
  };

  const reads: (Promise<ChunkReads> | undefined)[] = [undefined, undefined];
  const startRead = (k: number): Promise<ChunkReads> => {
    const c = chunks[k]!;
    const { src, rows } = jobs[c.job]!;
    const plan = planChunkReads(rows, c.from, c.to, geo[c.job]!.inRow, capacity);
    const buf = bufs.input(k % 2);
    return Promise.all(plan.spans.map(([at, len, bo]) => readFully(src.fh, buf, bo, len, src.offset + at, src.name))).then(() => plan);
  };
  try {
    if (chunks.length > 0) reads[0] = startRead(0);
    for (let k = 0; k < chunks.length; k++) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new HybridCompressError('CANCELLED', 'pruning cancelled');
      const c = chunks[k]!;
      const slot = k % 2;
      const plan = await reads[slot]!;
      // The other input slot was consumed (synchronously) by chunk k−1: read chunk k+1 into it now.
      if (k + 1 < chunks.length) reads[1 - slot] = startRead(k + 1);
      report(c.job);
      const job = jobs[c.job]!;
      const g = geo[c.job]!;
      const n = c.to - c.from;
      if (job.cols) {
        if (c.from === 0) bufs.setColumns(job.cols, g.elem);
        await emitGathered(bufs, slot, plan.rowOffsets, n, job.cols.length, g, out);
      } else {
        await emitRows(bufs.inputAddress(slot), plan.rowOffsets, n, g.inRow, out);
      }
      produced[c.job]! += n * g.outRow;
      if (c.last) report(c.job + 1);
    }
    report(jobs.length);
  } catch (e) {
    // Let in-flight reads settle before the caller closes the files.
    await Promise.allSettled(reads);
    throw e;
  }
  return produced;
}

/** Gathers the kept columns of `n` rows into the stream: straight into its slot, a straddling row through the scratch row. */
async function emitGathered(bufs: SliceBuffers, slot: number, rowOffsets: Float64Array, n: number, nCols: number, g: Geometry, out: OutputStream): Promise<void> {
  bufs.setRows(slot, rowOffsets);
  let i = 0;
  while (i < n) {
    const fit = Math.floor(out.avail / g.outRow);
    if (fit > 0) {
      const m = Math.min(fit, n - i);
      bufs.gatherRows(i, m, nCols, g.elem, out.ptr);
      i += m;
      await out.commit(m * g.outRow);
    } else {
      bufs.gatherRows(i, 1, nCols, g.elem, bufs.scratch);
      i += 1;
      await out.copyFrom(bufs.scratch, g.outRow);
    }
  }
}

/** Copies whole rows into the stream, one copy per run of rows that lie back to back in the input. */
async function emitRows(base: number, rowOffsets: Float64Array, n: number, rowBytes: number, out: OutputStream): Promise<void> {
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && rowOffsets[j] === rowOffsets[j - 1]! + rowBytes) j++;
    await out.copyFrom(base + rowOffsets[i]!, (j - i) * rowBytes);
    i = j;
  }
}

/**
 * Writes the selected rows/columns of `src` into `dst` — an open file at an offset (written buffered), or
 * an output stream. Returns the bytes written. `rows`: kept first-dimension indices (any order; null =
 * all); `cols`: kept last-dimension indices of a 2-D tensor (null = all).
 */
export async function sliceTensorBytes(src: SliceSource, rows: Int32Array | null, cols: Int32Array | null, dst: SliceTarget | OutputStream, bufs: SliceBuffers, signal?: AbortSignal): Promise<number> {
  if (dst instanceof OutputStream) return (await sliceTensors([{ src, rows, cols }], dst, bufs, { signal }))[0]!;
  const out = OutputStream.over(dst.fh, dst.offset, bufs.staging);
  try {
    const [n] = await sliceTensors([{ src, rows, cols }], out, bufs, { signal });
    await out.finish();
    return n!;
  } catch (e) {
    await out.settle();
    throw e;
  }
}
