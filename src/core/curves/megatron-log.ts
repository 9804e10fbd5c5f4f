// Parser for the training logs of Megatron-LM and Megatron-Bridge (megatron/training/training.py
// `training_log` / `evaluate_and_print_results`, Bridge training/utils/train_utils.py and eval.py):
//
//  [2026-08-22 10:01:02.123456] iteration      100/   16000 | consumed samples:        76800 | ... | lm loss: 2.345678E+00 | ... |
//  validation loss at iteration 100 | lm loss value: 2.301234E+00 | lm loss PPL: 9.986543E+00 |
//
// Megatron-LM prints microseconds in the timestamp since early 2026, Megatron-Bridge prints whole
// seconds; both are accepted. Fields are ` name: value |` in a fixed order but optional, so each
// line is split on `|` and every `name: number` segment is kept. Launchers often prefix lines
// (`[default0]:`, `0: `), so the patterns are not anchored at the line start. Other lines are ignored.
//
// Series names (shared with local runs where the meaning matches):
//   total loss → loss (the optimised objective under KD); lm loss → ce_loss, and also loss when the
//   line has no total loss (plain training); logits distillation loss → kd_loss; intermediate
//   distillation loss → intermediate_kd_loss; learning rate → lr; grad norm → grad_norm;
//   elapsed time per iteration (ms) → iter_ms; any other field → snake_case of its name.
//   Validation: `<p>_loss` / `<p>_ppl` for lm loss, `<p>_<name>` / `<p>_<name>_ppl` for other keys,
//   where <p> is val, val_<set> for `validation-<set>`, or test for `... on test set`.
//   With `seqLength` known, tokens_per_s = global batch size × seqLength / iteration time.
// The timestamp has no zone; parseMegatronLine's `time` reads it as UTC (points carry no wall time).

import { LineSplitter } from './lines';
import { makePoint, type MetricPoint } from '../runs/metric-point';

const TRAIN_RE = /(?:\[(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\]\s*)?\biteration\s+(\d+)\s*\/\s*(\d+)\s*\|(.*)$/;
const VALID_RE = /\bvalidation(-\S+)?\s+loss at iteration\s+(\d+)(?:\s+on\s+(validation|test)\s+set)?\s*\|(.*)$/;
const FIELD_RE = /^(.*?\S)\s*:\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$/;

const KNOWN: Record<string, string> = {
  'consumed samples': 'consumed_samples',
  'skipped samples': 'skipped_samples',
  'elapsed time per iteration (ms)': 'iter_ms',
  'throughput per GPU (TFLOP/s/GPU)': 'tflops_per_gpu',
  'energy per GPU (J/iter/GPU)': 'energy_per_gpu_j',
  'power per GPU (W/GPU)': 'power_per_gpu_w',
  'learning rate': 'lr',
  'global batch size': 'global_batch_size',
  'loss scale': 'loss_scale',
  'grad norm': 'grad_norm',
  'num zeros': 'num_zeros',
  'params norm': 'params_norm',
  'max attention logit': 'max_attention_logit',
  'number of skipped iterations': 'skipped_iterations',
  'number of nan iterations': 'nan_iterations',
  'total loss': 'loss',
  'lm loss': 'ce_loss',
  'logits distillation loss': 'kd_loss',
  'intermediate distillation loss': 'intermediate_kd_loss',
};

/** "logits distillation loss" → "logits_distillation_loss". */
export function snakeName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function fields(rest: string): [string, number][] {
  const out: [string, number][] = [];
  for (const seg of rest.split('|')) {
    const m = FIELD_RE.exec(seg.trim());
    if (m) out.push([m[1]!, Number(m[2])]);
  }
  return out;
}

export type MegatronLine =
  | { kind: 'train'; iteration: number; trainIters: number; time?: number; fields: [string, number][] }
  | { kind: 'validation'; iteration: number; set: string; fields: { key: string; what: 'value' | 'PPL'; value: number }[] };

/** Recognises one log line (without its newline); undefined for any other line. */
export function parseMegatronLine(line: string): MegatronLine | undefined {
  if (!line.includes('iteration')) return undefined;
  const t = TRAIN_RE.exec(line);
  if (t) {
    let time: number | undefined;
    if (t[1] !== undefined) {
      const frac = t[7] !== undefined ? Number(`0.${t[7]}`) * 1000 : 0;
      time = Date.UTC(+t[1], +t[2]! - 1, +t[3]!, +t[4]!, +t[5]!, +t[6]!) + frac;
    }
    return { kind: 'train', iteration: Number(t[8]), trainIters: Number(t[9]), time, fields: fields(t[10]!) };
  }
  const v = VALID_RE.exec(line);
  if (v) {
    const base = v[3] === 'test' ? 'test' : 'val';
    const set = v[1] !== undefined ? `${base}_${snakeName(v[1].slice(1))}` : base;
    const fs: { key: string; what: 'value' | 'PPL'; value: number }[] = [];
    // Validation segments are "<key> value: X" and "<key> PPL: Y".
    for (const [name, value] of fields(v[4]!)) {
      const m = /^(.*?)\s+(value|PPL)$/.exec(name);
      if (m) fs.push({ key: m[1]!, what: m[2] as 'value' | 'PPL', value });
    }
    return { kind: 'validation', iteration: Number(v[2]), set, fields: fs };
  }
  return undefined;
}

export interface MegatronParserOptions {
  /** Sequence length of the run, to derive tokens_per_s from global batch size and iteration time. */
  seqLength?: number;
}

/** Maps a parsed line to a metric point with the series names documented above. */
export function megatronLineToPoint(line: MegatronLine, opts: MegatronParserOptions = {}): MetricPoint | undefined {
  const pairs: [string, number][] = [];
  if (line.kind === 'train') {
    const byName = new Map(line.fields);
    for (const [name, x] of line.fields) pairs.push([KNOWN[name] ?? snakeName(name), x]);
    if (!byName.has('total loss') && byName.has('lm loss')) pairs.push(['loss', byName.get('lm loss')!]);
    const gbs = byName.get('global batch size');
    const ms = byName.get('elapsed time per iteration (ms)');
    if (opts.seqLength && gbs !== undefined && ms !== undefined && ms > 0) pairs.push(['tokens_per_s', (gbs * opts.seqLength) / (ms / 1000)]);
    return makePoint(line.iteration, pairs);
  }
  for (const { key, what, value: x } of line.fields) {
    const name = key === 'lm loss' ? 'loss' : key === 'total loss' ? 'total_loss' : (KNOWN[key] ?? snakeName(key));
    if (what === 'value') pairs.push([`${line.set}_${name}`, x]);
    else pairs.push([key === 'lm loss' ? `${line.set}_ppl` : `${line.set}_${name}_ppl`, x]);
  }
  return makePoint(line.iteration, pairs);
}

/**
 * Incremental parser: push chunks of the log as it grows; an unterminated last line is kept until
 * the rest of it arrives. `flush()` at the end of a finished log parses that last line only if it
 * is complete (Megatron's lines end with "|"), since a half-written number would be wrong.
 */
export class MegatronLogParser {
  private readonly lines = new LineSplitter();
  /** `train_iters` from the most recent training line (the run's planned length). */
  trainIters?: number;
  linesSeen = 0;
  linesMatched = 0;

  constructor(private readonly opts: MegatronParserOptions = {}) {}

  push(chunk: Uint8Array | string): MetricPoint[] {
    const out: MetricPoint[] = [];
    for (const l of this.lines.push(chunk)) this.take(l, out);
    return out;
  }

  flush(): MetricPoint[] {
    const out: MetricPoint[] = [];
    const rest = this.lines.flush();
    if (rest !== undefined && rest.trimEnd().endsWith('|')) this.take(rest, out);
    return out;
  }

  private take(line: string, out: MetricPoint[]): void {
    this.linesSeen++;
    const parsed = parseMegatronLine(line);
    if (!parsed) return;
    this.linesMatched++;
    if (parsed.kind === 'train') this.trainIters = parsed.trainIters;
    const p = megatronLineToPoint(parsed, this.opts);
    if (p) out.push(p);
  }
}
