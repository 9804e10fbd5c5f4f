// Sequential writer of one output file through a few fixed staging slots in the slicer's WebAssembly
// memory. The slicer gathers straight into the current slot; a full slot is written to the file in the
// background while the next one fills, so disk writes overlap reading and slicing.
//
// Direct I/O (bench/prune.ts): on Linux a file the stream creates is opened with O_DIRECT where the
// filesystem allows it, so slots go to the disk without a page-cache copy (the kernel copy into fresh
// page-cache pages cost more than all the slicing), the disk works while the slicer does, and the final
// fdatasync has only metadata left to commit. O_DIRECT needs aligned addresses, lengths and offsets:
// slots are 4 KiB-aligned multiples of 4 KiB, the last partial slot is zero-padded and the file is
// truncated back to its size. Where O_DIRECT is refused (open or first write: EINVAL), the stream
// falls back to ordinary buffered writes.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { HybridCompressError } from '../errors';
import type { GatherMemory } from './gather-wasm';

/** Alignment of direct I/O (addresses, lengths, file offsets); a multiple of every logical block size in use. */
export const DIRECT_ALIGN = 4096;

/** Where the slots live: `count` slots of `slotBytes` from address `base` of `mem`. */
export interface StagingArea {
  mem: GatherMemory;
  base: number;
  slotBytes: number;
  count: number;
}

function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}

export class OutputStream {
  private slot = 0;
  private pos = 0;
  /** Bytes handed to the file so far (whole slots), relative to `start`. */
  private flushedBytes = 0;
  private readonly pending: (Promise<void> | undefined)[];
  private error: unknown;
  private switching: Promise<void> | undefined;

  private constructor(
    private fh: FileHandle,
    private readonly start: number,
    private readonly staging: StagingArea,
    private directIo: boolean,
    private readonly path: string | undefined,
  ) {
    this.pending = new Array<Promise<void> | undefined>(staging.count);
  }

  /**
   * Creates (or truncates) `path` and writes it from offset 0; `direct` (default true) asks for O_DIRECT,
   * used when the platform and filesystem support it and the staging slots are aligned.
   */
  static async create(path: string, staging: StagingArea, opts: { direct?: boolean } = {}): Promise<OutputStream> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
    const aligned = staging.base % DIRECT_ALIGN === 0 && staging.slotBytes % DIRECT_ALIGN === 0;
    if ((opts.direct ?? true) && aligned && constants.O_DIRECT) {
      try {
        return new OutputStream(await open(path, flags | constants.O_DIRECT, 0o644), 0, staging, true, path);
      } catch (e) {
        if (!isErrno(e, 'EINVAL')) throw e;
      }
    }
    return new OutputStream(await open(path, flags, 0o644), 0, staging, false, path);
  }

  /** Writes into an already open file from byte `offset` on, buffered (the caller owns and closes `fh`). */
  static over(fh: FileHandle, offset: number, staging: StagingArea): OutputStream {
    return new OutputStream(fh, offset, staging, false, undefined);
  }

  /** True while the file is written with O_DIRECT. */
  get direct(): boolean {
    return this.directIo;
  }

  /** Bytes produced so far. */
  get position(): number {
    return this.flushedBytes + this.pos;
  }

  /** Free bytes at the current position of the current slot (always ≥ 1). */
  get avail(): number {
    return this.staging.slotBytes - this.pos;
  }

  /** Memory address of the current position. */
  get ptr(): number {
    return this.staging.base + this.slot * this.staging.slotBytes + this.pos;
  }

  /** Marks `n` bytes (≤ avail) at `ptr` as written; a full slot goes to the file. */
  async commit(n: number): Promise<void> {
    this.pos += n;
    if (this.pos < this.staging.slotBytes) return;
    this.flushSlot(this.staging.slotBytes);
    this.slot = (this.slot + 1) % this.staging.count;
    this.pos = 0;
    await this.pending[this.slot];
    this.rethrow();
  }

  /** Appends `len` bytes from memory address `addr` of the staging memory (outside the slots). */
  async copyFrom(addr: number, len: number): Promise<void> {
    while (len > 0) {
      const n = Math.min(len, this.avail);
      this.staging.mem.copyWithin(this.ptr, addr, n);
      addr += n;
      len -= n;
      await this.commit(n);
    }
  }

  /** Appends bytes held outside the staging memory (headers). */
  async put(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) {
      const n = Math.min(bytes.byteLength - off, this.avail);
      this.staging.mem.bytes(this.ptr, n).set(bytes.subarray(off, off + n));
      off += n;
      await this.commit(n);
    }
  }

  /** Waits for every write handed to the file so far (before the staging memory may be reorganised). */
  async drain(): Promise<void> {
    await Promise.all(this.pending);
    this.rethrow();
  }

  /** Writes what is left, waits for every write and sets the file's exact size. Returns the bytes produced. */
  async finish(): Promise<number> {
    const total = this.position;
    let padded = false;
    if (this.pos > 0) {
      let len = this.pos;
      if (this.directIo) {
        // O_DIRECT writes whole blocks: pad with zeros, then cut the file back to its size.
        len = Math.ceil(len / DIRECT_ALIGN) * DIRECT_ALIGN;
        this.staging.mem.bytes(this.ptr, len - this.pos).fill(0);
        padded = len !== this.pos;
      }
      this.flushSlot(len);
      this.pos = 0;
    }
    await this.drain();
    if (this.switching) await this.switching;
    if (padded) await this.fh.truncate(this.start + total);
    return total;
  }

  /** Sets the file size (e.g. to leave trailing tensors as a hole). Call after `finish`. */
  truncate(size: number): Promise<void> {
    return this.fh.truncate(size);
  }

  datasync(): Promise<void> {
    return this.fh.datasync();
  }

  close(): Promise<void> {
    return this.fh.close();
  }

  /** Lets in-flight writes settle (errors ignored); for failure paths. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.pending);
    if (this.switching) await this.switching.catch(() => undefined);
  }

  /** `settle`, then closes the file; for failure paths. */
  async abort(): Promise<void> {
    await this.settle();
    await this.fh.close().catch(() => undefined);
  }

  private rethrow(): void {
    if (this.error !== undefined) throw this.error;
  }

  /** Starts writing `len` bytes of the current slot to its place in the file. */
  private flushSlot(len: number): void {
    const at = this.start + this.flushedBytes;
    const addr = this.staging.base + this.slot * this.staging.slotBytes;
    this.flushedBytes += this.staging.slotBytes;
    this.pending[this.slot] = this.writeFully(addr, len, at).catch((e: unknown) => {
      this.error ??= e;
    });
  }

  private async writeFully(addr: number, len: number, at: number): Promise<void> {
    let done = 0;
    while (done < len) {
      try {
        const fh = this.fh;
        const { bytesWritten } = await fh.write(this.staging.mem.bytes(addr + done, len - done), 0, len - done, at + done);
        done += bytesWritten;
      } catch (e) {
        if (this.directIo && this.path && isErrno(e, 'EINVAL')) {
          await this.fallBackToBuffered();
          continue;
        }
        if (isErrno(e, 'ENOSPC')) throw new HybridCompressError('IO_ERROR', `disk full while writing ${this.path ?? 'the pruned checkpoint'} (${len - done} bytes pending); nothing was renamed into place`, this.path ? { file: this.path } : {});
        throw e;
      }
    }
  }

  /** The filesystem refused an O_DIRECT write: reopen the file buffered and go on (once, shared by all writers). */
  private fallBackToBuffered(): Promise<void> {
    this.switching ??= (async () => {
      const old = this.fh;
      this.fh = await open(this.path!, constants.O_WRONLY, 0o644);
      this.directIo = false;
      // close() waits for the writes still pending on the old handle; those refused retry on the new one.
      await old.close();
    })();
    return this.switching;
  }
}
