// Reference forward pass of nemotron_h / mamba2 models in plain TypeScript, float64 throughout, with the
// SSM as a sequential recurrence. It is the oracle the ONNX engine and the calibration scores are tested
// against (research/hf-formats.md §3); it is slow on purpose and never used for real work.
//
//   h_0 = E[ids];  h_{n+1} = h_n + Mixer_n(RMSNorm_n(h_n));  logits = RMSNorm_f(h_L)·W_lmᵀ
//
// Taps (opts.taps), each [batch, seq, width] row-major, named as the engine names its graph outputs:
//   layers.N.input, layers.N.norm, layers.N.output            [b, t, D]
//   layers.N.mamba.x, layers.N.mamba.out_proj_input            [b, t, I]
//   layers.N.mlp.up_proj_output (before relu²), layers.N.mlp.down_proj_input   [b, t, F]
//   layers.N.attention.o_proj_input                            [b, t, Hq·d]
//   norm_f                                                     [b, t, D]

import { HybridCompressError } from '../errors';
import { numel, type HybridModelSpec, type LayerSpec, type TensorRole, type TensorSpec } from '../arch/spec';
import { attention } from './reference-attention';
import { mambaMixer } from './reference-mamba';
import { linear, relu2, rmsNorm, type WeightArray } from './reference-ops';
import type { DtClampMode } from './dt-clamp';

export interface ReferenceOptions {
  /**
   * 'config' (default): clamp dt to spec.mamba.timeStepLimit (Hub / mamba_ssm semantics).
   * 'transformers5': lower bound spec.mamba.timeStepMin instead (transformers ≥ 5 prefill; research §3.5).
   */
  dtClampMode?: DtClampMode;
  /** Also return the intermediate activations listed above. */
  taps?: boolean;
  /** Layer indices to leave out (identity instead of the residual block): for depth-importance tests. */
  skipLayers?: Iterable<number>;
}

export interface ReferenceResult {
  /** [batch, seq, vocab]. */
  logits: Float64Array;
  /** Empty unless opts.taps. */
  taps: Map<string, Float64Array>;
}

export type WeightMap = ReadonlyMap<string, WeightArray>;

function weight(weights: WeightMap, t: TensorSpec): WeightArray {
  const w = weights.get(t.name);
  if (!w) throw new HybridCompressError('CHECKPOINT_INVALID', `reference forward: tensor "${t.name}" is missing from the weights (expected shape [${t.shape.join(', ')}])`, { tensor: t.name });
  if (w.length !== numel(t.shape)) {
    throw new HybridCompressError('SHAPE_MISMATCH', `reference forward: tensor "${t.name}" has ${w.length} values; shape [${t.shape.join(', ')}] needs ${numel(t.shape)}`, { tensor: t.name });
  }
  return w;
}

function roleWeight(weights: WeightMap, layer: LayerSpec, role: TensorRole): WeightArray {
  const t = layer.tensors.find((x) => x.role === role);
  if (!t) throw new HybridCompressError('CHECKPOINT_INVALID', `reference forward: layer ${layer.index} (${layer.kind}) has no ${role} tensor in the model spec`, { tensor: `${layer.prefix}.*` });
  return weight(weights, t);
}

function optionalRole(weights: WeightMap, layer: LayerSpec, role: TensorRole): WeightArray | undefined {
  const t = layer.tensors.find((x) => x.role === role);
  return t ? weight(weights, t) : undefined;
}

/** Attention biases carry role 'other' in the spec; find them by their leaf name. */
function optionalBySuffix(weights: WeightMap, layer: LayerSpec, suffix: string): WeightArray | undefined {
  const t = layer.tensors.find((x) => x.name.endsWith(suffix));
  return t ? weight(weights, t) : undefined;
}

function checkSupported(spec: HybridModelSpec): void {
  if (spec.family !== 'nemotron_h' && spec.family !== 'mamba2') {
    throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `reference forward: family "${spec.family}" is not supported (supported: nemotron_h, mamba2)`, { option: 'model_type' });
  }
  for (const l of spec.layers) {
    if (l.kind === 'E') {
      throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `reference forward: layer ${l.index} is an MoE (E) layer; only M (Mamba2), * (attention) and - (MLP) layers are supported`, { option: 'hybrid_override_pattern' });
    }
  }
  if (spec.pattern.includes('-') && spec.mlp && spec.mlp.activation !== 'relu2') {
    throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `reference forward: mlp_hidden_act "${spec.mlp.activation}" is not supported (only relu2)`, { option: 'mlp_hidden_act' });
  }
}

function checkIds(spec: HybridModelSpec, ids: number[][]): number {
  if (ids.length === 0) throw new HybridCompressError('OPTION_INVALID', 'reference forward: ids is an empty batch; give at least one row of token ids', { option: 'ids' });
  const T = ids[0]!.length;
  ids.forEach((row, b) => {
    if (row.length !== T || T === 0) {
      throw new HybridCompressError('OPTION_INVALID', `reference forward: row ${b} has ${row.length} tokens; every row must have the same non-zero length (row 0 has ${T})`, { option: 'ids' });
    }
    row.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= spec.vocabSize) {
        throw new HybridCompressError('OPTION_INVALID', `reference forward: token ${id} at row ${b}, position ${t} is outside the vocabulary [0, ${spec.vocabSize})`, { option: 'ids' });
      }
    });
  });
  return T;
}

/** Collects per-row [T, width] taps into [batch, T, width] arrays. */
class TapSink {
  readonly taps = new Map<string, Float64Array>();
  constructor(
    private readonly enabled: boolean,
    private readonly batch: number,
    private readonly T: number,
  ) {}
  put(name: string, row: number, data: Float64Array, width: number): void {
    if (!this.enabled) return;
    let all = this.taps.get(name);
    if (!all) {
      all = new Float64Array(this.batch * this.T * width);
      this.taps.set(name, all);
    }
    all.set(data, row * this.T * width);
  }
}

export function referenceForward(spec: HybridModelSpec, weights: WeightMap, ids: number[][], opts: ReferenceOptions = {}): ReferenceResult {
  checkSupported(spec);
  const T = checkIds(spec, ids);
  const batch = ids.length;
  const D = spec.hiddenSize;
  const V = spec.vocabSize;
  const eps = spec.normEps;
  const skip = new Set(opts.skipLayers ?? []);
  const sink = new TapSink(opts.taps === true, batch, T);
  const logits = new Float64Array(batch * T * V);

  const embed = weight(weights, spec.embedding);
  const normF = weight(weights, spec.normF);
  const lmHead = spec.lmHead ? weight(weights, spec.lmHead) : embed;
  const m = spec.mamba;
  const dtRange: [number, number] | undefined = m ? (opts.dtClampMode === 'transformers5' ? [m.timeStepMin, m.timeStepLimit[1]] : [m.timeStepLimit[0], m.timeStepLimit[1]]) : undefined;

  for (let b = 0; b < batch; b++) {
    let h = new Float64Array(T * D);
    ids[b]!.forEach((id, t) => {
      for (let i = 0; i < D; i++) h[t * D + i] = embed[id * D + i]!;
    });

    for (const layer of spec.layers) {
      const n = layer.index;
      if (skip.has(n)) continue;
      sink.put(`layers.${n}.input`, b, h, D);
      const u = rmsNorm(h, T, D, roleWeight(weights, layer, 'norm'), eps);
      sink.put(`layers.${n}.norm`, b, u, D);
      let out: Float64Array;
      if (layer.kind === 'M') {
        const r = mambaMixer(u, T, D, m!, {
          inProj: roleWeight(weights, layer, 'in_proj'),
          inProjBias: optionalRole(weights, layer, 'in_proj_bias'),
          convWeight: roleWeight(weights, layer, 'conv_weight'),
          convBias: optionalRole(weights, layer, 'conv_bias'),
          aLog: roleWeight(weights, layer, 'A_log'),
          d: roleWeight(weights, layer, 'D'),
          dtBias: roleWeight(weights, layer, 'dt_bias'),
          normWeight: roleWeight(weights, layer, 'mixer_norm'),
          outProj: roleWeight(weights, layer, 'out_proj'),
          outProjBias: optionalRole(weights, layer, 'out_proj_bias'),
        }, eps, dtRange!);
        sink.put(`layers.${n}.mamba.x`, b, r.x, m!.innerSize);
        sink.put(`layers.${n}.mamba.out_proj_input`, b, r.outProjInput, m!.innerSize);
        out = r.out;
      } else if (layer.kind === '*') {
        const a = spec.attention!;
        const r = attention(u, T, D, a, {
          q: roleWeight(weights, layer, 'q_proj'),
          k: roleWeight(weights, layer, 'k_proj'),
          v: roleWeight(weights, layer, 'v_proj'),
          o: roleWeight(weights, layer, 'o_proj'),
          qBias: optionalBySuffix(weights, layer, '.q_proj.bias'),
          kBias: optionalBySuffix(weights, layer, '.k_proj.bias'),
          vBias: optionalBySuffix(weights, layer, '.v_proj.bias'),
          oBias: optionalBySuffix(weights, layer, '.o_proj.bias'),
        });
        sink.put(`layers.${n}.attention.o_proj_input`, b, r.oProjInput, a.numHeads * a.headDim);
        out = r.out;
      } else {
        const F = spec.mlp!.intermediateSize;
        const act = linear(u, T, D, roleWeight(weights, layer, 'up_proj'), F, optionalRole(weights, layer, 'up_proj_bias'));
        sink.put(`layers.${n}.mlp.up_proj_output`, b, act, F);
        for (let i = 0; i < act.length; i++) act[i] = relu2(act[i]!);
        sink.put(`layers.${n}.mlp.down_proj_input`, b, act, F);
        out = linear(act, T, F, roleWeight(weights, layer, 'down_proj'), D, optionalRole(weights, layer, 'down_proj_bias'));
      }
      const next = new Float64Array(T * D);
      for (let i = 0; i < next.length; i++) next[i] = h[i]! + out[i]!;
      h = next;
      sink.put(`layers.${n}.output`, b, h, D);
    }

    const hf = rmsNorm(h, T, D, normF, eps);
    sink.put('norm_f', b, hf, D);
    logits.set(linear(hf, T, D, lmHead, V), b * T * V);
  }
  return { logits, taps: sink.taps };
}
