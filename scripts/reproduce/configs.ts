// The pruned architectures the comparisons use, derived from the teacher's spec by fixed rules chosen
// before any result was seen (so nothing here is tuned to make a comparison come out one way); section
// 4's width and mixed models come from the project's search instead (experiments.ts).

import type { HybridModelSpec } from '../../src/core/arch/spec';
import { topK } from '../../src/core/calibrate/ranking';
import { prunedParams, sourceDims } from '../../src/core/prune/config';
import type { PruneTargets } from '../../src/core/prune/targets';
import { droppedLayers } from '../../src/core/prune/search';

/** Width targets plus the kept layers (ascending source indices), as one candidate architecture. */
export interface Arch {
  targets: PruneTargets;
  keptLayers: number[];
  params: number;
}

const allLayers = (spec: HybridModelSpec) => spec.layers.map((l) => l.index);

/** Parameters of the model with these width targets and kept layers. */
export function archParams(spec: HybridModelSpec, t: PruneTargets, keptLayers: number[] = allLayers(spec)): number {
  const d = sourceDims(spec);
  return prunedParams(spec, {
    hiddenSize: t.hiddenSize ?? d.hiddenSize,
    intermediateSize: t.ffnHiddenSize ?? d.intermediateSize,
    mambaNumHeads: t.mambaNumHeads ?? d.mambaNumHeads,
    mambaHeadDim: t.mambaHeadDim ?? d.mambaHeadDim,
    numAttentionHeads: t.numAttentionHeads ?? d.numAttentionHeads,
    keptLayers,
  });
}

/** `fraction × size` rounded to a multiple of `step`, kept within [step, size]. */
export function scaled(size: number, fraction: number, step: number): number {
  return Math.min(size, Math.max(step, Math.round((size * fraction) / step) * step));
}

/**
 * Depth-only architecture: keep the k layers with the highest layer scores (the paper's KL metric),
 * for the k whose parameter count is nearest `targetParams` among those of at least `minParams` (if any).
 */
export function chooseDepth(spec: HybridModelSpec, layerScores: ArrayLike<number>, targetParams: number, minParams = 0): Arch {
  let best: Arch | undefined;
  for (let k = 1; k < spec.numLayers; k++) {
    const kept = topK(layerScores, k, {}, 'layers');
    const a: Arch = { targets: {}, keptLayers: kept, params: archParams(spec, {}, kept) };
    // Below minParams only while nothing at or above it has been seen (params grow with k).
    const better = !best || (best.params < minParams && a.params >= minParams) || ((a.params >= minParams) === (best.params >= minParams) && Math.abs(a.params - targetParams) < Math.abs(best.params - targetParams));
    if (better) best = a;
  }
  return best!;
}

/** A short human description of an architecture relative to the teacher. */
export function describeArch(spec: HybridModelSpec, t: PruneTargets, keptLayers?: readonly number[]): string {
  const parts: string[] = [];
  if (t.hiddenSize !== undefined && t.hiddenSize !== spec.hiddenSize) parts.push(`hidden ${spec.hiddenSize}→${t.hiddenSize}`);
  if (spec.mlp && t.ffnHiddenSize !== undefined && t.ffnHiddenSize !== spec.mlp.intermediateSize) parts.push(`FFN ${spec.mlp.intermediateSize}→${t.ffnHiddenSize}`);
  if (spec.mamba && t.mambaNumHeads !== undefined && t.mambaNumHeads !== spec.mamba.numHeads) parts.push(`Mamba heads ${spec.mamba.numHeads}→${t.mambaNumHeads}`);
  if (spec.mamba && t.mambaHeadDim !== undefined && t.mambaHeadDim !== spec.mamba.headDim) parts.push(`head channels ${spec.mamba.headDim}→${t.mambaHeadDim}`);
  if (spec.attention && t.numAttentionHeads !== undefined && t.numAttentionHeads !== spec.attention.numHeads) parts.push(`attention heads ${spec.attention.numHeads}→${t.numAttentionHeads}`);
  if (keptLayers && keptLayers.length !== spec.numLayers) {
    const pattern = keptLayers.map((i) => spec.pattern[i]).join('');
    parts.push(`layers ${spec.numLayers}→${keptLayers.length} (drop ${droppedLayers(spec, keptLayers).join(', ')}; pattern ${pattern})`);
  }
  return parts.length > 0 ? parts.join(', ') : 'unpruned';
}
