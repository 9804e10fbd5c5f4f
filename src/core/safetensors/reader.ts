// Lazy safetensors reader: opening reads only the header; tensor data is read by offset,
// whole or by row ranges, never the whole file.

import { open, type FileHandle } from 'node:fs/promises';
import { readSync, closeSync, type Stats } from 'node:fs';
import { openRegularFile } from '../util/regular-file';
import { HybridCompressError, SafetensorsError } from '../errors';
import { checkHeaderLength, parseHeader, type SafetensorsHeader, type TensorInfo } from './header';
import { DTYPE_BYTES, FLOAT_DTYPES, decodeToFloat32 } from './dtype';

const PASS_THROUGH = new Set(['I64', 'I32', 'U8', 'BOOL']);

export class SafetensorsFile {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  private handle: Promise<FileHandle> | undefined;

  private constructor(
    readonly path: string,
    readonly header: SafetensorsHeader,
    readonly fileSize: number,
  ) {
    this.tensors = new Map(header.tensors.map((t) => [t.name, t]));
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }
  get headerLength(): number {
    return this.header.headerLength;
  }
  get dataStart(): number {
    return this.header.dataStart;
  }
  /** Tensor names in data order. */
  get names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  /** Reads and validates the header only (synchronously: a header is small and bounded). */
  static open(path: string): SafetensorsFile {
    // Regular files only: a FIFO would block open() forever, a folder fails later with a raw EISDIR.
    let fd: number;
    let st: Stats;
    try {
      ({ fd, stats: st } = openRegularFile(path, 'safetensors file'));
    } catch (e) {
      if (e instanceof HybridCompressError && e.code === 'IO_ERROR' && /not a regular file/.test(e.message)) throw new SafetensorsError(path, 'not-a-file', `${e.message.replace(`${path}: `, '')} (expected a .safetensors file)`);
      throw e;
    }
    try {
      const size = st.size;
      const prefix = new Uint8Array(8);
      const got = size >= 8 ? readSyncAll(path, fd, prefix, 0) : 0;
      // The length is checked against the file size before anything of that size is allocated.
      const len = checkHeaderLength(path, prefix.subarray(0, got), size);
      const headerBytes = new Uint8Array(len);
      if (readSyncAll(path, fd, headerBytes, 8) < len) throw new SafetensorsError(path, 'header-length-exceeds-file', 'file ended inside the header');
      return new SafetensorsFile(path, parseHeader(path, headerBytes, size), size);
    } finally {
      closeSync(fd);
    }
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new HybridCompressError('CHECKPOINT_INVALID', `${this.path}: no tensor named "${name}"`, { file: this.path, tensor: name });
    return t;
  }

  private fh(): Promise<FileHandle> {
    // One handle per file, also when reads start concurrently (a second open() would leak).
    this.handle ??= open(this.path, 'r');
    return this.handle;
  }

  /** Raw bytes of a tensor, or of the byte range [start, end) inside it. */
  async readBytes(name: string, start = 0, end?: number): Promise<Uint8Array> {
    const t = this.info(name);
    const stop = end ?? t.byteLength;
    if (start < 0 || stop > t.byteLength || start > stop) {
      throw new RangeError(`${this.path}: byte range [${start}, ${stop}) outside tensor "${name}" of ${t.byteLength} bytes`);
    }
    return this.readInto(name, new Uint8Array(stop - start), start);
  }

  private async readInto(name: string, out: Uint8Array, start: number): Promise<Uint8Array> {
    const t = this.info(name);
    const fh = await this.fh();
    let off = 0;
    while (off < out.byteLength) {
      const { bytesRead } = await fh.read(out, off, out.byteLength - off, t.fileOffset + start + off);
      if (bytesRead === 0) throw new SafetensorsError(this.path, 'buffer-eof', 'file was truncated while reading', name);
      off += bytesRead;
    }
    return out;
  }

  /** Info of a tensor that must have a float dtype (F32, F16, BF16, F64), else a typed error naming it. */
  private floatInfo(name: string): TensorInfo {
    const t = this.info(name);
    if (!FLOAT_DTYPES.has(t.dtype)) {
      throw new HybridCompressError('CHECKPOINT_INVALID', `${this.path}: tensor "${name}" has dtype ${t.dtype}, which cannot be read as float32 (valid: F32, F16, BF16, F64)`, {
        file: this.path,
        tensor: name,
      });
    }
    return t;
  }

  /**
   * The whole tensor as float32 (F32, F16, BF16 and F64 are decoded), in a new array or in `into` (exactly
   * its element count): F32 is then read straight into it, the others through one temporary of the raw bytes.
   */
  async readFloat32(name: string, into?: Float32Array): Promise<Float32Array> {
    const t = this.floatInfo(name);
    if (into && into.length !== t.shape.reduce((a, b) => a * b, 1)) {
      throw new RangeError(`${this.path}: tensor "${name}" [${t.shape.join(', ')}] does not fit a destination of ${into.length} values`);
    }
    if (into && t.dtype === 'F32') {
      await this.readInto(name, new Uint8Array(into.buffer, into.byteOffset, into.byteLength), 0);
      return into;
    }
    return decodeToFloat32(t.dtype, await this.readBytes(name), into);
  }

  /** Rows [rowStart, rowStart+rowCount) of the first dimension, as float32. */
  async readRowsFloat32(name: string, rowStart: number, rowCount: number): Promise<Float32Array> {
    const t = this.floatInfo(name);
    const rowBytes = rowByteLength(t);
    return decodeToFloat32(t.dtype, await this.readBytes(name, rowStart * rowBytes, (rowStart + rowCount) * rowBytes));
  }

  /** Integer and boolean tensors, passed through as typed arrays (copied, so alignment never matters). */
  async readTyped(name: string): Promise<BigInt64Array | Int32Array | Uint8Array | Float32Array> {
    const t = PASS_THROUGH.has(this.info(name).dtype) ? this.info(name) : this.floatInfo(name);
    const bytes = await this.readBytes(name);
    switch (t.dtype) {
      case 'I64':
        return new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
      case 'I32':
        return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      case 'U8':
      case 'BOOL':
        return bytes;
      default:
        return decodeToFloat32(t.dtype, bytes);
    }
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) await (await h.catch(() => undefined))?.close();
  }
}

/** Fills `buf` from `position` (short reads looped); returns the bytes read, fewer only at EOF. */
function readSyncAll(path: string, fd: number, buf: Uint8Array, position: number): number {
  let off = 0;
  try {
    while (off < buf.byteLength) {
      const r = readSync(fd, buf, off, buf.byteLength - off, position + off);
      if (r === 0) break;
      off += r;
    }
  } catch (e) {
    throw new HybridCompressError('IO_ERROR', `${path}: read failed (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file: path });
  }
  return off;
}

export function rowByteLength(t: TensorInfo): number {
  const size = DTYPE_BYTES[t.dtype];
  if (size === undefined) throw new Error(`tensor "${t.name}": row access needs a byte-sized dtype, got ${t.dtype}`);
  let n = size;
  for (let i = 1; i < t.shape.length; i++) n *= t.shape[i]!;
  return n;
}
