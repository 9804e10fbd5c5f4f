// Incremental TFRecord deframer. Each record on disk is
//   u64 length (LE) | u32 masked CRC-32C of those 8 length bytes | payload | u32 masked CRC-32C of payload.
// Bytes are pushed as they arrive (a file being written); complete records come out, a partial
// record at the end stays buffered until more bytes arrive. A payload CRC mismatch skips that
// record; a length CRC mismatch means the framing is lost, so the reader slides forward byte by
// byte until a header whose CRC checks out (a false match has probability 2^-32 per position).

import { maskedCrc32c } from './crc32c';
import type { WarningSink } from './warnings';

const HEADER = 12;
const FOOTER = 4;
/** A header that claims more than this is treated as corrupt rather than waited for. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export interface TfRecordStats {
  records: number;
  recordCrcErrors: number;
  lengthCrcErrors: number;
  /** Bytes skipped while looking for a valid header after a length CRC mismatch. */
  skippedBytes: number;
}

export class TfRecordReader {
  private buf = new Uint8Array(0);
  /** Absolute offset (in the pushed stream) of buf[0], for warning messages. */
  private base = 0;
  private resyncing = false;
  readonly stats: TfRecordStats = { records: 0, recordCrcErrors: 0, lengthCrcErrors: 0, skippedBytes: 0 };

  constructor(
    private readonly onWarning: WarningSink = () => {},
    private readonly file?: string,
  ) {}

  /** Bytes held back because they do not yet form a complete record. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  /** Feeds the next bytes of the stream; returns the payloads of every record completed by them. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      if (this.buf.length === 0) this.buf = chunk.slice();
      else {
        const merged = new Uint8Array(this.buf.length + chunk.length);
        merged.set(this.buf, 0);
        merged.set(chunk, this.buf.length);
        this.buf = merged;
      }
    }
    const out: Uint8Array[] = [];
    const buf = this.buf;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = 0;
    while (buf.length - pos >= HEADER) {
      const lenLo = view.getUint32(pos, true);
      const lenHi = view.getUint32(pos + 4, true);
      const headerOk = view.getUint32(pos + 8, true) === maskedCrc32c(buf, pos, pos + 8);
      const length = lenHi * 2 ** 32 + lenLo;
      if (!headerOk || length > MAX_RECORD_BYTES) {
        if (!this.resyncing) {
          this.resyncing = true;
          this.stats.lengthCrcErrors++;
          this.onWarning({
            kind: 'length-crc',
            message: `corrupt record header at byte ${this.base + pos} (${headerOk ? `length ${length} too large` : 'length CRC mismatch'}); skipping to the next valid header`,
            file: this.file,
          });
        }
        this.stats.skippedBytes++;
        pos++;
        continue;
      }
      if (buf.length - pos < HEADER + length + FOOTER) break; // partial record: wait for more
      this.resyncing = false;
      const start = pos + HEADER;
      const end = start + length;
      if (view.getUint32(end, true) !== maskedCrc32c(buf, start, end)) {
        this.stats.recordCrcErrors++;
        this.onWarning({ kind: 'record-crc', message: `payload CRC mismatch in the ${length}-byte record at byte ${this.base + pos}; record skipped`, file: this.file });
      } else {
        out.push(buf.slice(start, end));
        this.stats.records++;
      }
      pos = end + FOOTER;
    }
    this.buf = pos === 0 ? buf : buf.slice(pos);
    this.base += pos;
    return out;
  }
}
