// Per-row statistics of taps, reduced inside the graph (calibration: the aggregation of research/paper.md §2.2). A full tap is
// [batch, seq, width] and copying it out of ORT into a fresh JS buffer costs more than computing it; the
// importance formulas only need, per calibration row, a few reductions over its tokens:
//
//   layers.N.stats.<tap>.absmean        [batch, width]  mean_t |a[row, t, c]|          (activation score)
//   layers.N.stats.<tap>.mean           [batch, width]  mean_t a[row, t, c]            (FLAP variance,
//   layers.N.stats.<tap>.m2             [batch, width]  Σ_t (a[row, t, c] − mean)²      combined by Chan)
//   layers.N.stats.block_importance.sum [batch]         Σ_t 1 − cos(h_in[t], h_out[t])  (Block Importance)
//
// <tap> is a layer tap name without its `layers.N.` prefix (norm, mamba.x, mlp.down_proj_input, …).
// Sums over tokens run in float32 inside ORT; callers combine rows in float64.

import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import type { Value } from '../onnx/index';
import type { ForwardContext } from './forward-graph-context';

export type TapStatKind = 'absmean' | 'mean' | 'm2';
export const TAP_STAT_KINDS: readonly TapStatKind[] = ['absmean', 'mean', 'm2'];
/** torch.nn.functional.cosine_similarity clamps each norm below at this value. */
export const COSINE_NORM_EPS = 1e-8;

/** `layers.N.stats.<rest>.<kind>` for the tap `layers.N.<rest>`. */
export function tapStatName(tap: string, kind: TapStatKind): string {
  const m = /^layers\.(\d+)\.(.+)$/.exec(tap);
  if (!m) throw new HybridCompressError('OPTION_INVALID', `tap "${tap}" has no per-row statistics; only layer taps (layers.N.…) do`, { option: 'stats' });
  return `layers.${m[1]}.stats.${m[2]}.${kind}`;
}

export function blockImportanceStatName(layer: number): string {
  return `layers.${layer}.stats.block_importance.sum`;
}

/** Every statistic output the model offers, with its per-row width (1 for block importance). */
export function listStats(spec: HybridModelSpec, taps: readonly { name: string; width: number }[]): { name: string; width: number }[] {
  const out: { name: string; width: number }[] = [];
  for (const t of taps) {
    if (!t.name.startsWith('layers.')) continue;
    for (const k of TAP_STAT_KINDS) out.push({ name: tapStatName(t.name, k), width: t.width });
  }
  for (const l of spec.layers) out.push({ name: blockImportanceStatName(l.index), width: 1 });
  return out;
}

/**
 * Σ x² over one axis as ReduceSum(x·x): ORT 1.30's CPU ReduceSumSquare has no fast path (measured on
 * [8, 256, 1536] over the token axis: 22–28 ms against 4 ms for Mul + ReduceSum; over the last axis of
 * [2048, 1536]: 2.6 against 1.5 ms).
 */
function sumSquares(cx: ForwardContext, x: Value, axis: number, keepdims: boolean, name?: string): Value {
  return cx.g.reduceSum(cx.g.mul(x, x), [axis], keepdims, { name });
}

/** The statistics requested of one tap, by kind. */
function wanted(cx: ForwardContext, tap: string): TapStatKind[] {
  if (cx.statSet.size === 0 || !tap.startsWith('layers.')) return [];
  return TAP_STAT_KINDS.filter((k) => cx.statSet.has(tapStatName(tap, k)));
}

export function wantsStatsOf(cx: ForwardContext, tap: string): boolean {
  return wanted(cx, tap).length > 0;
}

/**
 * Emits the requested statistics of a tap given as x3 with tokens on `tokenAxis` and channels on the
 * other non-batch axis: [batch, seq, width] (tokenAxis 1) or channel-major [batch, width, seq] (tokenAxis 2).
 */
export function emitTapStats(cx: ForwardContext, tap: string, x3: Value, tokenAxis: 1 | 2): void {
  const g = cx.g;
  // Generated node names get a `stats/` scope, so profiles show what the statistics cost.
  g.scope('stats', () => {
    const kinds = wanted(cx, tap);
    // One mean per row serves both the `mean` output and the m2 pass.
    const mu = kinds.includes('mean') || kinds.includes('m2') ? g.reduceMean(x3, [tokenAxis], true) : undefined;
    for (const kind of kinds) {
      const name = tapStatName(tap, kind);
      if (kind === 'absmean') g.output(g.reduceMean(g.abs(x3), [tokenAxis], false, { name }));
      else if (kind === 'mean') g.output(g.squeeze(mu!, [tokenAxis], { name }));
      // Two passes over the row (mean first), so the spread is not lost against a large mean.
      else g.output(sumSquares(cx, g.sub(x3, mu!), tokenAxis, false, name));
    }
  });
}

/**
 * Σ_t (1 − cos(h_in[t], h_out[t])) per row → [batch], for h_in, h_out [batch·seq, D].
 * With â = a / max(‖a‖, ε) (torch's clamp), 1 − â·b̂ = ½‖â − b̂‖² + 1 − ½(‖â‖² + ‖b̂‖²). The last term is
 * exactly 0 unless a norm was clamped (‖â‖ = ‖a‖/max(‖a‖, ε) is then < 1), and the first has no
 * cancellation: computing 1 − cos directly in float32 loses every digit when cos ≈ 1 (layers that barely
 * change the residual stream, the very ones Block Importance is meant to find).
 */
export function emitBlockImportance(cx: ForwardContext, layer: number, hIn: Value, hOut: Value): void {
  const name = blockImportanceStatName(layer);
  if (!cx.statSet.has(name)) return;
  cx.g.scope('stats', () => emitCosineDistanceSum(cx, name, hIn, hOut));
}

function emitCosineDistanceSum(cx: ForwardContext, name: string, hIn: Value, hOut: Value): void {
  const g = cx.g;
  // Layer n's output is layer n+1's input: its unit vectors are computed once (whole-model graphs).
  const unit = (x: Value): { u: Value; ratio: Value } => {
    const norm = cx.memo(`stats:unit-norm:${x.name}`, () => g.sqrt(sumSquares(cx, x, -1, true)));
    const clamped = cx.memo(`stats:unit-clamped:${x.name}`, () => g.max(norm, COSINE_NORM_EPS));
    return { u: cx.memo(`stats:unit:${x.name}`, () => g.div(x, clamped)), ratio: cx.memo(`stats:unit-ratio:${x.name}`, () => g.div(norm, clamped)) };
  };
  const a = unit(hIn);
  const b = unit(hOut);
  const half = g.mul(sumSquares(cx, g.sub(a.u, b.u), -1, true), 0.5);
  const clampTerm = g.sub(1, g.mul(g.add(g.mul(a.ratio, a.ratio), g.mul(b.ratio, b.ratio)), 0.5));
  const perToken = g.add(half, clampTerm); // [batch·seq, 1]
  g.output(g.reduceSum(cx.to3d(perToken, [1]), [1, 2], false, { name }));
}
