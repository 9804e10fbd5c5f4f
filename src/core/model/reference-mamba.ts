// Float64 Mamba2 mixer for the reference forward, step by step as research/hf-formats.md §3.3 lists
// them, with the SSM as the plain sequential recurrence (not the chunked SSD form the engine uses), so
// the two are independent computations of the same function.

import type { MambaDims } from '../arch/spec';
import { linear, silu, sliceColumns, softplusTorch, type WeightArray } from './reference-ops';

export interface MambaLayerWeights {
  inProj: WeightArray; // [2I+2GN+H, D]
  inProjBias?: WeightArray;
  convWeight: WeightArray; // [conv_dim, 1, K]
  convBias?: WeightArray;
  aLog: WeightArray; // [H]
  d: WeightArray; // [H]
  dtBias: WeightArray; // [H]
  normWeight: WeightArray; // [I]
  outProj: WeightArray; // [D, I]
  outProjBias?: WeightArray;
}

export interface MambaMixerResult {
  /** Mixer output [T, D] (before the residual add). */
  out: Float64Array;
  /** x segment of the in_proj output, before the conv [T, I]. */
  x: Float64Array;
  /** Gated-norm output = out_proj input [T, I]. */
  outProjInput: Float64Array;
}

/**
 * Depthwise causal conv over time: y[t,c] = b[c] + Σ_k w[c,0,k]·x[t−(K−1)+k, c] (zero before t=0),
 * so tap K−1 multiplies the current token. No activation.
 */
export function causalDepthwiseConv(x: Float64Array, T: number, channels: number, w: WeightArray, K: number, bias?: WeightArray): Float64Array {
  const y = new Float64Array(T * channels);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < channels; c++) {
      let s = bias ? bias[c]! : 0;
      for (let k = 0; k < K; k++) {
        const src = t - (K - 1) + k;
        if (src >= 0) s += w[c * K + k]! * x[src * channels + c]!;
      }
      y[t * channels + c] = s;
    }
  }
  return y;
}

/** dt[t,h] = clamp(softplus(dtRaw[t,h] + dtBias[h]), lo, hi). */
export function mambaTimeStep(dtRaw: Float64Array, T: number, H: number, dtBias: WeightArray, range: readonly [number, number]): Float64Array {
  const [lo, hi] = range;
  const dt = new Float64Array(T * H);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const v = softplusTorch(dtRaw[t * H + h]! + dtBias[h]!);
      dt[t * H + h] = Math.min(Math.max(v, lo), hi);
    }
  }
  return dt;
}

export interface ScanDims {
  T: number;
  H: number; // heads
  P: number; // head dim
  G: number; // B/C groups
  N: number; // state size
}

/**
 * The selective scan as a recurrence, one state S_h ∈ R^{P×N} per head, starting at zero:
 *   S_h ← exp(dt·A_h)·S_h + dt·x_t[h,:] ⊗ B_t[g(h),:],   y_t[h,p] = Σ_n S_h[p,n]·C_t[g(h),n] + D_h·x_t[h,p]
 * with g(h) = floor(h / (H/G)). x: [T, H·P], dt: [T, H], B and C: [T, G·N]; returns y [T, H·P].
 */
export function ssmScanSequential(x: Float64Array, dt: Float64Array, A: Float64Array, B: Float64Array, C: Float64Array, Dskip: WeightArray, dims: ScanDims): Float64Array {
  const { T, H, P, G, N } = dims;
  const I = H * P;
  const headsPerGroup = H / G;
  const y = new Float64Array(T * I);
  const S = new Float64Array(P * N);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / headsPerGroup);
    S.fill(0);
    for (let t = 0; t < T; t++) {
      const step = dt[t * H + h]!;
      const decay = Math.exp(step * A[h]!);
      const bo = t * G * N + g * N;
      for (let p = 0; p < P; p++) {
        const xv = x[t * I + h * P + p]!;
        let acc = 0;
        for (let n = 0; n < N; n++) {
          const s = decay * S[p * N + n]! + step * xv * B[bo + n]!;
          S[p * N + n] = s;
          acc += s * C[bo + n]!;
        }
        y[t * I + h * P + p] = acc + Dskip[h]! * xv;
      }
    }
  }
  return y;
}

/**
 * Gated RMSNorm with the gate applied first (norm_before_gate = False): v = y ⊙ silu(z), normalised
 * over `groups` contiguous groups of I/groups channels each, then scaled by w.
 */
export function gatedRmsNorm(y: Float64Array, z: Float64Array, T: number, I: number, groups: number, w: WeightArray, eps: number): Float64Array {
  const size = I / groups;
  const out = new Float64Array(T * I);
  const v = new Float64Array(size);
  for (let t = 0; t < T; t++) {
    for (let g = 0; g < groups; g++) {
      const o = t * I + g * size;
      let ss = 0;
      for (let i = 0; i < size; i++) {
        v[i] = y[o + i]! * silu(z[o + i]!);
        ss += v[i]! * v[i]!;
      }
      const inv = 1 / Math.sqrt(ss / size + eps);
      for (let i = 0; i < size; i++) out[o + i] = w[g * size + i]! * v[i]! * inv;
    }
  }
  return out;
}

/** The whole mixer on one sequence u [T, D] (the pre-norm output). */
export function mambaMixer(u: Float64Array, T: number, D: number, m: MambaDims, w: MambaLayerWeights, eps: number, dtRange: readonly [number, number]): MambaMixerResult {
  const H = m.numHeads;
  const P = m.headDim;
  const G = m.nGroups;
  const N = m.stateSize;
  const I = H * P;
  const convDim = I + 2 * G * N;
  const rows = I + convDim + H;

  const zxbcdt = linear(u, T, D, w.inProj, rows, w.inProjBias);
  const z = sliceColumns(zxbcdt, T, rows, 0, I);
  const xBC = sliceColumns(zxbcdt, T, rows, I, convDim);
  const dtRaw = sliceColumns(zxbcdt, T, rows, I + convDim, H);

  const conv = causalDepthwiseConv(xBC, T, convDim, w.convWeight, m.convKernel, w.convBias);
  for (let i = 0; i < conv.length; i++) conv[i] = silu(conv[i]!);
  const xs = sliceColumns(conv, T, convDim, 0, I);
  const B = sliceColumns(conv, T, convDim, I, G * N);
  const C = sliceColumns(conv, T, convDim, I + G * N, G * N);

  const dt = mambaTimeStep(dtRaw, T, H, w.dtBias, dtRange);
  const A = new Float64Array(H);
  for (let h = 0; h < H; h++) A[h] = -Math.exp(w.aLog[h]!);

  const y = ssmScanSequential(xs, dt, A, B, C, w.d, { T, H, P, G, N });
  const outProjInput = gatedRmsNorm(y, z, T, I, m.normGroups, w.normWeight, eps);
  const out = linear(outProjInput, T, I, w.outProj, D, w.outProjBias);
  return { out, x: sliceColumns(xBC, T, convDim, 0, I), outProjInput };
}
