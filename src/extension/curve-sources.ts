// Connects the curve panels to the curve readers of src/core/curves: a run folder's metrics.jsonl, a
// Megatron-LM / Megatron-Bridge log, or TensorBoard event files (one file or a folder of them), all
// followed as they grow. Points are converted to the webview protocol's flat shape.

import { streamCurves, type MetricPoint } from '../core/curves/index';
import type { CurvePoint } from '../../webview/protocol';

export function toCurvePoint(p: MetricPoint): CurvePoint {
  return { step: p.step, ...p.series };
}

export interface FollowHandlers {
  onPoints(points: CurvePoint[], reset: boolean): void;
  onWarning?(message: string): void;
}

/**
 * Follows `path` until `signal` aborts (waiting for it to appear if needed). Files of several writers
 * (event files in sub-folders) merge into one curve; a file that was replaced resets the curve.
 */
export async function followCurves(path: string, h: FollowHandlers, signal: AbortSignal, pollMs = 500): Promise<void> {
  for await (const u of streamCurves(path, { follow: true, signal, pollMs, onWarning: (w) => h.onWarning?.(w.message) })) {
    h.onPoints(u.points.map(toCurvePoint), u.reset === true);
  }
}
