// Closed-form parameter count of a pruned model, per layer kind, so the search can price thousands of
// candidates without building a spec for each (tested equal to the spec-based count of config.ts).

import type { HybridModelSpec } from '../arch/spec';
import type { PrunedDims } from './config';

export function countPrunedParams(spec: HybridModelSpec, d: PrunedDims): number {
  const D = d.hiddenSize;
  let total = spec.vocabSize * D * (spec.tiedEmbeddings ? 1 : 2) + D; // embedding, lm_head, norm_f
  const m = spec.mamba;
  const a = spec.attention;
  const f = spec.mlp;
  for (const n of d.keptLayers) {
    const layer = spec.layers[n]!;
    total += D; // pre-norm
    if (layer.kind === 'M') {
      const H = d.mambaNumHeads ?? m!.numHeads;
      const I = H * (d.mambaHeadDim ?? m!.headDim);
      const bc = 2 * m!.nGroups * m!.stateSize;
      const inProj = 2 * I + bc + H;
      const conv = I + bc;
      total += inProj * D + conv * m!.convKernel + 3 * H + I + D * I;
      if (m!.convBias) total += conv;
      if (m!.projBias) total += inProj + D;
    } else if (layer.kind === '-') {
      const F = d.intermediateSize ?? f!.intermediateSize;
      total += 2 * F * D + (f!.bias ? F + D : 0);
    } else if (layer.kind === '*') {
      const q = (d.numAttentionHeads ?? a!.numHeads) * a!.headDim;
      const kv = a!.numKvHeads * a!.headDim;
      total += 2 * q * D + 2 * kv * D + (a!.bias ? q + 2 * kv + D : 0);
    } else total += layer.params - D; // MoE layers are carried unchanged (hidden size cannot change)
  }
  return total;
}
