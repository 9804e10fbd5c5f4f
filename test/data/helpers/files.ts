// Temporary data files for the data-pipeline tests (under os.tmpdir(), removed by `cleanup`).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';

export class TempDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'hc-data-'));
  private n = 0;

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Writes `content` to a fresh file with extension `ext` (e.g. ".txt"), returns its path. */
  file(ext: string, content: string | Uint8Array): string {
    const p = this.path(`f${this.n++}${ext}`);
    writeFileSync(p, content);
    return p;
  }

  jsonl(records: unknown[]): string {
    return this.file('.jsonl', records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  }

  /** Parquet with a nullable "text" string column (and optionally more string columns). */
  parquetText(texts: (string | null)[], opts: { rowGroupSize?: number; pageSize?: number; column?: string } = {}): string {
    const buf = parquetWriteBuffer({
      columnData: [{ name: opts.column ?? 'text', data: texts, type: 'STRING' }],
      rowGroupSize: opts.rowGroupSize ?? 1000,
      ...(opts.pageSize !== undefined ? { pageSize: opts.pageSize } : {}),
    });
    return this.file('.parquet', new Uint8Array(buf));
  }

  /** Parquet with a nullable list<int32> "input_ids" column. */
  parquetIds(rows: (number[] | null)[], rowGroupSize = 1000): string {
    const buf = parquetWriteBuffer({
      columnData: [{ name: 'input_ids', data: rows }],
      schema: [
        { name: 'root', num_children: 1 },
        { name: 'input_ids', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'INT32', repetition_type: 'REQUIRED' },
      ],
      rowGroupSize,
    });
    return this.file('.parquet', new Uint8Array(buf));
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Deterministic pseudo-words, so tests need no corpus. */
export function fakeDocs(n: number, seed = 1, maxWords = 12): string[] {
  const words = ['hello', 'the', 'world', 'model', 'state', 'space', 'mamba', 'attention', 'prune', 'head', 'group', 'token', '☃', 'x1', 'naïve'];
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = 1 + Math.floor(rnd() * maxWords);
    const w: string[] = [];
    for (let j = 0; j < k; j++) w.push(words[Math.floor(rnd() * words.length)]!);
    out.push(w.join(' ') + (rnd() < 0.3 ? '.' : ''));
  }
  return out;
}
