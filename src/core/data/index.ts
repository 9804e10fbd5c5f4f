// Data pipeline: tokenizer, readers for .txt / .jsonl / .parquet, row packing, batches with a resumable cursor.
export { loadTokenizer, hasTokenizer, type TextTokenizer } from './tokenizer';
export { readModelTokenInfo, type ModelTokenInfo, type SpecialTokenIds } from './special-tokens';
export { dataFormatOf, DATA_EXTENSIONS, type DataFormat, type BadReason, type RawRecord } from './records';
export { openRecordSource, type RecordSource, type SourceRecord, type SourcePosition } from './source';
export { describeDataReport, type DataReport, type DataCounts, type BadRecordInfo } from './report';
export { permutation } from './shuffle';
export {
  openDataset,
  describeDataset,
  Dataset,
  PACKINGS,
  type Packing,
  type DatasetOptions,
  type DataCursor,
  type DataOrderKey,
  type Row,
  type RowBatch,
} from './dataset';
