// metrics.jsonl: one JSON object per line, e.g. {"step":10,"loss":2.31,"lr":0.0003}. The writer
// hands each line to the OS as it is appended (no userland buffer), so the extension can tail
// the file while training runs; the reader returns only complete lines and the byte offset to
// continue from, so a line being written is picked up on the next read.

import { closeSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { HybridCompressError } from '../errors';
import { parseMetricPoint, type MetricPoint } from './metric-point';
import { parseJson, stringifyJson } from '../util/json';

export class MetricsWriter {
  #fd: number | undefined;

  constructor(readonly path: string) {
    try {
      this.#fd = openSync(path, 'a');
    } catch (e) {
      throw new HybridCompressError('IO_ERROR', `cannot open ${path} for appending: ${(e as Error).message}`, { file: path });
    }
  }

  /** Appends one point as a line. Non-finite values are written as NaN/Infinity tokens (as Python's json does). */
  append(point: MetricPoint): void {
    if (this.#fd === undefined) throw new HybridCompressError('IO_ERROR', `${this.path}: append after close`, { file: this.path });
    const line = stringifyJson(parseMetricPoint(point), 0) + '\n';
    // One write call per line: readers see whole lines, and appends from one writer never interleave.
    writeSync(this.#fd, line);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

export interface MetricsChunk {
  points: MetricPoint[];
  /** Byte offset just past the last complete line: pass it to the next readMetrics call. */
  offset: number;
  /** Complete lines that were not valid metric points (skipped). */
  skipped: number;
  /** 1-based line number (counted from where this read started) of the first skipped line. */
  firstSkippedLine?: number;
  /** The file was shorter than `offset` (rewritten by a new run), so it was read from the start. */
  reset?: boolean;
}

/** Reads the complete lines of a metrics.jsonl from byte `offset` on. A missing file reads as empty. */
export async function readMetrics(path: string, offset = 0): Promise<MetricsChunk> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { points: [], offset, skipped: 0 };
    throw new HybridCompressError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`, { file: path });
  }
  try {
    const size = (await fh.stat()).size;
    const reset = size < offset;
    if (reset) offset = 0;
    if (size === offset) return { points: [], offset, skipped: 0, ...(reset ? { reset } : {}) };
    const buf = Buffer.alloc(size - offset);
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    const end = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (end < 0) return { points: [], offset, skipped: 0, ...(reset ? { reset } : {}) };
    const chunk: MetricsChunk = { points: [], offset: offset + end + 1, skipped: 0, ...(reset ? { reset } : {}) };
    const lines = buf.subarray(0, end).toString('utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        chunk.points.push(parseMetricPoint(parseJson(line, { allowNonFinite: true })));
      } catch {
        chunk.skipped++;
        chunk.firstSkippedLine ??= i + 1;
      }
    });
    return chunk;
  } finally {
    await fh.close();
  }
}
