// Deterministic (seeded) random-weight checkpoints of nemotron_h and mamba2 of any size, including
// sparse "shape-only" ones whose data area is a file hole (for big-shape tests at no disk cost).
// Weights are initialised so the forward pass is numerically sane (unit-ish activations, dt in
// [1e-3, 1e-1], A in [-16, -1]) rather than mimicking a trained model.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSpec, allTensorSpecs, numel, type HybridModelSpec, type TensorSpec } from '../arch/index';
import { encodeFromFloat } from '../safetensors/dtype';
import { writeCheckpointShards, type TensorSource } from '../safetensors/writer';
import { encodeConfig } from '../arch/config-codec';
import { OUTPUT_MARKER } from '../runs/layout';
import { outputMarker } from '../runs/output-guard';
import { Rng } from '../util/random';
import { byteAlphabet, byteLevelBpeFiles, writeTokenizerFiles } from '../tokenizer-train/index';

export interface FixtureOptions {
  family?: 'nemotron_h' | 'mamba2';
  vocabSize?: number;
  hiddenSize?: number;
  /** nemotron_h layer pattern (M, *, -, E); mamba2 uses numLayers. */
  pattern?: string;
  numLayers?: number;
  mambaHeads?: number;
  mambaHeadDim?: number;
  stateSize?: number;
  nGroups?: number;
  convKernel?: number;
  chunkSize?: number;
  intermediateSize?: number;
  attentionHeads?: number;
  kvHeads?: number;
  attentionHeadDim?: number;
  tieEmbeddings?: boolean;
  /** Write `layers_block_type` (legacy names) instead of `hybrid_override_pattern`. */
  useLayersBlockType?: boolean;
  /** Trunk prefix on disk: "backbone." (Hub) or "model." (transformers ≥ 5). */
  prefix?: 'backbone.' | 'model.';
  /** Embedding leaf name: "embeddings" or "embedding" (mamba_ssm naming). */
  embeddingName?: 'embeddings' | 'embedding';
  timeStepLimit?: [number, number];
  dtype?: 'F32' | 'BF16' | 'F16';
  seed?: number;
  /** Shape-only: data area left as a hole (all zeros). */
  sparse?: boolean;
  maxShardBytes?: number;
  /** Extra config keys (override the generated ones). */
  extraConfig?: Record<string, unknown>;
  /** Write a tiny byte-level tokenizer.json too. */
  tokenizer?: boolean;
}

export function fixtureConfig(o: FixtureOptions = {}): Record<string, unknown> {
  const family = o.family ?? 'nemotron_h';
  const hidden = o.hiddenSize ?? 64;
  const common = {
    vocab_size: o.vocabSize ?? 272,
    hidden_size: hidden,
    layer_norm_epsilon: 1e-5,
    tie_word_embeddings: o.tieEmbeddings ?? family === 'mamba2',
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 0,
    torch_dtype: { F32: 'float32', BF16: 'bfloat16', F16: 'float16' }[o.dtype ?? 'F32'],
  };
  if (family === 'mamba2') {
    const heads = o.mambaHeads ?? 4;
    const headDim = o.mambaHeadDim ?? 16;
    return {
      model_type: 'mamba2',
      architectures: ['Mamba2ForCausalLM'],
      ...common,
      num_hidden_layers: o.numLayers ?? 2,
      num_heads: heads,
      head_dim: headDim,
      expand: (heads * headDim) / hidden,
      state_size: o.stateSize ?? 16,
      n_groups: o.nGroups ?? 1,
      conv_kernel: o.convKernel ?? 4,
      chunk_size: o.chunkSize ?? 256,
      use_bias: false,
      use_conv_bias: true,
      time_step_limit: o.timeStepLimit ?? [0.0, Infinity],
      time_step_min: 0.001,
      residual_in_fp32: true,
      ...o.extraConfig,
    };
  }
  const pattern = o.pattern ?? 'M-M*';
  const names: Record<string, string> = { M: 'mamba', '*': 'attention', '-': 'mlp', E: 'moe' };
  const attentionHeads = o.attentionHeads ?? 4;
  return {
    model_type: 'nemotron_h',
    architectures: ['NemotronHForCausalLM'],
    ...common,
    ...(o.useLayersBlockType ? { layers_block_type: [...pattern].map((c) => names[c]) } : { hybrid_override_pattern: pattern }),
    num_hidden_layers: pattern.length,
    intermediate_size: o.intermediateSize ?? 128,
    mlp_hidden_act: 'relu2',
    mlp_bias: false,
    num_attention_heads: attentionHeads,
    num_key_value_heads: o.kvHeads ?? 2,
    head_dim: o.attentionHeadDim ?? hidden / attentionHeads,
    attention_bias: false,
    mamba_num_heads: o.mambaHeads ?? 8,
    mamba_head_dim: o.mambaHeadDim ?? 8,
    ssm_state_size: o.stateSize ?? 16,
    n_groups: o.nGroups ?? 2,
    conv_kernel: o.convKernel ?? 4,
    chunk_size: o.chunkSize ?? 128,
    use_conv_bias: true,
    use_bias: false,
    mamba_hidden_act: 'silu',
    time_step_limit: o.timeStepLimit ?? [0.0, Infinity],
    time_step_min: 0.001,
    time_step_max: 0.1,
    residual_in_fp32: false,
    ...o.extraConfig,
  };
}

/** Renames spec tensor names to the requested on-disk naming. */
function diskName(name: string, o: FixtureOptions): string {
  let n = name;
  if (o.prefix === 'model.' && n.startsWith('backbone.')) n = 'model.' + n.slice('backbone.'.length);
  if (o.embeddingName === 'embedding') n = n.replace(/\.embeddings\.weight$/, '.embedding.weight');
  return n;
}

/** Seeded values for one tensor, by role. */
export function fixtureValues(t: TensorSpec, spec: HybridModelSpec, rng: Rng): Float32Array {
  const n = numel(t.shape);
  const out = new Float32Array(n);
  const fanIn = t.shape.length >= 2 ? t.shape[t.shape.length - 1]! : 1;
  switch (t.role) {
    case 'norm':
    case 'norm_f':
    case 'mixer_norm':
      for (let i = 0; i < n; i++) out[i] = 1 + 0.1 * rng.normal();
      break;
    case 'A_log':
      for (let i = 0; i < n; i++) out[i] = Math.log(rng.uniform(1, 16));
      break;
    case 'D':
      for (let i = 0; i < n; i++) out[i] = rng.uniform(0.5, 1.5);
      break;
    case 'dt_bias':
      for (let i = 0; i < n; i++) {
        const dt = Math.exp(rng.uniform(Math.log(1e-3), Math.log(1e-1)));
        out[i] = dt + Math.log(-Math.expm1(-dt)); // inverse softplus
      }
      break;
    case 'conv_weight': {
      const k = spec.mamba?.convKernel ?? 4;
      for (let i = 0; i < n; i++) out[i] = rng.uniform(-1, 1) / Math.sqrt(k);
      break;
    }
    case 'embedding':
      for (let i = 0; i < n; i++) out[i] = rng.normal();
      break;
    default:
      if (t.shape.length === 1) for (let i = 0; i < n; i++) out[i] = 0.1 * rng.normal();
      else {
        const s = 1 / Math.sqrt(fanIn);
        for (let i = 0; i < n; i++) out[i] = s * rng.normal();
      }
  }
  return out;
}

export interface WrittenFixture {
  dir: string;
  spec: HybridModelSpec;
  config: Record<string, unknown>;
  /** Float32 values as written (before any dtype rounding); empty for sparse fixtures. */
  weights: Map<string, Float32Array>;
}

export async function writeFixtureCheckpoint(dir: string, o: FixtureOptions = {}): Promise<WrittenFixture> {
  mkdirSync(dir, { recursive: true });
  const config = fixtureConfig(o);
  const spec = buildSpec(config);
  const dtype = o.dtype ?? 'F32';
  const rng = new Rng(o.seed ?? 1234);
  const weights = new Map<string, Float32Array>();
  const sources: TensorSource[] = allTensorSpecs(spec).map((t) => {
    const name = diskName(t.name, o);
    // SSM scalars stay F32 like many exports; matrices and norms take the requested dtype.
    const tdtype = t.role === 'A_log' || t.role === 'D' || t.role === 'dt_bias' ? 'F32' : dtype;
    return {
      name,
      dtype: tdtype,
      shape: t.shape,
      data: () => {
        const v = fixtureValues(t, spec, rng);
        weights.set(name, v);
        return encodeFromFloat(tdtype, v);
      },
    };
  });
  writeFileSync(join(dir, 'config.json'), encodeConfig(config));
  writeFileSync(join(dir, OUTPUT_MARKER), outputMarker('fixture'));
  // Values are drawn in model order (so the RNG stream does not depend on the write order).
  if (!o.sparse) {
    const ordered = new Map<string, Uint8Array>();
    for (const s of sources) ordered.set(s.name, await (s.data as () => Uint8Array)());
    for (const s of sources) s.data = ordered.get(s.name)!;
  }
  await writeCheckpointShards(dir, sources, { maxShardBytes: o.maxShardBytes, sparse: o.sparse });
  if (o.tokenizer) writeByteTokenizer(dir, spec.vocabSize);
  return { dir, spec: buildSpec(config, new Set(sources.map((s) => s.name))), config, weights };
}

/**
 * A minimal byte-level BPE tokenizer (no merges): specials <pad>=0, <s>=1, </s>=2, then the 256 byte
 * tokens (ids 3..258). Needs vocab_size ≥ 259.
 */
export function writeByteTokenizer(dir: string, vocabSize: number): void {
  if (vocabSize < 259) throw new Error(`byte tokenizer needs vocab_size ≥ 259, got ${vocabSize}`);
  const specials = ['<pad>', '<s>', '</s>'];
  writeTokenizerFiles(dir, byteLevelBpeFiles({ vocab: [...specials, ...byteAlphabet()], merges: [] }, specials, { bos: '<s>', eos: '</s>', pad: '<pad>' }));
}
