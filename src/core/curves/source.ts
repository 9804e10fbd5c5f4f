// Finds what kind of training log a path is and streams its metric points: a local run's
// metrics.jsonl, a Megatron-LM / Megatron-Bridge text log, or TensorBoard event files (one file,
// or every events.out.tfevents.* under a folder — NeMo, Megatron, Hugging Face Trainer, Lightning).

import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { HybridCompressError } from '../errors';
import { maskedCrc32c } from './crc32c';
import { findFiles, followFiles, pause, type FollowOptions } from './follow';
import { MegatronLogParser, parseMegatronLine } from './megatron-log';
import type { MetricPoint } from '../runs/metric-point';
import { METRICS_FILE } from '../runs/layout';

/** The points of one read, tagged with the file they came from. */
export interface CurveUpdate {
  file: string;
  points: MetricPoint[];
  /**
   * True when `file` shrank or was replaced (a new run writing to the same path): points previously
   * received from `file` are stale and should be dropped before adding these.
   */
  reset?: boolean;
}
import { MetricsJsonlParser } from './metrics-jsonl';
import { isEventFileName, TfEventsParser } from './tfevents';
import type { WarningSink } from './warnings';

export type CurveSourceKind = 'metrics-jsonl' | 'megatron-log' | 'tfevents';

export interface CurveSource {
  kind: CurveSourceKind;
  /** The file to read, or for `tfevents` possibly a folder searched for event files. */
  path: string;
  isDir: boolean;
}


const LOG_NAME_RE = /\.(log|out|txt|err)$/i;
const SNIFF_BYTES = 64 * 1024;

async function head(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function looksLikeTfRecord(b: Uint8Array): boolean {
  if (b.length < 12) return false;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(8, true) === maskedCrc32c(b, 0, 8);
}

function looksLikeMetricsJsonl(text: string): boolean {
  const first = text.split('\n').find((l) => l.trim() !== '');
  return first !== undefined && /^\s*\{.*"step"\s*:/.test(first);
}

/** Kind of a single file, by name first, then by content. */
export async function detectFileKind(path: string): Promise<CurveSourceKind> {
  const name = basename(path);
  if (isEventFileName(name)) return 'tfevents';
  if (name.endsWith('.jsonl')) return 'metrics-jsonl';
  const b = await head(path, SNIFF_BYTES);
  if (looksLikeTfRecord(b)) return 'tfevents';
  if (looksLikeMetricsJsonl(new TextDecoder().decode(b))) return 'metrics-jsonl';
  return 'megatron-log';
}

/** Newest (by mtime) *.log / *.out / *.txt / *.err file directly in `dir` or in `dir/logs` that contains a Megatron line in its first 64 KiB. */
async function findMegatronLog(dir: string): Promise<string | undefined> {
  const candidates: { path: string; mtime: number }[] = [];
  for (const d of [dir, join(dir, 'logs')]) {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      continue;
    }
    for (const n of names) {
      if (!LOG_NAME_RE.test(n)) continue;
      const p = join(d, n);
      try {
        const st = await stat(p);
        if (st.isFile()) candidates.push({ path: p, mtime: st.mtimeMs });
      } catch {
        /* vanished */
      }
    }
  }
  candidates.sort((a, b) => b.mtime - a.mtime);
  for (const c of candidates) {
    const text = new TextDecoder().decode(await head(c.path, SNIFF_BYTES).catch(() => new Uint8Array(0)));
    if (text.split('\n').some((l) => parseMegatronLine(l) !== undefined)) return c.path;
  }
  return undefined;
}

/**
 * What `path` holds, or undefined if nothing recognisable is there yet. A folder is searched in
 * this order: its metrics.jsonl, event files anywhere below it (4 levels), then the newest
 * Megatron log among *.log / *.out / *.txt / *.err in it or in its logs/ folder.
 */
export async function detectCurveSource(path: string): Promise<CurveSource | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return undefined;
  }
  if (st.isFile()) return { kind: await detectFileKind(path), path, isDir: false };
  if (!st.isDirectory()) return undefined;
  const jsonl = join(path, METRICS_FILE);
  if (await stat(jsonl).then((s) => s.isFile(), () => false)) return { kind: 'metrics-jsonl', path: jsonl, isDir: false };
  if ((await findFiles(path, isEventFileName)).length > 0) return { kind: 'tfevents', path, isDir: true };
  const log = await findMegatronLog(path);
  if (log) return { kind: 'megatron-log', path: log, isDir: false };
  return undefined;
}

export interface StreamCurvesOptions extends FollowOptions {
  onWarning?: WarningSink;
  /** Sequence length of a Megatron run, for its tokens_per_s series. */
  seqLength?: number;
  /** Called once the source is known (with follow, possibly after waiting for it to appear). */
  onSource?: (source: CurveSource) => void;
}

interface ChunkParser {
  push(b: Uint8Array): MetricPoint[];
  flush?(): MetricPoint[];
}

function makeParser(source: CurveSource, file: string, opts: StreamCurvesOptions): ChunkParser {
  switch (source.kind) {
    case 'metrics-jsonl':
      return new MetricsJsonlParser(opts.onWarning, file);
    case 'megatron-log':
      return new MegatronLogParser({ seqLength: opts.seqLength });
    case 'tfevents': {
      // Event files in sub-folders (Keras train/ and validation/, Lightning version_N/, HF runs/<date>/)
      // get their folder as a tag prefix, so equal tags from different writers stay apart.
      const rel = source.isDir ? relative(source.path, dirname(file)) : '';
      const tagPrefix = rel === '' ? '' : rel.split(sep).join('/') + '/';
      return new TfEventsParser({ tagPrefix, onWarning: opts.onWarning, file });
    }
  }
}

/**
 * Streams the metric points of a log file or folder. Without `follow` it reads what is there and
 * ends (throwing DATA_INVALID if nothing recognisable is found); with `follow` it waits for the
 * source to appear, then keeps yielding new points until `signal` aborts.
 */
export async function* streamCurves(path: string, opts: StreamCurvesOptions = {}): AsyncGenerator<CurveUpdate> {
  let source = await detectCurveSource(path);
  while (!source) {
    if (!opts.follow) {
      const exists = await stat(path).then(() => true, () => false);
      throw new HybridCompressError(
        exists ? 'DATA_INVALID' : 'IO_ERROR',
        exists
          ? `${path}: no training log found (expected a metrics.jsonl, events.out.tfevents.* files, or a Megatron log *.log/*.out with "iteration N/ M |" lines)`
          : `${path}: no such file or folder`,
        { file: path },
      );
    }
    if (!(await pause(opts.pollMs ?? 500, opts.signal))) return;
    source = await detectCurveSource(path);
  }
  opts.onSource?.(source);
  const src = source;
  const list = src.isDir ? () => findFiles(src.path, isEventFileName) : async () => [src.path];
  const parsers = new Map<string, ChunkParser>();
  for await (const chunk of followFiles(list, opts)) {
    let parser = parsers.get(chunk.file);
    if (!parser || chunk.reset) parsers.set(chunk.file, (parser = makeParser(src, chunk.file, opts)));
    if (chunk.reset) opts.onWarning?.({ kind: 'file-reset', message: 'file shrank or was replaced; reading it again from the start', file: chunk.file });
    const points = parser.push(chunk.bytes);
    if (points.length > 0 || chunk.reset) yield { file: chunk.file, points, ...(chunk.reset ? { reset: true } : {}) };
  }
  if (!opts.follow) {
    // A finished log: its last line may lack the newline.
    for (const [file, parser] of parsers) {
      const rest = parser.flush?.() ?? [];
      if (rest.length > 0) yield { file, points: rest };
    }
  }
}

/** Reads every point of a (finished) log file or folder at once. */
export async function readCurves(path: string, opts: Omit<StreamCurvesOptions, 'follow'> = {}): Promise<{ source: CurveSource; points: MetricPoint[] }> {
  let source: CurveSource | undefined;
  const points: MetricPoint[] = [];
  for await (const u of streamCurves(path, { ...opts, follow: false, onSource: (s) => (source = s) })) {
    if (u.reset) points.length = 0;
    points.push(...u.points);
  }
  return { source: source!, points };
}
