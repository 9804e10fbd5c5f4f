// The pruned architectures the comparisons use, derived from the teacher's spec by fixed rules chosen
// before any result was seen (so nothing here is tuned to make a comparison come out one way).

import type { HybridModelSpec } from '../../src/core/arch/spec';
import { topK } from '../../src/core/calibrate/ranking';
import { prunedParams, sourceDims } from '../../src/core/prune/config';
import type { PruneTargets } from '../../src/core/prune/targets';

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

/** The paper's width axes (embedding channels, FFN neurons, Mamba heads; head_dim and attention untouched), on a grid. */
export function widthGrid(spec: HybridModelSpec): { hidden: number[]; ffn: number[]; heads: number[] } {
  const D = spec.hiddenSize;
  const hStep = Math.max(1, D / 16);
  const hidden: number[] = [];
  for (let h = D; h >= D / 2 - 1e-9; h -= hStep) hidden.push(Math.round(h));
  const ffn: number[] = [];
  const F = spec.mlp?.intermediateSize;
  if (F !== undefined && spec.pattern.includes('-')) for (let f = F; f >= F / 4 - 1e-9; f -= Math.max(1, F / 8)) ffn.push(Math.round(f));
  const heads: number[] = [];
  if (spec.mamba && spec.pattern.includes('M')) for (let m = spec.mamba.numHeads; m >= spec.mamba.nGroups; m -= spec.mamba.nGroups) heads.push(m);
  return { hidden, ffn, heads };
}

/** The largest relative cut over the pruned width axes (0 = nothing pruned). */
export function maxCut(spec: HybridModelSpec, t: PruneTargets): number {
  const cuts = [1 - (t.hiddenSize ?? spec.hiddenSize) / spec.hiddenSize];
  if (spec.mlp && t.ffnHiddenSize !== undefined) cuts.push(1 - t.ffnHiddenSize / spec.mlp.intermediateSize);
  if (spec.mamba && t.mambaNumHeads !== undefined) cuts.push(1 - t.mambaNumHeads / spec.mamba.numHeads);
  return Math.max(...cuts);
}

/**
 * Width-only architecture nearest `targetParams` on the grid: among candidates within `tolerance`
 * (relative) of the target, the most balanced one (smallest largest cut), then the closest; with no
 * candidate inside the tolerance, simply the closest.
 */
export function chooseWidth(spec: HybridModelSpec, targetParams: number, keptLayers: number[] = allLayers(spec), tolerance = 0.01): Arch {
  const g = widthGrid(spec);
  const ffns = g.ffn.length > 0 ? g.ffn : [undefined];
  const heads = g.heads.length > 0 ? g.heads : [undefined];
  const all: Arch[] = [];
  for (const hiddenSize of g.hidden)
    for (const intermediateSize of ffns)
      for (const mambaNumHeads of heads) {
        const targets: PruneTargets = { hiddenSize };
        if (intermediateSize !== undefined) targets.ffnHiddenSize = intermediateSize;
        if (mambaNumHeads !== undefined) targets.mambaNumHeads = mambaNumHeads;
        all.push({ targets, keptLayers, params: archParams(spec, targets, keptLayers) });
      }
  const dist = (a: Arch) => Math.abs(a.params - targetParams);
  const inside = all.filter((a) => dist(a) <= tolerance * targetParams);
  const pool = inside.length > 0 ? inside : all;
  pool.sort((a, b) => (inside.length > 0 ? maxCut(spec, a.targets) - maxCut(spec, b.targets) : 0) || dist(a) - dist(b) || (b.targets.hiddenSize ?? 0) - (a.targets.hiddenSize ?? 0));
  return pool[0]!;
}

/**
 * Depth-only architecture: keep the k layers with the highest layer scores (the paper's KL metric),
 * for the k whose parameter count is nearest `targetParams`.
 */
export function chooseDepth(spec: HybridModelSpec, layerScores: ArrayLike<number>, targetParams: number): Arch {
  let best: Arch | undefined;
  for (let k = 1; k < spec.numLayers; k++) {
    const kept = topK(layerScores, k, {}, 'layers');
    const a: Arch = { targets: {}, keptLayers: kept, params: archParams(spec, {}, kept) };
    if (!best || Math.abs(a.params - targetParams) < Math.abs(best.params - targetParams)) best = a;
  }
  return best!;
}

/** The layers not in `kept`, ascending. */
export function droppedLayers(spec: HybridModelSpec, kept: readonly number[]): number[] {
  const k = new Set(kept);
  return allLayers(spec).filter((i) => !k.has(i));
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
