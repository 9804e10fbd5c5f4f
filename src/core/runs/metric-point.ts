// The one metric-point shape: flat `{step, <series>: value, ...}`, e.g. {"step":10,"loss":2.31,"lr":3e-4}.
// The trainer emits it, the worker protocol carries it, metrics.jsonl stores one per line, the curve
// readers (metrics.jsonl, Megatron logs, TensorBoard event files) produce it and the curve webview draws
// it. Series names follow the local trainer's vocabulary wherever the meaning is the same (loss, kd_loss,
// ce_loss, lr, grad_norm, tokens_per_s, elapsed_s, val_loss, val_ppl), so a Megatron run and a local run
// plot under the same names. Pure (no Node imports): the webviews bundle it too.

export interface MetricPoint {
  /** Training step (iteration) the values belong to: a non-negative integer. */
  step: number;
  [series: string]: number;
}

/**
 * Validates an untrusted point (a metrics.jsonl line, a worker message, a webview message). Non-finite
 * values are kept: a diverging loss must still reach the curve. Throws a TypeError naming the field.
 */
export function parseMetricPoint(v: unknown): MetricPoint {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`a metric point must be an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  const o = v as Record<string, unknown>;
  const step = o['step'];
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) throw new TypeError(`"step" must be a non-negative integer, got ${JSON.stringify(step)}`);
  const point: MetricPoint = { step };
  for (const [k, x] of Object.entries(o)) {
    if (k === 'step') continue;
    if (typeof x !== 'number') throw new TypeError(`metric "${k}" must be a number, got ${JSON.stringify(x)}`);
    point[k] = x;
  }
  return point;
}

/** Builds a point from raw values, dropping non-finite ones (readers of logs); undefined when nothing is left. */
export function makePoint(step: number, values: Iterable<[string, number]>): MetricPoint | undefined {
  if (!Number.isInteger(step) || step < 0) return undefined;
  const p: MetricPoint = { step };
  let n = 0;
  for (const [k, v] of values) {
    if (k !== 'step' && Number.isFinite(v)) {
      p[k] = v;
      n++;
    }
  }
  return n === 0 ? undefined : p;
}

/** The series of a point (every key but `step`). */
export function seriesOf(p: MetricPoint): [string, number][] {
  return Object.entries(p).filter(([k]) => k !== 'step');
}

/** Names of all series in `points`, in order of first appearance. */
export function seriesNames(points: readonly MetricPoint[]): string[] {
  const seen = new Set<string>();
  for (const p of points) for (const k of Object.keys(p)) if (k !== 'step') seen.add(k);
  return [...seen];
}

/** One series as parallel arrays (for plotting): steps and values of the points that have it. */
export function seriesValues(points: readonly MetricPoint[], name: string): { steps: number[]; values: number[] } {
  const steps: number[] = [];
  const values: number[] = [];
  for (const p of points) {
    const v = name === 'step' ? undefined : p[name];
    if (v !== undefined) {
      steps.push(p.step);
      values.push(v);
    }
  }
  return { steps, values };
}
