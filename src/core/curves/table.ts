// Plain-text rendering of metric points for the `curves` command: one row per step, one column
// per series, numbers in a short fixed form. Points of the same step are merged into one row
// (TensorBoard writers emit one event per tag).

import { seriesOf, type MetricPoint } from '../runs/metric-point';

/** Compact number: integers as is (below 1e7), others with 5 significant digits. */
export function formatNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e7) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return x.toExponential(4);
  return String(Number(x.toPrecision(5)));
}

/** Merges points by step (later values of a series win), ordered by step. */
export function mergeByStep(points: readonly MetricPoint[]): MetricPoint[] {
  const byStep = new Map<number, MetricPoint>();
  for (const p of points) {
    const q = byStep.get(p.step);
    if (!q) byStep.set(p.step, { ...p });
    else Object.assign(q, p);
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

export class TableFormatter {
  private columns: string[] = [];
  private widths: number[] = [];

  /** Rows for `points`; a header line comes first whenever a new series appears. */
  rows(points: readonly MetricPoint[]): string[] {
    const out: string[] = [];
    const fresh = points.flatMap((p) => seriesOf(p).map(([k]) => k)).filter((k, i, all) => !this.columns.includes(k) && all.indexOf(k) === i);
    if (fresh.length > 0 || this.columns.length === 0) {
      this.columns.push(...fresh);
      const stepW = Math.max(4, ...points.map((p) => String(p.step).length));
      this.widths = [stepW, ...this.columns.map((c) => Math.max(c.length, 10))];
      out.push(this.line(['step', ...this.columns]));
    }
    for (const p of points) out.push(this.line([String(p.step), ...this.columns.map((c) => (p[c] !== undefined ? formatNumber(p[c]!) : ''))]));
    return out;
  }

  private line(cells: string[]): string {
    return cells.map((c, i) => c.padStart(this.widths[i] ?? c.length)).join('  ').trimEnd();
  }
}
