// Floating-point operations of one forward pass as the ONNX graph computes it (multiply-adds × 2, GEMMs
// and batched MatMuls only; elementwise work is not counted). Used by the bench to relate tokens/s to
// the machine's measured MatMul throughput.

import type { HybridModelSpec } from '../arch/spec';

export interface FlopBreakdown {
  /** Weight projections (in/out_proj, q/k/v/o, up/down, lm_head). */
  projections: number;
  /** Chunked SSD contractions (C·Bᵀ, intra-chunk, states, state passing, inter-chunk). */
  scan: number;
  /** Q·Kᵀ and P·V over the full [T, T] score matrix. */
  attention: number;
  total: number;
}

export function forwardFlops(spec: HybridModelSpec, batch: number, seq: number, chunkSize: number): FlopBreakdown {
  const D = spec.hiddenSize;
  const tokens = batch * seq;
  let proj = 2 * D * spec.vocabSize * tokens;
  let scan = 0;
  let attn = 0;
  for (const l of spec.layers) {
    if (l.kind === 'M') {
      const m = spec.mamba!;
      const { numHeads: H, headDim: P, nGroups: G, stateSize: N, innerSize: I, inProjSize } = m;
      proj += 2 * tokens * (D * inProjSize + I * D);
      const Q = chunkSize;
      const nC = Math.ceil(seq / Q);
      const padded = batch * nC * Q;
      scan += padded * (2 * Q * N * G + 2 * Q * P * H + 2 * N * P * H * 2) + batch * H * 2 * nC * nC * N * P;
    } else if (l.kind === '*') {
      const a = spec.attention!;
      proj += 2 * tokens * D * a.headDim * (2 * a.numHeads + 2 * a.numKvHeads);
      attn += 4 * tokens * seq * a.headDim * a.numHeads;
    } else if (l.kind === '-') {
      proj += 4 * tokens * D * spec.mlp!.intermediateSize;
    }
  }
  return { projections: proj, scan, attention: attn, total: proj + scan + attn };
}
