// The one metric-point shape every curve source produces (local runs' metrics.jsonl, Megatron
// logs, TensorBoard event files) and the extension's curve view consumes.
//
// Series names follow the local trainer's metrics.jsonl vocabulary wherever the meaning is the same
// (`loss`, `kd_loss`, `ce_loss`, `lr`, `grad_norm`, `tokens_per_s`, `elapsed_s`, `val_loss`,
// `val_ppl`), so a Megatron run and a local run plot under the same names. Other Megatron fields
// get snake_case names (see megatron-log.ts); TensorBoard tags are kept verbatim (prefixed with the
// event file's sub-folder when it is not in the followed folder itself).

export interface MetricPoint {
  /** Training step (iteration) the values belong to. */
  step: number;
  /** Series name → value. Only finite numbers; a point has at least one entry. */
  series: Record<string, number>;
  /** Wall-clock time of the point in milliseconds since the Unix epoch, when the source records it. */
  time?: number;
}

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

/** Builds a point from raw values, dropping non-finite ones; undefined when nothing is left. */
export function makePoint(step: number, values: Iterable<[string, number]>, time?: number): MetricPoint | undefined {
  const series: Record<string, number> = {};
  let n = 0;
  for (const [k, v] of values) {
    if (Number.isFinite(v)) {
      series[k] = v;
      n++;
    }
  }
  if (n === 0 || !Number.isFinite(step)) return undefined;
  return time !== undefined && Number.isFinite(time) ? { step, series, time } : { step, series };
}

/** Names of all series in `points`, in order of first appearance. */
export function seriesNames(points: readonly MetricPoint[]): string[] {
  const seen = new Set<string>();
  for (const p of points) for (const k of Object.keys(p.series)) seen.add(k);
  return [...seen];
}

/** One series as parallel arrays (for plotting): steps and values of the points that have it. */
export function seriesValues(points: readonly MetricPoint[], name: string): { steps: number[]; values: number[] } {
  const steps: number[] = [];
  const values: number[] = [];
  for (const p of points) {
    const v = p.series[name];
    if (v !== undefined) {
      steps.push(p.step);
      values.push(v);
    }
  }
  return { steps, values };
}

/**
 * The worker protocol and metrics.jsonl carry points flat (`{step, loss, lr, ...}`, see
 * jobs/protocol.ts); this converts one to the curve shape (non-finite values dropped).
 */
export function fromFlatPoint(flat: { step: number; [series: string]: number }): MetricPoint | undefined {
  return makePoint(
    flat.step,
    Object.entries(flat).filter(([k]) => k !== 'step'),
  );
}
