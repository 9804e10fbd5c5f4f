// Streaming row/column slicing of one tensor's raw bytes, from a source file position to an output file
// position, in bounded chunks: the values are never decoded, so every dtype is preserved bit for bit, and
// memory stays at two chunk buffers whatever the tensor size.

import type { FileHandle } from 'node:fs/promises';
import { HybridCompressError } from '../errors';
import { DTYPE_BYTES } from '../safetensors/dtype';

/** Source bytes per chunk (the output chunk is at most as large). */
export const DEFAULT_CHUNK_BYTES = 32 << 20;

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

/** Reusable scratch buffers (one pair per writer, so a whole run allocates them once). */
export class SliceBuffers {
  input: Uint8Array;
  output: Uint8Array;
  constructor(readonly chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.input = new Uint8Array(chunkBytes);
    this.output = new Uint8Array(chunkBytes);
  }
  ensure(inBytes: number, outBytes: number): void {
    if (this.input.byteLength < inBytes) this.input = new Uint8Array(inBytes);
    if (this.output.byteLength < outBytes) this.output = new Uint8Array(outBytes);
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

/** Typed view of `buf` with elements of `size` bytes (8-byte elements as pairs of 32-bit words). */
function view(buf: Uint8Array, size: number): Uint8Array | Uint16Array | Uint32Array {
  if (size === 1) return buf;
  if (size === 2) return new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength >> 1);
  return new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
}

/**
 * Copies the kept columns of `rows` consecutive rows: `src` rows have `inner` elements, `dst` rows have
 * `cols.length`. Contiguous column runs are block-copied; scattered columns go element by element.
 */
export function gatherColumns(src: Uint8Array, dst: Uint8Array, rows: number, inner: number, cols: Int32Array, elemBytes: number, runs?: [number, number][]): void {
  // 8-byte elements are copied as two 32-bit words: scale the indices instead of widening the loop.
  const words = elemBytes === 8 ? 2 : 1;
  const unit = elemBytes === 8 ? 4 : elemBytes;
  const s = view(src, unit);
  const d = view(dst, unit);
  const nc = cols.length;
  const rs = runs ?? indexRuns(cols);
  if (rs.length * 16 <= nc) {
    for (let r = 0; r < rows; r++) {
      const sb = r * inner * words;
      let db = r * nc * words;
      for (const [start, len] of rs) {
        d.set(s.subarray(sb + start * words, sb + (start + len) * words), db);
        db += len * words;
      }
    }
    return;
  }
  if (words === 1) {
    for (let r = 0; r < rows; r++) {
      const sb = r * inner;
      const db = r * nc;
      for (let j = 0; j < nc; j++) d[db + j] = s[sb + cols[j]!]!;
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const sb = r * inner * 2;
      const db = r * nc * 2;
      for (let j = 0; j < nc; j++) {
        const c = sb + cols[j]! * 2;
        d[db + 2 * j] = s[c]!;
        d[db + 2 * j + 1] = s[c + 1]!;
      }
    }
  }
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
  const outInner = cols ? cols.length : inner;
  const outRow = outInner * elem;
  const nOut = rows ? rows.length : nRows;
  if (nOut === 0 || outRow === 0) return 0;
  const perChunk = Math.max(1, Math.floor(bufs.chunkBytes / Math.max(inRow, 1)));
  bufs.ensure(perChunk * inRow, perChunk * outRow);
  const colRuns = cols ? indexRuns(cols) : undefined;
  let written = 0;
  for (let start = 0; start < nOut; start += perChunk) {
    if (signal?.aborted) throw signal.reason ?? new HybridCompressError('CANCELLED', 'pruning cancelled');
    const n = Math.min(perChunk, nOut - start);
    if (!rows) await readFully(src.fh, bufs.input, 0, n * inRow, src.offset + start * inRow, src.name);
    else {
      let at = 0;
      for (const [r0, len] of indexRuns(rows, start, start + n)) {
        await readFully(src.fh, bufs.input, at * inRow, len * inRow, src.offset + r0 * inRow, src.name);
        at += len;
      }
    }
    let out = bufs.input;
    if (cols) {
      gatherColumns(bufs.input, bufs.output, n, inner, cols, elem, colRuns);
      out = bufs.output;
    }
    await writeFully(dst.fh, out, n * outRow, dst.offset + written);
    written += n * outRow;
  }
  return written;
}
