// Closed-form parameter count of a pruned model, per layer kind, so the search can price millions of
// candidates without building a spec for each (tested equal to the spec-based count of config.ts).
// The count is linear in the number of kept layers of each kind, so a kept-layer set is summarised once
// (layerCounts) and every width combination is then priced in constant time (paramsFor).

import type { HybridModelSpec } from '../arch/spec';
import type { PrunedDims } from './config';

/** How many kept layers of each kind, and the parameters of kept layers carried unchanged (MoE), without their pre-norm. */
export interface LayerCounts {
  kept: number;
  mamba: number;
  mlp: number;
  attention: number;
  carried: number;
}

export function layerCounts(spec: HybridModelSpec, keptLayers: readonly number[]): LayerCounts {
  const c: LayerCounts = { kept: keptLayers.length, mamba: 0, mlp: 0, attention: 0, carried: 0 };
  for (const n of keptLayers) {
    const layer = spec.layers[n]!;
    if (layer.kind === 'M') c.mamba++;
    else if (layer.kind === '-') c.mlp++;
    else if (layer.kind === '*') c.attention++;
    else c.carried += layer.params - spec.hiddenSize; // MoE layers are carried unchanged (hidden size cannot change)
  }
  return c;
}

/** Parameters of the model with these widths (absent: the source's) over kept layers summarised by `c`. */
export function paramsFor(spec: HybridModelSpec, d: Omit<PrunedDims, 'keptLayers'>, c: LayerCounts): number {
  const D = d.hiddenSize;
  let total = spec.vocabSize * D * (spec.tiedEmbeddings ? 1 : 2) + D; // embedding, lm_head, norm_f
  total += c.kept * D; // pre-norms
  const m = spec.mamba;
  if (c.mamba > 0 && m) {
    const H = d.mambaNumHeads ?? m.numHeads;
    const I = H * (d.mambaHeadDim ?? m.headDim);
    const bc = 2 * m.nGroups * m.stateSize;
    const inProj = 2 * I + bc + H;
    const conv = I + bc;
    let layer = inProj * D + conv * m.convKernel + 3 * H + I + D * I;
    if (m.convBias) layer += conv;
    if (m.projBias) layer += inProj + D;
    total += c.mamba * layer;
  }
  const f = spec.mlp;
  if (c.mlp > 0 && f) {
    const F = d.intermediateSize ?? f.intermediateSize;
    total += c.mlp * (2 * F * D + (f.bias ? F + D : 0));
  }
  const a = spec.attention;
  if (c.attention > 0 && a) {
    const q = (d.numAttentionHeads ?? a.numHeads) * a.headDim;
    const kv = a.numKvHeads * a.headDim;
    total += c.attention * (2 * q * D + 2 * kv * D + (a.bias ? q + 2 * kv + D : 0));
  }
  return total + c.carried;
}

export function countPrunedParams(spec: HybridModelSpec, d: PrunedDims): number {
  return paramsFor(spec, d, layerCounts(spec, d.keptLayers));
}
