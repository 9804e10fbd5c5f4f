// What the pipeline saw in a data file: counts of records, empty and bad ones (with the first bad one's
// position and why), packing skips, tokens and rows. Counted over the first pass through the file only,
// so with repeated epochs it still describes the file, and it travels inside the cursor so a resumed run
// reports the same totals as an uninterrupted one.

import type { BadReason, DataFormat } from './records';

export interface BadRecordInfo {
  /** 0-based record index (line index for .txt/.jsonl, row index for .parquet). */
  index: number;
  /** 1-based line number for .txt/.jsonl; absent for .parquet. */
  line?: number;
  reason: BadReason;
  detail: string;
}

export interface DataCounts {
  /** Records read (lines / parquet rows), including empty and bad ones. */
  records: number;
  /** Records that became documents (had text or ids). */
  documents: number;
  empty: number;
  bad: number;
  badByReason: Partial<Record<BadReason, number>>;
  /** The bad record with the smallest index seen (in shuffled order, not necessarily the first read). */
  firstBad?: BadRecordInfo;
  /** packing none: documents shorter than seqLen (skipped). */
  skippedShort: number;
  /** packing none: documents longer than seqLen (cut). */
  truncated: number;
  /** Tokens of all documents, including added BOS/EOS. */
  tokens: number;
}

export interface DataReport extends DataCounts {
  file: string;
  format: DataFormat;
  /** Rows delivered so far (over all epochs). */
  rows: number;
  /** True once every record of the file has been read at least once. */
  complete: boolean;
  /** concat packing, when reading ended at the end of the data: tokens of the incomplete last row (dropped). */
  droppedTailTokens?: number;
}

export function emptyCounts(): DataCounts {
  return { records: 0, documents: 0, empty: 0, bad: 0, badByReason: {}, skippedShort: 0, truncated: 0, tokens: 0 };
}

export function cloneCounts(c: DataCounts): DataCounts {
  const out: DataCounts = { ...c, badByReason: { ...c.badByReason } };
  if (c.firstBad) out.firstBad = { ...c.firstBad };
  return out;
}

export function noteBad(c: DataCounts, info: BadRecordInfo): void {
  c.bad++;
  c.badByReason[info.reason] = (c.badByReason[info.reason] ?? 0) + 1;
  if (!c.firstBad || info.index < c.firstBad.index) c.firstBad = info;
}

/** Where a record is, for messages: "line 17" or "record 16". */
export function recordPlace(info: { index: number; line?: number }): string {
  return info.line !== undefined ? `line ${info.line}` : `record ${info.index}`;
}

/** One line for the CLI, e.g. `data.jsonl: 1000 records, 998 documents, 2 bad (first at line 17: invalid-json …), 40 rows`. */
export function describeDataReport(r: DataReport): string {
  const parts = [`${r.records} records${r.complete ? '' : ' read so far'}`, `${r.documents} documents`, `${r.tokens} tokens`];
  if (r.empty) parts.push(`${r.empty} empty`);
  if (r.bad) {
    const f = r.firstBad!;
    parts.push(`${r.bad} bad (first at ${recordPlace(f)}: ${f.reason}: ${f.detail})`);
  }
  if (r.skippedShort) parts.push(`${r.skippedShort} shorter than the row length skipped`);
  if (r.truncated) parts.push(`${r.truncated} truncated`);
  parts.push(`${r.rows} rows`);
  if (r.droppedTailTokens) parts.push(`${r.droppedTailTokens} tail tokens dropped`);
  return `${r.file}: ${parts.join(', ')}`;
}
