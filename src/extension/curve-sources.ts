// Connects the curve panels to the curve readers of src/core/curves: a run folder's metrics.jsonl, a
// Megatron-LM / Megatron-Bridge log, or TensorBoard event files (one file or a folder of them), all
// followed as they grow.

import { streamCurves, type MetricPoint } from '../core/curves/index';

export interface FollowHandlers {
  onPoints(points: MetricPoint[], reset: boolean): void;
  onWarning?(message: string): void;
}

/**
 * Follows `path` until `signal` aborts (waiting for it to appear if needed). Files of several writers
 * (event files in sub-folders) merge into one curve; a file that was replaced resets the curve.
 */
export async function followCurves(path: string, h: FollowHandlers, signal: AbortSignal, pollMs = 500): Promise<void> {
  for await (const u of streamCurves(path, { follow: true, signal, pollMs, onWarning: (w) => h.onWarning?.(w.message) })) {
    h.onPoints(u.points, u.reset === true);
  }
}
