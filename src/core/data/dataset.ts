// Rows of token ids for eval, calibration and training, built from a data file:
//   packing "concat" (default): every document becomes a unit [BOS?] ids EOS (no second EOS when the
//     document already ends with one), units are joined in order and cut into rows of exactly seqLen
//     tokens, a row may span documents, the incomplete last row is dropped;
//   packing "none": one document = one row ([BOS?] ids, no EOS), cut to seqLen; shorter ones are skipped.
// Order: file order, or with `shuffle` a seeded permutation of the records (see shuffle.ts), so a
// `samples` limit takes a deterministic random sample. With `repeat` the data is read again and again
// (a new permutation per epoch) and units run on across the epoch boundary.
// Every batch carries a cursor (plain JSON) naming the exact token where the next row starts; starting
// `batches(cursor)` from it gives exactly the continuation an uninterrupted run would have given.

import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { HybridCompressError } from '../errors';
import type { DataFormat } from './records';
import { cloneCounts, describeDataReport, emptyCounts, noteBad, recordPlace, type DataCounts, type DataReport } from './report';
import { permutation } from './shuffle';
import { openRecordSource, type RecordSource, type SourceRecord } from './source';
import type { TextTokenizer } from './tokenizer';

export type Packing = 'concat' | 'none';
export const PACKINGS: readonly Packing[] = ['concat', 'none'];

export interface DatasetOptions {
  /** A .txt, .jsonl or .parquet file. */
  path: string;
  /** Needed for text records; pre-tokenized `input_ids` records work without it. */
  tokenizer?: TextTokenizer;
  /** Tokens per row. */
  seqLen: number;
  /** Rows per batch (default 1). */
  batchSize?: number;
  packing?: Packing;
  /** Most rows delivered in total (over all epochs); default: all. */
  samples?: number;
  shuffle?: boolean;
  /** Seed of the shuffle (default 0). */
  seed?: number;
  /** Loop over the data forever (training); default false. */
  repeat?: boolean;
  /** Overrides the tokenizer's EOS / BOS ids (and supplies them when there is no tokenizer). */
  eosId?: number;
  bosId?: number;
  /** Put BOS in front of every document (default false). */
  addBos?: boolean;
  /** Ids must be below this (default the tokenizer's vocabulary size; pass config.json vocab_size without one). */
  vocabSize?: number;
  /** Field / column names (defaults "text" and "input_ids"). */
  textField?: string;
  idsField?: string;
  /** Drop an incomplete last batch instead of delivering it with fewer rows (default false). */
  dropLastBatch?: boolean;
}

/** Everything that fixes the order of rows; a cursor is only valid for a dataset with the same key. */
export interface DataOrderKey {
  format: DataFormat;
  fileBytes: number;
  seqLen: number;
  packing: Packing;
  shuffle: boolean;
  seed: number;
  repeat: boolean;
  addBos: boolean;
  eosId: number | null;
  bosId: number | null;
  vocabSize: number | null;
  textField: string;
  idsField: string;
}

/** A resumable position in the row stream (serialisable with JSON). */
export interface DataCursor {
  version: 1;
  key: DataOrderKey;
  epoch: number;
  /** Position in the epoch's record order of the record holding the next row's first token. */
  ordinal: number;
  /** Tokens of that record's unit already consumed by earlier rows. */
  offset: number;
  /** Byte offset of that record (text files in file order), so resuming needs no rescan. */
  byte?: number;
  /** Rows delivered before this position. */
  rows: number;
  /** Report counts of the records before this position. */
  counts: DataCounts;
  complete: boolean;
}

export interface Row {
  /** seqLen token ids. */
  ids: Int32Array;
  /** 0-based index of the row over the whole run. */
  rowIndex: number;
  epoch: number;
  /** Position just after this row. */
  cursor: DataCursor;
}

export interface RowBatch {
  /** `batch` rows of `seq` ids, row-major ([batch, seq] as an ONNX int64 tensor). */
  ids: BigInt64Array;
  batch: number;
  seq: number;
  /** Index of the batch's first row over the whole run. */
  rowIndex: number;
  /** Position just after this batch: `batches(cursor)` continues from there. */
  cursor: DataCursor;
}

function optionError(option: string, message: string): HybridCompressError {
  return new HybridCompressError('OPTION_INVALID', `--${option}: ${message}`, { option });
}

function checkInt(option: string, v: number | undefined, min: number): void {
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= min)) throw optionError(option, `expected an integer ≥ ${min}, got ${v}`);
}

export async function openDataset(options: DatasetOptions): Promise<Dataset> {
  const o = options;
  checkInt('seq-len', o.seqLen, 1);
  checkInt('batch', o.batchSize, 1);
  checkInt('samples', o.samples, 1);
  checkInt('seed', o.seed, 0);
  const packing = o.packing ?? 'concat';
  if (!PACKINGS.includes(packing)) throw optionError('packing', `"${packing}" is not one of: ${PACKINGS.join(', ')}`);
  const vocabSize = o.vocabSize ?? o.tokenizer?.vocabSize;
  const eosId = o.eosId ?? o.tokenizer?.eosId;
  const bosId = o.bosId ?? o.tokenizer?.bosId;
  for (const [name, id] of [['eos-id', eosId], ['bos-id', bosId]] as const) {
    checkInt(name, id, 0);
    if (id !== undefined && vocabSize !== undefined && id >= vocabSize) throw optionError(name, `id ${id} is outside the vocabulary (size ${vocabSize})`);
  }
  if (packing === 'concat' && eosId === undefined) {
    throw optionError(
      'packing',
      'concat packing joins documents with EOS, but no EOS id is known (the tokenizer files and config.json name no eos token); ' +
        'add eos_token to tokenizer_config.json or eos_token_id to config.json, or use --packing none',
    );
  }
  if (o.addBos && bosId === undefined) throw optionError('add-bos', 'no BOS id is known (no bos_token in the tokenizer files, no bos_token_id in config.json)');
  const source = await openRecordSource(o.path, { textField: o.textField, idsField: o.idsField });
  let size: number;
  try {
    size = (await stat(o.path)).size;
  } catch (e) {
    await source.close();
    throw e;
  }
  const key: DataOrderKey = {
    format: source.format,
    fileBytes: size,
    seqLen: o.seqLen,
    packing,
    shuffle: o.shuffle ?? false,
    seed: o.seed ?? 0,
    repeat: o.repeat ?? false,
    addBos: o.addBos ?? false,
    eosId: eosId ?? null,
    bosId: bosId ?? null,
    vocabSize: vocabSize ?? null,
    textField: o.textField ?? 'text',
    idsField: o.idsField ?? 'input_ids',
  };
  return new Dataset(o, source, key);
}

export class Dataset {
  readonly seqLen: number;
  readonly batchSize: number;
  readonly packing: Packing;
  private live: { counts: DataCounts; rows: number; complete: boolean; tail?: number } = { counts: emptyCounts(), rows: 0, complete: false };
  private rowCount: number | undefined;
  private longest = 0;

  constructor(
    private readonly opts: DatasetOptions,
    private readonly source: RecordSource,
    readonly key: DataOrderKey,
  ) {
    this.seqLen = opts.seqLen;
    this.batchSize = opts.batchSize ?? 1;
    this.packing = key.packing;
  }

  get path(): string {
    return this.opts.path;
  }

  /** What the latest `rows()`/`batches()` run has seen so far. */
  get report(): DataReport {
    const r: DataReport = { file: this.opts.path, format: this.key.format, ...cloneCounts(this.live.counts), rows: this.live.rows, complete: this.live.complete };
    if (this.live.tail !== undefined) r.droppedTailTokens = this.live.tail;
    return r;
  }

  /** Row count of one pass (capped by `samples`), when known without more reading: after countRows() or a full pass. */
  knownRowCount(): number | undefined {
    if (this.key.repeat) return this.opts.samples;
    return this.rowCount;
  }

  /** Rows one pass over the file gives (capped by `samples`); tokenizes the whole file once, then cached. */
  async countRows(): Promise<number> {
    if (this.key.repeat && this.opts.samples !== undefined) return this.opts.samples;
    if (this.rowCount !== undefined) return this.rowCount;
    const counts = emptyCounts();
    const cap = this.opts.samples ?? Infinity;
    let rows = 0;
    // The count does not depend on the order, so file order serves shuffled data too.
    for await (const rec of this.source.read()) {
      const u = this.unitOf(rec, counts);
      if (!u) continue;
      if (this.packing === 'none') rows += u.length >= this.seqLen ? 1 : 0;
      else rows = Math.floor(counts.tokens / this.seqLen);
      if (rows >= cap) break;
    }
    rows = Math.min(rows, cap);
    this.rowCount = rows;
    return rows;
  }

  /** A cursor at the very start (what `rows()` without an argument starts from). */
  startCursor(): DataCursor {
    return { version: 1, key: { ...this.key }, epoch: 0, ordinal: 0, offset: 0, rows: 0, counts: emptyCounts(), complete: false };
  }

  private checkCursor(c: DataCursor): void {
    const bad = (msg: string) => new HybridCompressError('DATA_INVALID', `${this.opts.path}: cannot resume from this data cursor: ${msg}`, { file: this.opts.path });
    if (c === null || typeof c !== 'object' || c.version !== 1 || typeof c.key !== 'object' || c.key === null) throw bad('not a version-1 data cursor');
    const diffs = (Object.keys(this.key) as (keyof DataOrderKey)[])
      .filter((k) => c.key[k] !== this.key[k])
      .map((k) => `${k} was ${JSON.stringify(c.key[k])}, now ${JSON.stringify(this.key[k])}`);
    if (diffs.length) throw bad(`the data or the options that fix the row order changed (${diffs.join('; ')})`);
    for (const k of ['epoch', 'ordinal', 'offset', 'rows'] as const) {
      if (!Number.isSafeInteger(c[k]) || c[k] < 0) throw bad(`field "${k}" is ${JSON.stringify(c[k])}`);
    }
  }

  /** Token unit of a record (undefined when empty or bad), counting it into `counts` when given. */
  private unitOf(rec: SourceRecord, counts: DataCounts | undefined): Int32Array | undefined {
    if (counts) counts.records++;
    const place = () => (this.key.format === 'parquet' ? { index: rec.index } : { index: rec.index, line: rec.index + 1 });
    let ids: number[];
    switch (rec.kind) {
      case 'empty':
        if (counts) counts.empty++;
        return undefined;
      case 'bad':
        if (counts) noteBad(counts, { ...place(), reason: rec.reason, detail: rec.detail });
        return undefined;
      case 'text': {
        const tok = this.opts.tokenizer;
        if (!tok) {
          throw new HybridCompressError(
            'TOKENIZER_MISSING',
            `${this.opts.path}: ${recordPlace(place())} holds text, which needs the model's tokenizer.json to be tokenized; ` +
              `either give a model folder with tokenizer.json or provide pre-tokenized records with an "${this.key.idsField}" field`,
            { file: this.opts.path },
          );
        }
        ids = tok.encode(rec.text);
        break;
      }
      case 'ids': {
        ids = rec.ids;
        const limit = this.key.vocabSize;
        if (limit !== null) {
          const at = ids.findIndex((x) => x >= limit);
          if (at >= 0) {
            if (counts) noteBad(counts, { ...place(), reason: 'id-out-of-range', detail: `id ${ids[at]} at position ${at} is not below the vocabulary size ${limit}` });
            return undefined;
          }
        }
        break;
      }
    }
    if (ids.length === 0) {
      if (counts) counts.empty++;
      return undefined;
    }
    const bos = this.key.addBos && ids[0] !== this.key.bosId ? 1 : 0;
    const eos = this.packing === 'concat' && ids[ids.length - 1] !== this.key.eosId ? 1 : 0;
    const unit = new Int32Array(bos + ids.length + eos);
    if (bos) unit[0] = this.key.bosId!;
    unit.set(ids, bos);
    if (eos) unit[unit.length - 1] = this.key.eosId!;
    if (counts) {
      counts.documents++;
      counts.tokens += unit.length;
    }
    if (unit.length > this.longest) this.longest = unit.length;
    return unit;
  }

  /** Records from (epoch, ordinal) on, over epochs when repeating. */
  private async *records(epoch: number, ordinal: number, byte: number | undefined): AsyncGenerator<SourceRecord & { epoch: number; ordinal: number }> {
    const W = 4096; // records fetched per step in shuffled order (sorted by position inside the step)
    for (let e = epoch; ; e++) {
      const first = e === epoch ? ordinal : 0;
      let seen = 0;
      if (this.key.shuffle) {
        const n = await this.source.count();
        const perm = permutation(n, this.key.seed, e);
        for (let o = first; o < n; o += W) {
          const recs = await this.source.fetch(perm.subarray(o, Math.min(n, o + W)));
          seen += recs.length;
          for (let k = 0; k < recs.length; k++) yield Object.assign(recs[k]!, { epoch: e, ordinal: o + k });
        }
      } else {
        for await (const rec of this.source.read({ index: first, byte: e === epoch ? byte : 0 })) {
          seen++;
          yield Object.assign(rec, { epoch: e, ordinal: rec.index });
        }
      }
      // An empty file (or a cursor past the end of a pass) must not spin forever when repeating.
      if (!this.key.repeat || (seen === 0 && first === 0)) return;
    }
  }

  private noRowsError(): HybridCompressError {
    const r = this.report;
    let why = describeDataReport(r);
    if (this.packing === 'none' && r.documents > 0) {
      why = `all ${r.documents} documents are shorter than --seq-len ${this.seqLen} (longest: ${this.longest} tokens); use a smaller --seq-len or --packing concat. ${why}`;
    } else if (this.packing === 'concat' && r.tokens > 0) {
      why = `the file holds only ${r.tokens} tokens, fewer than one row of --seq-len ${this.seqLen}. ${why}`;
    } else if (r.documents === 0) {
      why = `no usable records. ${why}`;
    }
    return new HybridCompressError('DATA_INVALID', `${this.opts.path}: no rows: ${why}`, { file: this.opts.path });
  }

  /** Rows one by one, from `from` (default: the start). */
  async *rows(from?: DataCursor): AsyncGenerator<Row> {
    const start = from ?? this.startCursor();
    if (from) this.checkCursor(from);
    const seq = this.seqLen;
    const counts = cloneCounts(start.counts);
    const live = { counts, rows: start.rows, complete: start.complete } as { counts: DataCounts; rows: number; complete: boolean; tail?: number };
    this.live = live;
    const limit = this.opts.samples ?? Infinity;
    const reachedLimit = () => {
      if (live.rows < limit) return false;
      if (!this.key.repeat) this.rowCount = limit;
      return true;
    };
    if (reachedLimit()) return;
    const key = { ...this.key };
    const cursorAt = (epoch: number, ordinal: number, offset: number, byte: number | undefined, c: DataCounts): DataCursor => {
      const cur: DataCursor = { version: 1, key, epoch, ordinal, offset, rows: live.rows, counts: cloneCounts(c), complete: live.complete };
      if (byte !== undefined && !this.key.shuffle) cur.byte = byte;
      return cur;
    };
    let row = new Int32Array(seq);
    let fill = 0;
    let skip = start.offset;
    let epochDocs = 0;
    let epochRows = 0;
    let curEpoch = start.epoch;
    const fromEpochStart = () => curEpoch > start.epoch || start.ordinal === 0;
    const endEpoch = () => {
      // Guard against looping forever over data that can never give a row.
      if (this.key.repeat && fromEpochStart() && (epochDocs === 0 || (this.packing === 'none' && epochRows === 0))) throw this.noRowsError();
      if (curEpoch === 0) live.complete = true;
      epochDocs = epochRows = 0;
    };
    for await (const rec of this.records(start.epoch, start.ordinal, start.byte)) {
      while (rec.epoch > curEpoch) {
        endEpoch();
        curEpoch++;
      }
      // Counts describe the file, so they grow during the first epoch only.
      const counting = rec.epoch === 0;
      const before = counting ? cloneCounts(counts) : counts;
      const unit = this.unitOf(rec, counting ? counts : undefined);
      if (!unit) continue;
      epochDocs++;
      let off = 0;
      if (skip && rec.epoch === start.epoch && rec.ordinal === start.ordinal) {
        off = Math.min(skip, unit.length);
        skip = 0;
      }
      if (this.packing === 'none') {
        if (unit.length < seq) {
          if (counting) counts.skippedShort++;
          continue;
        }
        if (unit.length > seq && counting) counts.truncated++;
        live.rows++;
        epochRows++;
        yield { ids: unit.slice(0, seq), rowIndex: live.rows - 1, epoch: rec.epoch, cursor: cursorAt(rec.epoch, rec.ordinal + 1, 0, rec.nextByte, counts) };
        if (reachedLimit()) return;
        continue;
      }
      while (off < unit.length) {
        const take = Math.min(seq - fill, unit.length - off);
        row.set(unit.subarray(off, off + take), fill);
        fill += take;
        off += take;
        if (fill < seq) break;
        live.rows++;
        epochRows++;
        const cursor = off < unit.length ? cursorAt(rec.epoch, rec.ordinal, off, rec.byte, before) : cursorAt(rec.epoch, rec.ordinal + 1, 0, rec.nextByte, counts);
        yield { ids: row, rowIndex: live.rows - 1, epoch: rec.epoch, cursor };
        if (reachedLimit()) return;
        row = new Int32Array(seq);
        fill = 0;
      }
    }
    endEpoch();
    if (this.packing === 'concat') live.tail = fill;
    if (start.ordinal === 0 && start.epoch === 0 && start.offset === 0) {
      if (live.rows === 0) throw this.noRowsError();
      if (this.opts.samples === undefined || live.rows < this.opts.samples) this.rowCount = live.rows;
    }
  }

  /** Batches of `batchSize` rows (the last one may be smaller unless `dropLastBatch`). */
  async *batches(from?: DataCursor): AsyncGenerator<RowBatch> {
    const seq = this.seqLen;
    const B = this.batchSize;
    let ids = new BigInt64Array(B * seq);
    let n = 0;
    let first = 0;
    let last: DataCursor | undefined;
    for await (const r of this.rows(from)) {
      if (n === 0) first = r.rowIndex;
      const base = n * seq;
      for (let i = 0; i < seq; i++) ids[base + i] = BigInt(r.ids[i]!);
      n++;
      last = r.cursor;
      if (n === B) {
        yield { ids, batch: B, seq, rowIndex: first, cursor: last };
        ids = new BigInt64Array(B * seq);
        n = 0;
      }
    }
    if (n > 0 && !this.opts.dropLastBatch) yield { ids: ids.slice(0, n * seq), batch: n, seq, rowIndex: first, cursor: last! };
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}

/** Short label for logs: file name, packing and row length. */
export function describeDataset(d: Dataset): string {
  return `${basename(d.path)} (${d.packing}, rows of ${d.seqLen} tokens${d.key.shuffle ? `, shuffled with seed ${d.key.seed}` : ''})`;
}
