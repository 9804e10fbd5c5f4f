// mamba2 adapter (transformers `Mamba2ForCausalLM`, and mamba_ssm's `embedding` naming): every layer is a
// Mamba2 mixer; the gated norm is not grouped (transformers' MambaRMSNormGated), the head is tied by default.

import { ConfigReader } from '../config-reader';
import { countParams, detectNaming, layer, tensor } from '../builder';
import type { HybridModelSpec, LayerSpec, MambaDims } from '../spec';
import { mambaTensors } from './nemotron-h';

const KEYS = { heads: 'num_heads', headDim: 'head_dim', groups: 'n_groups', state: 'state_size', kernel: 'conv_kernel' };

export function buildMamba2(config: Record<string, unknown>, names?: ReadonlySet<string>): HybridModelSpec {
  const c = new ConfigReader(config);
  const D = c.int('hidden_size', 768);
  const V = c.int('vocab_size', 32768);
  const L = c.int('num_hidden_layers', 64);
  const headDim = c.int('head_dim', 64);
  const expand = c.num('expand', 2);
  const numHeads = c.int('num_heads', Math.round((expand * D) / headDim));
  const nGroups = c.int('n_groups', 1);
  const stateSize = c.int('state_size', 128);
  if (numHeads % nGroups !== 0) throw c.error('num_heads', `is ${numHeads}, not a multiple of n_groups=${nGroups}`, `a multiple of ${nGroups}`);
  const innerSize = numHeads * headDim;
  if (c.has('expand') && Math.round(expand * D) !== innerSize) {
    throw c.error('num_heads', `× head_dim = ${innerSize} but expand × hidden_size = ${expand * D}`, 'num_heads × head_dim = expand × hidden_size');
  }
  const convDim = innerSize + 2 * nGroups * stateSize;
  const mamba: MambaDims = {
    numHeads,
    headDim,
    stateSize,
    nGroups,
    convKernel: c.int('conv_kernel', 4),
    convBias: c.bool('use_conv_bias', true),
    projBias: c.bool('use_bias', false),
    chunkSize: c.int('chunk_size', 256),
    timeStepLimit: c.range('time_step_limit', [0, Infinity]),
    timeStepMin: c.num('time_step_min', 0.001),
    normGroups: 1,
    innerSize,
    convDim,
    inProjSize: innerSize + convDim + numHeads,
  };
  const { prefix, embeddingName } = detectNaming(names, { prefix: 'backbone.', embedding: 'embeddings' });
  const layers: LayerSpec[] = [];
  for (let i = 0; i < L; i++) {
    const p = `${prefix}layers.${i}`;
    layers.push(layer(i, 'M', p, [tensor(`${p}.norm.weight`, [D], 'norm', 'norm', ['hidden_size']), ...mambaTensors(`${p}.mixer`, mamba, D, KEYS)]));
  }
  const embedding = tensor(embeddingName, [V, D], 'embedding', 'embedding', ['vocab_size', 'hidden_size']);
  const normF = tensor(`${prefix}norm_f.weight`, [D], 'norm_f', 'norm', ['hidden_size']);
  const tieFlag = c.bool('tie_word_embeddings', true);
  const tiedEmbeddings = names && names.size > 0 ? !names.has('lm_head.weight') && tieFlag : tieFlag;
  const lmHead = tiedEmbeddings ? undefined : tensor('lm_head.weight', [V, D], 'lm_head', 'lm_head', ['vocab_size', 'hidden_size']);
  const partial = { embedding, normF, lmHead, layers };
  return {
    family: 'mamba2',
    modelType: c.str('model_type', 'mamba2'),
    runnable: true,
    vocabSize: V,
    hiddenSize: D,
    numLayers: L,
    pattern: 'M'.repeat(L),
    normEps: c.num(['layer_norm_epsilon', 'rms_norm_eps'], 1e-5, { positive: true }),
    tiedEmbeddings,
    prefix,
    mamba,
    ...partial,
    params: countParams(partial),
    config,
  };
}
