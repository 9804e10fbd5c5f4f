// One input record as read from a data file, before tokenisation: text, pre-tokenised ids, an empty
// record (skipped, not an error) or a bad one (counted in the report, never thrown).

import { extname } from 'node:path';
import { HybridCompressError } from '../errors';

export type DataFormat = 'txt' | 'jsonl' | 'parquet';
export const DATA_EXTENSIONS: Readonly<Record<string, DataFormat>> = { '.txt': 'txt', '.jsonl': 'jsonl', '.parquet': 'parquet' };

export function dataFormatOf(path: string): DataFormat {
  const ext = extname(path).toLowerCase();
  const f = DATA_EXTENSIONS[ext];
  if (!f) {
    throw new HybridCompressError(
      'DATA_INVALID',
      `${path}: unsupported data file extension "${ext}"; valid: ${Object.keys(DATA_EXTENSIONS).join(', ')} ` +
        '(.txt one document per line, .jsonl with a "text" or "input_ids" field, .parquet with a "text" column)',
      { file: path },
    );
  }
  return f;
}

export type BadReason = 'invalid-utf8' | 'invalid-json' | 'not-an-object' | 'missing-field' | 'wrong-type' | 'id-out-of-range';

export type RawRecord =
  | { index: number; kind: 'text'; text: string }
  | { index: number; kind: 'ids'; ids: number[] }
  | { index: number; kind: 'empty' }
  | { index: number; kind: 'bad'; reason: BadReason; detail: string };

/** Where a record is in its file: `index` is 0-based (line index, or row index for parquet); `byte` the
 * offset of its first byte (text formats), `nextByte` the offset just past it. */
export interface Located {
  byte?: number;
  nextByte?: number;
}

export interface RecordFields {
  textField: string;
  idsField: string;
}

/** Validates a list of token ids: non-negative safe integers (numbers or bigints). */
export function asIds(v: unknown): number[] | string {
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) return 'not an array';
  const arr = v as ArrayLike<unknown>;
  const out = new Array<number>(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const x = arr[i];
    const n = typeof x === 'bigint' ? Number(x) : x;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return `element ${i} is ${JSON.stringify(typeof x === 'bigint' ? String(x) : x)}, not a non-negative integer`;
    out[i] = n;
  }
  return out;
}

/** Classifies one decoded value (a parsed jsonl object or a parquet row's field values). */
export function recordFromFields(index: number, get: (field: string) => unknown, has: (field: string) => boolean, f: RecordFields): RawRecord {
  if (has(f.idsField) && get(f.idsField) != null) {
    const ids = asIds(get(f.idsField));
    if (typeof ids === 'string') return { index, kind: 'bad', reason: 'wrong-type', detail: `"${f.idsField}": ${ids}` };
    return ids.length ? { index, kind: 'ids', ids } : { index, kind: 'empty' };
  }
  if (!has(f.textField) || get(f.textField) == null) {
    return { index, kind: 'bad', reason: 'missing-field', detail: `no "${f.textField}" or "${f.idsField}" field` };
  }
  const t = get(f.textField);
  if (typeof t !== 'string') return { index, kind: 'bad', reason: 'wrong-type', detail: `"${f.textField}" is ${Array.isArray(t) ? 'an array' : typeof t}, not a string` };
  return t.length ? { index, kind: 'text', text: t } : { index, kind: 'empty' };
}

/** Parses one jsonl line (already UTF-8 decoded, without its newline). */
export function parseJsonlLine(index: number, line: string, f: RecordFields): RawRecord {
  if (line.trim() === '') return { index, kind: 'empty' };
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return { index, kind: 'bad', reason: 'invalid-json', detail: (e as Error).message };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { index, kind: 'bad', reason: 'not-an-object', detail: `a JSON ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}, not an object` };
  }
  const o = v as Record<string, unknown>;
  return recordFromFields(index, (k) => o[k], (k) => Object.prototype.hasOwnProperty.call(o, k), f);
}

/** One .txt line = one document; whitespace-only lines are empty records. */
export function parseTextLine(index: number, line: string): RawRecord {
  return line.trim() === '' ? { index, kind: 'empty' } : { index, kind: 'text', text: line };
}
