// nemotron_h adapter (NVIDIA Nemotron-H, transformers `NemotronHForCausalLM`): layer kinds from
// `hybrid_override_pattern` or `layers_block_type`, tensor names under `backbone.` (Hub) or `model.`
// (transformers ≥ 5), `embeddings` or `embedding`. Shapes follow research/hf-formats.md §2.

import { HybridCompressError } from '../../errors';
import { ConfigReader } from '../config-reader';
import { countParams, detectNaming, layer, tensor } from '../builder';
import type { AttentionDims, HybridModelSpec, LayerKind, LayerSpec, MambaDims, MlpDims, MoeDims, TensorSpec } from '../spec';

const BLOCK_NAMES: Record<string, LayerKind> = {
  mamba: 'M',
  linear_attention: 'M',
  attention: '*',
  full_attention: '*',
  mlp: '-',
  moe: 'E',
};

export function nemotronPattern(c: ConfigReader): string {
  const hop = c.raw('hybrid_override_pattern');
  let pattern: string;
  if (hop !== undefined) {
    if (typeof hop !== 'string' || !/^[M*\-E]+$/.test(hop)) {
      throw c.error('hybrid_override_pattern', `is ${JSON.stringify(hop)}`, 'a non-empty string of M (Mamba2), * (attention), - (MLP), E (MoE)');
    }
    pattern = hop;
  } else {
    const lbt = c.raw('layers_block_type') ?? ['linear_attention', 'moe', 'full_attention', 'mlp'];
    if (!Array.isArray(lbt) || lbt.length === 0) throw c.error('layers_block_type', `is ${JSON.stringify(lbt)}`, 'a non-empty list of block names');
    pattern = lbt
      .map((name) => {
        const k = typeof name === 'string' ? BLOCK_NAMES[name] : undefined;
        if (!k) throw c.error('layers_block_type', `contains ${JSON.stringify(name)}`, `names among ${Object.keys(BLOCK_NAMES).join(', ')}`);
        return k;
      })
      .join('');
  }
  const declared = c.raw('num_hidden_layers');
  if (declared !== undefined && declared !== pattern.length) {
    throw c.error('num_hidden_layers', `is ${JSON.stringify(declared)} but the layer pattern has ${pattern.length} layers`, `${pattern.length} (or remove the key)`);
  }
  return pattern;
}

export function nemotronMambaDims(c: ConfigReader): MambaDims {
  const numHeads = c.int('mamba_num_heads', 128);
  const headDim = c.int('mamba_head_dim', 64);
  const stateSize = c.int('ssm_state_size', 128);
  const nGroups = c.int(['n_groups', 'mamba_n_groups'], 8);
  if (numHeads % nGroups !== 0) {
    throw c.error('mamba_num_heads', `is ${numHeads}, not a multiple of n_groups=${nGroups}`, `a multiple of ${nGroups}`);
  }
  const innerSize = numHeads * headDim;
  const convDim = innerSize + 2 * nGroups * stateSize;
  const limit = c.range(['time_step_limit', 'mamba_dt_limit'], [0, Infinity]);
  return {
    numHeads,
    headDim,
    stateSize,
    nGroups,
    convKernel: c.int(['conv_kernel', 'mamba_d_conv'], 4),
    convBias: c.bool(['use_conv_bias', 'mamba_conv_bias'], true),
    projBias: c.bool('use_bias', false),
    chunkSize: c.int(['chunk_size', 'mamba_chunk_size'], 128),
    timeStepLimit: limit,
    timeStepMin: c.num('time_step_min', 0.001),
    normGroups: nGroups,
    innerSize,
    convDim,
    inProjSize: innerSize + convDim + numHeads,
  };
}

export function buildNemotronH(config: Record<string, unknown>, names?: ReadonlySet<string>): HybridModelSpec {
  const c = new ConfigReader(config);
  const pattern = nemotronPattern(c);
  const D = c.int('hidden_size', 4096);
  const V = c.int('vocab_size', 131072);
  const kinds = new Set(pattern);
  const { prefix, embeddingName } = detectNaming(names, { prefix: 'backbone.', embedding: 'embeddings' });

  const mamba = kinds.has('M') ? nemotronMambaDims(c) : undefined;
  let attention: AttentionDims | undefined;
  if (kinds.has('*')) {
    const numHeads = c.int('num_attention_heads', 32);
    const numKvHeads = c.int('num_key_value_heads', 8);
    if (numHeads % numKvHeads !== 0) throw c.error('num_attention_heads', `is ${numHeads}, not a multiple of num_key_value_heads=${numKvHeads}`, `a multiple of ${numKvHeads}`);
    const headDim = c.has('head_dim', 'attention_head_dim') ? c.int(['head_dim', 'attention_head_dim']) : D / numHeads;
    if (!Number.isInteger(headDim)) throw c.error('head_dim', `is missing and hidden_size/num_attention_heads = ${headDim} is not an integer`, 'head_dim in config.json');
    attention = { numHeads, numKvHeads, headDim, bias: c.bool('attention_bias', false) };
  }
  let mlp: MlpDims | undefined;
  if (kinds.has('-')) {
    const act = c.str('mlp_hidden_act', 'relu2');
    mlp = { intermediateSize: c.int('intermediate_size', 21504), activation: act, bias: c.bool('mlp_bias', false) };
  }
  let moe: MoeDims | undefined;
  if (kinds.has('E')) {
    moe = {
      numExperts: c.int('n_routed_experts', 8),
      expertsPerToken: c.int('num_experts_per_tok', 2),
      intermediateSize: c.int('moe_intermediate_size', 7688),
      sharedIntermediateSize: c.int('moe_shared_expert_intermediate_size', 7688),
    };
  }

  const layers: LayerSpec[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const kind = pattern[i] as LayerKind;
    const p = `${prefix}layers.${i}`;
    const ts: TensorSpec[] = [tensor(`${p}.norm.weight`, [D], 'norm', 'norm', ['hidden_size'])];
    const m = `${p}.mixer`;
    if (kind === 'M') ts.push(...mambaTensors(m, mamba!, D));
    else if (kind === '*') {
      const a = attention!;
      const hk = ['num_attention_heads', 'head_dim', 'hidden_size'];
      const kvk = ['num_key_value_heads', 'head_dim', 'hidden_size'];
      ts.push(
        tensor(`${m}.q_proj.weight`, [a.numHeads * a.headDim, D], 'q_proj', 'attention', hk),
        tensor(`${m}.k_proj.weight`, [a.numKvHeads * a.headDim, D], 'k_proj', 'attention', kvk),
        tensor(`${m}.v_proj.weight`, [a.numKvHeads * a.headDim, D], 'v_proj', 'attention', kvk),
        tensor(`${m}.o_proj.weight`, [D, a.numHeads * a.headDim], 'o_proj', 'attention', hk),
      );
      if (a.bias) {
        ts.push(
          tensor(`${m}.q_proj.bias`, [a.numHeads * a.headDim], 'other', 'attention', hk),
          tensor(`${m}.k_proj.bias`, [a.numKvHeads * a.headDim], 'other', 'attention', kvk),
          tensor(`${m}.v_proj.bias`, [a.numKvHeads * a.headDim], 'other', 'attention', kvk),
          tensor(`${m}.o_proj.bias`, [D], 'other', 'attention', hk),
        );
      }
    } else if (kind === '-') {
      const F = mlp!.intermediateSize;
      const k = ['intermediate_size', 'hidden_size'];
      ts.push(tensor(`${m}.up_proj.weight`, [F, D], 'up_proj', 'mlp', k), tensor(`${m}.down_proj.weight`, [D, F], 'down_proj', 'mlp', k));
      if (mlp!.bias) ts.push(tensor(`${m}.up_proj.bias`, [F], 'up_proj_bias', 'mlp', k), tensor(`${m}.down_proj.bias`, [D], 'down_proj_bias', 'mlp', k));
    } else {
      ts.push(...moeTensors(m, moe!, D, c));
    }
    layers.push(layer(i, kind, p, ts));
  }

  const embedding = tensor(embeddingName, [V, D], 'embedding', 'embedding', ['vocab_size', 'hidden_size']);
  const normF = tensor(`${prefix}norm_f.weight`, [D], 'norm_f', 'norm', ['hidden_size']);
  const tieFlag = c.bool('tie_word_embeddings', false);
  const tiedEmbeddings = names && names.size > 0 ? !names.has('lm_head.weight') && tieFlag : tieFlag;
  const lmHead = tiedEmbeddings ? undefined : tensor('lm_head.weight', [V, D], 'lm_head', 'lm_head', ['vocab_size', 'hidden_size']);

  const runnable = !kinds.has('E') && (mlp === undefined || mlp.activation === 'relu2');
  const unsupportedReason = kinds.has('E')
    ? 'MoE (E) layers are described for inspection but the engine does not execute them yet'
    : mlp && mlp.activation !== 'relu2'
      ? `mlp_hidden_act "${mlp.activation}" is not supported (only relu2)`
      : undefined;
  if (mamba && mamba.inProjSize <= 0) throw new HybridCompressError('CONFIG_INVALID', 'config.json: Mamba dimensions give an empty in_proj');

  const partial = { embedding, normF, lmHead, layers };
  return {
    family: 'nemotron_h',
    modelType: c.str('model_type', 'nemotron_h'),
    runnable,
    unsupportedReason,
    vocabSize: V,
    hiddenSize: D,
    numLayers: pattern.length,
    pattern,
    normEps: c.num(['layer_norm_epsilon', 'rms_norm_eps'], 1e-5, { positive: true }),
    tiedEmbeddings,
    prefix,
    mamba,
    attention,
    mlp,
    moe,
    ...partial,
    params: countParams(partial),
    config,
  };
}

/** Mamba2 mixer tensors (shared by nemotron_h and mamba2; `m` is the mixer prefix). */
export interface MambaKeyNames {
  heads: string;
  headDim: string;
  groups: string;
  state: string;
  kernel: string;
}

const NEMOTRON_KEYS: MambaKeyNames = { heads: 'mamba_num_heads', headDim: 'mamba_head_dim', groups: 'n_groups', state: 'ssm_state_size', kernel: 'conv_kernel' };

export function mambaTensors(m: string, d: MambaDims, D: number, k: MambaKeyNames = NEMOTRON_KEYS): TensorSpec[] {
  const mk = [k.heads, k.headDim, k.groups, k.state];
  const ts = [
    tensor(`${m}.in_proj.weight`, [d.inProjSize, D], 'in_proj', 'mamba', [...mk, 'hidden_size']),
    tensor(`${m}.conv1d.weight`, [d.convDim, 1, d.convKernel], 'conv_weight', 'mamba', [...mk, k.kernel]),
  ];
  if (d.projBias) ts.push(tensor(`${m}.in_proj.bias`, [d.inProjSize], 'in_proj_bias', 'mamba', [...mk, 'use_bias']));
  if (d.convBias) ts.push(tensor(`${m}.conv1d.bias`, [d.convDim], 'conv_bias', 'mamba', [...mk, 'use_conv_bias']));
  ts.push(
    tensor(`${m}.A_log`, [d.numHeads], 'A_log', 'mamba', [k.heads]),
    tensor(`${m}.D`, [d.numHeads], 'D', 'mamba', [k.heads]),
    tensor(`${m}.dt_bias`, [d.numHeads], 'dt_bias', 'mamba', [k.heads]),
    tensor(`${m}.norm.weight`, [d.innerSize], 'mixer_norm', 'mamba', [k.heads, k.headDim]),
    tensor(`${m}.out_proj.weight`, [D, d.innerSize], 'out_proj', 'mamba', [k.heads, k.headDim, 'hidden_size']),
  );
  if (d.projBias) ts.push(tensor(`${m}.out_proj.bias`, [D], 'out_proj_bias', 'mamba', ['use_bias']));
  return ts;
}

function moeTensors(m: string, e: MoeDims, D: number, c: ConfigReader): TensorSpec[] {
  const latent = c.raw('moe_latent_size');
  const Dp = typeof latent === 'number' && latent > 0 ? latent : D;
  const k = ['n_routed_experts', 'moe_intermediate_size', 'hidden_size'];
  const ts: TensorSpec[] = [
    tensor(`${m}.gate.weight`, [e.numExperts, D], 'other', 'moe', k),
    tensor(`${m}.gate.e_score_correction_bias`, [e.numExperts], 'other', 'moe', k),
  ];
  for (let x = 0; x < e.numExperts; x++) {
    ts.push(tensor(`${m}.experts.${x}.up_proj.weight`, [e.intermediateSize, Dp], 'other', 'moe', k), tensor(`${m}.experts.${x}.down_proj.weight`, [Dp, e.intermediateSize], 'other', 'moe', k));
  }
  const sk = ['moe_shared_expert_intermediate_size', 'hidden_size'];
  ts.push(
    tensor(`${m}.shared_experts.up_proj.weight`, [e.sharedIntermediateSize, D], 'other', 'moe', sk),
    tensor(`${m}.shared_experts.down_proj.weight`, [D, e.sharedIntermediateSize], 'other', 'moe', sk),
  );
  if (Dp !== D) {
    ts.push(tensor(`${m}.fc1_latent_proj.weight`, [Dp, D], 'other', 'moe', ['moe_latent_size']), tensor(`${m}.fc2_latent_proj.weight`, [D, Dp], 'other', 'moe', ['moe_latent_size']));
  }
  return ts;
}
