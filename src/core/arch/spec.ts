// HybridModelSpec: the one description of a hybrid Mamba2/attention model that every stage reads
// (inspection, graph building, calibration, pruning, training). Produced from a config.json by a
// per-family adapter (see families/), checked against the tensors on disk by `validate.ts`.

/** One character per layer, as in Nemotron-H's `hybrid_override_pattern`. */
export type LayerKind = 'M' | '*' | '-' | 'E';

export type Family = 'nemotron_h' | 'mamba2' | 'bamba' | 'granitemoehybrid' | 'zamba2' | 'falcon_h1' | 'jamba';

/** Families the engine can run end to end; the rest are described for inspection only. */
export const RUNNABLE_FAMILIES: readonly Family[] = ['nemotron_h', 'mamba2'];

export type Component = 'embedding' | 'lm_head' | 'mamba' | 'attention' | 'mlp' | 'moe' | 'norm' | 'other';

export const COMPONENTS: readonly Component[] = ['embedding', 'lm_head', 'mamba', 'attention', 'mlp', 'moe', 'norm', 'other'];

/** Role of a tensor inside its layer (or the model), independent of on-disk naming. */
export type TensorRole =
  | 'embedding'
  | 'norm_f'
  | 'lm_head'
  | 'norm' // the layer's pre-norm
  | 'in_proj'
  | 'in_proj_bias'
  | 'conv_weight'
  | 'conv_bias'
  | 'A_log'
  | 'D'
  | 'dt_bias'
  | 'mixer_norm' // gated RMSNorm weight
  | 'out_proj'
  | 'out_proj_bias'
  | 'q_proj'
  | 'k_proj'
  | 'v_proj'
  | 'o_proj'
  | 'up_proj'
  | 'down_proj'
  | 'up_proj_bias'
  | 'down_proj_bias'
  | 'other';

export interface TensorSpec {
  /** Name in the checkpoint (with the checkpoint's own prefix). */
  name: string;
  shape: number[];
  role: TensorRole;
  component: Component;
  /** Config keys the shape is derived from, quoted in shape-mismatch errors. */
  keys: string[];
}

export interface MambaDims {
  numHeads: number; // H
  headDim: number; // P
  stateSize: number; // N
  nGroups: number; // G (B/C groups)
  convKernel: number; // K
  convBias: boolean;
  projBias: boolean; // bias on in_proj / out_proj
  chunkSize: number;
  /** dt clamp (lo, hi) = config.time_step_limit, default (0, inf). */
  timeStepLimit: [number, number];
  /** transformers-5.x clamps prefill dt below at this value (see research notes §3.5). */
  timeStepMin: number;
  /** Groups of the gated RMSNorm: n_groups for nemotron_h, 1 for mamba2 (transformers' ungrouped norm). */
  normGroups: number;
  /** Derived: I = H·P, conv_dim = I + 2GN, in_proj rows = 2I + 2GN + H. */
  innerSize: number;
  convDim: number;
  inProjSize: number;
}

export interface AttentionDims {
  numHeads: number; // Hq
  numKvHeads: number; // Hkv
  headDim: number; // d
  bias: boolean;
}

export interface MlpDims {
  intermediateSize: number;
  activation: string; // 'relu2'
  bias: boolean;
}

export interface MoeDims {
  numExperts: number;
  expertsPerToken: number;
  intermediateSize: number;
  sharedIntermediateSize: number;
}

export interface LayerSpec {
  index: number;
  kind: LayerKind;
  /** Name prefix of the layer's tensors, e.g. "backbone.layers.3". */
  prefix: string;
  tensors: TensorSpec[];
  params: number;
}

export interface HybridModelSpec {
  family: Family;
  /** config.model_type as written. */
  modelType: string;
  /** False for inspection-only families; `unsupportedReason` explains what is missing. */
  runnable: boolean;
  unsupportedReason?: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  /** One LayerKind per layer. */
  pattern: string;
  normEps: number;
  /** The lm_head reads the embedding matrix (no lm_head.weight in the checkpoint). */
  tiedEmbeddings: boolean;
  /** Prefix of trunk tensors: "backbone." or "model.". */
  prefix: string;
  mamba?: MambaDims;
  attention?: AttentionDims;
  mlp?: MlpDims;
  moe?: MoeDims;
  embedding: TensorSpec;
  normF: TensorSpec;
  /** Absent when tied. */
  lmHead?: TensorSpec;
  layers: LayerSpec[];
  params: { total: number; byComponent: Record<Component, number> };
  /** The raw config.json (non-finite numbers preserved). */
  config: Record<string, unknown>;
}

/** Every tensor the spec expects, in model order. */
export function allTensorSpecs(spec: HybridModelSpec): TensorSpec[] {
  const out: TensorSpec[] = [spec.embedding];
  for (const l of spec.layers) out.push(...l.tensors);
  out.push(spec.normF);
  if (spec.lmHead) out.push(spec.lmHead);
  return out;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function layerTensor(layer: LayerSpec, role: TensorRole): TensorSpec | undefined {
  return layer.tensors.find((t) => t.role === role);
}

export function requireLayerTensor(layer: LayerSpec, role: TensorRole): TensorSpec {
  const t = layerTensor(layer, role);
  if (!t) throw new Error(`layer ${layer.index} (${layer.kind}) has no ${role} tensor`);
  return t;
}

/** Head h of a Mamba layer reads B/C group g(h) = floor(h / (H/G)). */
export function mambaGroupOfHead(m: Pick<MambaDims, 'numHeads' | 'nGroups'>, h: number): number {
  return Math.floor(h / (m.numHeads / m.nGroups));
}

/** Query head i of an attention layer reads KV head floor(i / (Hq/Hkv)). */
export function kvHeadOfQueryHead(a: Pick<AttentionDims, 'numHeads' | 'numKvHeads'>, i: number): number {
  return Math.floor(i / (a.numHeads / a.numKvHeads));
}
