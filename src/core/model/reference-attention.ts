// Float64 causal self-attention for the reference forward: no positional encoding (Nemotron-H is NoPE),
// grouped-query heads (query head i reads KV head floor(i / (Hq/Hkv))), scale head_dim^-1/2.

import type { AttentionDims } from '../arch/spec';
import { linear, type WeightArray } from './reference-ops';

export interface AttentionLayerWeights {
  q: WeightArray; // [Hq·d, D]
  k: WeightArray; // [Hkv·d, D]
  v: WeightArray; // [Hkv·d, D]
  o: WeightArray; // [D, Hq·d]
  qBias?: WeightArray;
  kBias?: WeightArray;
  vBias?: WeightArray;
  oBias?: WeightArray;
}

export interface AttentionResult {
  out: Float64Array; // [T, D]
  /** Heads concatenated in order = o_proj input [T, Hq·d]. */
  oProjInput: Float64Array;
}

export function attention(u: Float64Array, T: number, D: number, a: AttentionDims, w: AttentionLayerWeights): AttentionResult {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: d } = a;
  const q = linear(u, T, D, w.q, Hq * d, w.qBias);
  const k = linear(u, T, D, w.k, Hkv * d, w.kBias);
  const v = linear(u, T, D, w.v, Hkv * d, w.vBias);
  const scale = 1 / Math.sqrt(d);
  const perKv = Hq / Hkv;
  const ctx = new Float64Array(T * Hq * d);
  const p = new Float64Array(T);
  for (let h = 0; h < Hq; h++) {
    const kv = Math.floor(h / perKv);
    for (let i = 0; i < T; i++) {
      // Causal: keys j ≤ i only; the masked ones would get −∞ and weight 0.
      let max = -Infinity;
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[i * Hq * d + h * d + c]! * k[j * Hkv * d + kv * d + c]!;
        p[j] = s * scale;
        if (p[j]! > max) max = p[j]!;
      }
      let z = 0;
      for (let j = 0; j <= i; j++) {
        p[j] = Math.exp(p[j]! - max);
        z += p[j]!;
      }
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let j = 0; j <= i; j++) s += p[j]! * v[j * Hkv * d + kv * d + c]!;
        ctx[i * Hq * d + h * d + c] = s / z;
      }
    }
  }
  return { out: linear(ctx, T, Hq * d, w.o, D, w.oBias), oProjInput: ctx };
}
