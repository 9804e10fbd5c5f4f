// A data file seen as a list of records: streamed in file order from any record, counted, or fetched
// at arbitrary indices (for shuffled order). Implementations never hold the whole file in memory.

import { HybridCompressError } from '../errors';
import { dataFormatOf, type DataFormat, type Located, type RawRecord, type RecordFields } from './records';

export type SourceRecord = RawRecord & Located;

export interface SourcePosition {
  /** 0-based record index. */
  index: number;
  /** Byte offset of that record when known (text formats), to resume without rescanning. */
  byte?: number;
}

export interface RecordSource {
  readonly path: string;
  readonly format: DataFormat;
  /** Records in file order, starting at `from`. */
  read(from?: SourcePosition): AsyncGenerator<SourceRecord>;
  /** Number of records (lines, or parquet rows). Text formats scan the file once (then cached). */
  count(): Promise<number>;
  /** The records at `indices` (each < count()), in the order given. */
  fetch(indices: ArrayLike<number>): Promise<SourceRecord[]>;
  close(): Promise<void>;
}

export async function openRecordSource(path: string, fields: Partial<RecordFields> = {}): Promise<RecordSource> {
  const format = dataFormatOf(path);
  const f: RecordFields = { textField: fields.textField ?? 'text', idsField: fields.idsField ?? 'input_ids' };
  try {
    if (format === 'parquet') {
      const { ParquetSource } = await import('./parquet-source');
      return await ParquetSource.open(path, f);
    }
    const { TextSource } = await import('./text-source');
    return await TextSource.open(path, format, f);
  } catch (e) {
    if (e instanceof HybridCompressError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new HybridCompressError('DATA_INVALID', `${path}: data file not found`, { file: path });
    if (err.code === 'EISDIR') throw new HybridCompressError('DATA_INVALID', `${path}: is a folder, expected a data file`, { file: path });
    throw new HybridCompressError('DATA_INVALID', `${path}: cannot open data file (${err.message})`, { file: path });
  }
}
