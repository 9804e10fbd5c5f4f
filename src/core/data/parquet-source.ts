// .parquet via hyparquet: one row = one record, from a "text" (string) or "input_ids" (list of ints)
// column. Only the footer is read at open; rows are decoded block by block: 4096-row slices of a row
// group when the column has an offset index (page-level reads), else whole row groups (the smallest
// unit hyparquet can then decode without re-reading).

import { open, type FileHandle } from 'node:fs/promises';
import { parquetMetadataAsync, parquetScan, parquetSchema, type AsyncBuffer, type FileMetaData, type ParquetScan } from 'hyparquet';
import { HybridCompressError } from '../errors';
import { recordFromFields, type RecordFields } from './records';
import type { RecordSource, SourcePosition, SourceRecord } from './source';

const BLOCK_ROWS = 4096;
/** Decoded blocks kept for random access (shuffled order), bounded by their total text length. */
const CACHE_CHARS = 32 << 20;

interface Block {
  start: number;
  end: number;
}

function fileBuffer(fh: FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end: number = size): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(Math.max(0, end - start));
      for (let got = 0; got < bytes.length; ) {
        const { bytesRead } = await fh.read(bytes, got, bytes.length - got, start + got);
        if (bytesRead === 0) throw new Error('unexpected end of file');
        got += bytesRead;
      }
      return bytes.buffer;
    },
  };
}

export class ParquetSource implements RecordSource {
  readonly format = 'parquet' as const;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly scan: ParquetScan,
    private readonly column: string,
    private readonly blocks: Block[],
    private readonly rows: number,
    private readonly fields: RecordFields,
  ) {}

  static async open(path: string, fields: RecordFields): Promise<ParquetSource> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      const file = fileBuffer(fh, st.size);
      let metadata: FileMetaData;
      try {
        metadata = await parquetMetadataAsync(file);
      } catch (e) {
        throw new HybridCompressError('DATA_INVALID', `${path}: not a readable parquet file (${(e as Error).message})`, { file: path });
      }
      const names = parquetSchema(metadata).children.map((c) => c.element.name);
      const isIds = names.includes(fields.idsField);
      const column = isIds ? fields.idsField : fields.textField;
      if (!names.includes(column)) {
        throw new HybridCompressError(
          'DATA_INVALID',
          `${path}: no "${fields.textField}" column (or pre-tokenized "${fields.idsField}"); columns are: ${names.join(', ') || '(none)'}`,
          { file: path, option: 'text-field' },
        );
      }
      const blocks: Block[] = [];
      let start = 0;
      for (const g of metadata.row_groups) {
        const n = Number(g.num_rows);
        const chunk = g.columns.find((c) => c.meta_data?.path_in_schema[0] === column);
        const step = chunk?.offset_index_offset !== undefined ? BLOCK_ROWS : Math.max(1, n);
        for (let s = 0; s < n; s += step) blocks.push({ start: start + s, end: start + Math.min(n, s + step) });
        start += n;
      }
      const scan = await parquetScan({ file, metadata, columns: [column] });
      return new ParquetSource(path, fh, scan, column, blocks, Number(metadata.num_rows), fields);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  private readonly cache = new Map<number, { values: ArrayLike<unknown>; size: number }>();
  private cached = 0;

  /** A block for random access, through a small LRU cache (sequential reads bypass it). */
  private async cachedBlock(bi: number): Promise<ArrayLike<unknown>> {
    const hit = this.cache.get(bi);
    if (hit) {
      this.cache.delete(bi);
      this.cache.set(bi, hit);
      return hit.values;
    }
    const values = await this.readBlock(this.blocks[bi]!);
    let size = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      size += typeof v === 'string' ? v.length : v && typeof v === 'object' && 'length' in v ? (v as ArrayLike<unknown>).length : 1;
    }
    this.cache.set(bi, { values, size });
    this.cached += size;
    for (const [k, e] of this.cache) {
      if (this.cached <= CACHE_CHARS || k === bi) break;
      this.cache.delete(k);
      this.cached -= e.size;
    }
    return values;
  }

  private async readBlock(b: Block): Promise<ArrayLike<unknown>> {
    try {
      return (await this.scan.readColumn({ column: this.column, rowStart: b.start, rowEnd: b.end })) as ArrayLike<unknown>;
    } catch (e) {
      throw new HybridCompressError('DATA_INVALID', `${this.path}: cannot decode rows ${b.start}..${b.end - 1} (${(e as Error).message})`, {
        file: this.path,
      });
    }
  }

  private record(index: number, value: unknown): SourceRecord {
    return recordFromFields(index, () => value, (f) => f === this.column, this.fields);
  }

  private blockOf(index: number): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.blocks[mid]!.start <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  async *read(from: SourcePosition = { index: 0 }): AsyncGenerator<SourceRecord> {
    if (from.index >= this.rows) return;
    for (let bi = this.blockOf(from.index); bi < this.blocks.length; bi++) {
      const b = this.blocks[bi]!;
      const values = await this.readBlock(b);
      for (let i = Math.max(b.start, from.index); i < b.end; i++) yield this.record(i, values[i - b.start]);
    }
  }

  async count(): Promise<number> {
    return this.rows;
  }

  async fetch(indices: ArrayLike<number>): Promise<SourceRecord[]> {
    const order = Array.from(indices, (idx, k) => [idx, k] as const).sort((a, b) => a[0] - b[0]);
    const out = new Array<SourceRecord>(indices.length);
    let cur = -1;
    let values: ArrayLike<unknown> = [];
    for (const [idx, k] of order) {
      if (!(idx >= 0 && idx < this.rows)) throw new RangeError(`${this.path}: record ${idx} out of range [0, ${this.rows})`);
      const bi = this.blockOf(idx);
      if (bi !== cur) {
        values = await this.cachedBlock(bi);
        cur = bi;
      }
      out[k] = this.record(idx, values[idx - this.blocks[bi]!.start]);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
