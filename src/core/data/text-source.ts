// .txt and .jsonl: one record per line ('\n', optional '\r' before it). Reads in 1 MiB chunks; a line
// index (the start offset of every line, 8 bytes per line) is built only when random access or a count
// is asked for.

import { open, type FileHandle } from 'node:fs/promises';
import { parseJsonlLine, parseTextLine, type RecordFields } from './records';
import type { RecordSource, SourcePosition, SourceRecord } from './source';

const CHUNK = 1 << 20;
/** fetch: lines at most this far apart share one read, up to MAX_SPAN bytes per read. */
const MAX_GAP = 1 << 16;
const MAX_SPAN = 1 << 22;
const NL = 0x0a;
const CR = 0x0d;

export class TextSource implements RecordSource {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private starts: Float64Array | undefined;
  private lines = 0;
  private endsWithNewline = false;

  private constructor(
    readonly path: string,
    readonly format: 'txt' | 'jsonl',
    private readonly fh: FileHandle,
    private readonly size: number,
    private readonly fields: RecordFields,
  ) {}

  static async open(path: string, format: 'txt' | 'jsonl', fields: RecordFields): Promise<TextSource> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      return new TextSource(path, format, fh, st.size, fields);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  private parse(index: number, bytes: Uint8Array, byte: number, nextByte: number): SourceRecord {
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end--;
    let line: string;
    try {
      line = this.decoder.decode(bytes.subarray(0, end));
    } catch {
      return { index, kind: 'bad', reason: 'invalid-utf8', detail: 'line is not valid UTF-8', byte, nextByte };
    }
    const rec = this.format === 'jsonl' ? parseJsonlLine(index, line, this.fields) : parseTextLine(index, line);
    return Object.assign(rec, { byte, nextByte });
  }

  async *read(from: SourcePosition = { index: 0 }): AsyncGenerator<SourceRecord> {
    let index = from.index;
    let pos = from.byte;
    if (pos === undefined) {
      if (index === 0) pos = 0;
      else {
        await this.buildIndex();
        if (index >= this.lines) return;
        pos = this.starts![index]!;
      }
    }
    const buf = Buffer.allocUnsafe(CHUNK);
    let pending: Buffer[] = []; // pieces of a line that spans chunks
    let lineStart = pos;
    while (pos < this.size) {
      const { bytesRead } = await this.fh.read(buf, 0, Math.min(CHUNK, this.size - pos), pos);
      if (bytesRead === 0) break;
      const chunkStart = pos;
      pos += bytesRead;
      let s = 0;
      for (;;) {
        const nl = buf.indexOf(NL, s);
        if (nl < 0 || nl >= bytesRead) break;
        let bytes: Uint8Array = buf.subarray(s, nl);
        if (pending.length) {
          pending.push(buf.subarray(s, nl));
          bytes = Buffer.concat(pending);
          pending = [];
        }
        const next = chunkStart + nl + 1;
        yield this.parse(index++, bytes, lineStart, next);
        lineStart = next;
        s = nl + 1;
      }
      if (s < bytesRead) pending.push(Buffer.from(buf.subarray(s, bytesRead)));
    }
    if (pending.length) {
      const bytes = Buffer.concat(pending);
      if (bytes.length) yield this.parse(index, bytes, lineStart, this.size);
    }
  }

  private async buildIndex(): Promise<void> {
    if (this.starts) return;
    let starts = new Float64Array(1024);
    let n = 0;
    const push = (v: number) => {
      if (n === starts.length) {
        const grown = new Float64Array(starts.length * 2);
        grown.set(starts);
        starts = grown;
      }
      starts[n++] = v;
    };
    if (this.size > 0) push(0);
    const buf = Buffer.allocUnsafe(CHUNK);
    let last = -1;
    for (let pos = 0; pos < this.size; ) {
      const { bytesRead } = await this.fh.read(buf, 0, Math.min(CHUNK, this.size - pos), pos);
      if (bytesRead === 0) break;
      for (let i = buf.indexOf(NL, 0); i >= 0 && i < bytesRead; i = buf.indexOf(NL, i + 1)) {
        if (pos + i + 1 < this.size) push(pos + i + 1);
      }
      last = buf[bytesRead - 1]!;
      pos += bytesRead;
    }
    this.endsWithNewline = last === NL;
    this.starts = starts.subarray(0, n);
    this.lines = n;
  }

  async count(): Promise<number> {
    await this.buildIndex();
    return this.lines;
  }

  async fetch(indices: ArrayLike<number>): Promise<SourceRecord[]> {
    await this.buildIndex();
    const starts = this.starts!;
    const order = Array.from(indices, (idx, k) => [idx, k] as const).sort((a, b) => a[0] - b[0]);
    const out = new Array<SourceRecord>(indices.length);
    // Lines close together are read with one call (each read is a thread-pool round trip).
    for (let i = 0; i < order.length; ) {
      let j = i;
      const from = this.lineStart(order[i]![0]);
      while (j + 1 < order.length && starts[order[j + 1]![0]]! - this.lineNext(order[j]![0]) <= MAX_GAP && this.lineNext(order[j + 1]![0]) - from <= MAX_SPAN) j++;
      const to = this.lineNext(order[j]![0]);
      const span = Buffer.allocUnsafe(to - from);
      for (let got = 0; got < span.length; ) {
        const { bytesRead } = await this.fh.read(span, got, span.length - got, from + got);
        if (bytesRead === 0) throw new Error(`${this.path}: file shrank while reading`);
        got += bytesRead;
      }
      for (; i <= j; i++) {
        const [idx, k] = order[i]!;
        const start = starts[idx]!;
        const next = this.lineNext(idx);
        const end = idx + 1 < this.lines || this.endsWithNewline ? next - 1 : next;
        out[k] = this.parse(idx, span.subarray(start - from, end - from), start, next);
      }
    }
    return out;
  }

  private lineStart(idx: number): number {
    if (!(idx >= 0 && idx < this.lines)) throw new RangeError(`${this.path}: record ${idx} out of range [0, ${this.lines})`);
    return this.starts![idx]!;
  }

  /** Offset just past line `idx` (its newline included). */
  private lineNext(idx: number): number {
    return idx + 1 < this.lines ? this.starts![idx + 1]! : this.size;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
