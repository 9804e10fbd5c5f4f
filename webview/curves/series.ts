// Curve data handling for the loss panel (no DOM, unit-tested): grouping series into charts,
// smoothing, log-scale filtering and thinning long series for drawing.

import type { MetricPoint } from '../protocol';

export interface Series {
  name: string;
  steps: number[];
  values: number[];
}

/** Column arrays of every series in `points` (a point may lack some series). */
export function toSeries(points: readonly MetricPoint[]): Map<string, Series> {
  const out = new Map<string, Series>();
  for (const p of points) {
    for (const [k, v] of Object.entries(p)) {
      if (k === 'step' || typeof v !== 'number') continue;
      let s = out.get(k);
      if (!s) out.set(k, (s = { name: k, steps: [], values: [] }));
      s.steps.push(p.step);
      s.values.push(v);
    }
  }
  return out;
}

/** Appends points to existing column arrays (the incremental path of live updates). */
export function appendSeries(series: Map<string, Series>, points: readonly MetricPoint[]): void {
  for (const [k, s] of toSeries(points)) {
    const cur = series.get(k);
    if (!cur) series.set(k, s);
    else {
      cur.steps.push(...s.steps);
      cur.values.push(...s.values);
    }
  }
}

export interface ChartGroup {
  id: string;
  title: string;
  series: string[];
}

const BOOKKEEPING = new Set(['elapsed_s', 'tokens_per_s', 'time', 'epoch', 'consumed_samples']);

/**
 * Charts: losses together (KD, CE, total, validation), the learning rate, then gradient norm and other
 * training series one chart each; throughput/time bookkeeping is left out.
 */
export function groupCharts(names: Iterable<string>): ChartGroup[] {
  const all = [...names];
  const losses = all.filter((n) => /loss/i.test(n));
  const lr = all.filter((n) => n === 'lr' || /learning[_ ]?rate/i.test(n));
  const rest = all.filter((n) => !losses.includes(n) && !lr.includes(n) && !BOOKKEEPING.has(n));
  const groups: ChartGroup[] = [];
  if (losses.length) groups.push({ id: 'loss', title: 'Loss', series: losses });
  if (lr.length) groups.push({ id: 'lr', title: 'Learning rate', series: lr });
  for (const n of rest) groups.push({ id: n, title: n.replace(/_/g, ' '), series: [n] });
  return groups;
}

/**
 * Exponential moving average with bias correction (as TensorBoard's smoothing slider): weight 0 is
 * the raw series, 0.99 very smooth. Non-finite values pass through and do not poison later points.
 */
export function smooth(values: readonly number[], weight: number): number[] {
  if (weight <= 0) return values.slice();
  const w = Math.min(weight, 0.999);
  const out: number[] = [];
  let last = 0;
  let n = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) {
      out.push(v);
      continue;
    }
    last = last * w + (1 - w) * v;
    n++;
    out.push(last / (1 - Math.pow(w, n)));
  }
  return out;
}

/** Indices to draw so at most about `max` points remain: every k-th plus the last, keeping each bucket's extremes. */
export function thin(values: readonly number[], max: number): number[] {
  const n = values.length;
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const bucket = Math.ceil(n / Math.max(1, Math.floor(max / 2)));
  const out: number[] = [];
  for (let start = 0; start < n; start += bucket) {
    const end = Math.min(n, start + bucket);
    let lo = start;
    let hi = start;
    for (let i = start; i < end; i++) {
      if (values[i]! < values[lo]!) lo = i;
      if (values[i]! > values[hi]!) hi = i;
    }
    out.push(...(lo < hi ? [lo, hi] : lo === hi ? [lo] : [hi, lo]));
  }
  if (out[out.length - 1] !== n - 1) out.push(n - 1);
  return out;
}

/** y-domain of the drawn values: finite (and > 0 on a log scale), padded; undefined when nothing is drawable. */
export function yDomain(values: readonly number[], log: boolean): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo === Infinity) return undefined;
  if (log) return lo === hi ? [lo / 2, hi * 2] : [lo, hi];
  if (lo === hi) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** Index of the step nearest `x` in ascending `steps` (binary search). */
export function nearestIndex(steps: readonly number[], x: number): number {
  if (steps.length === 0) return -1;
  let lo = 0;
  let hi = steps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(steps[lo - 1]! - x) <= Math.abs(steps[lo]! - x)) return lo - 1;
  return lo;
}
