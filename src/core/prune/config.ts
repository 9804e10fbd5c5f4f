// config.json of the pruned model: the source config with only the pruned dimensions and the layer
// pattern rewritten (key order and every other key, including non-finite numbers, preserved).

import { buildSpec, type HybridModelSpec } from '../arch/index';

/** The dimensions of a pruned model (absent axes: unchanged or not in the model). */
export interface PrunedDims {
  hiddenSize: number;
  intermediateSize?: number;
  mambaNumHeads?: number;
  mambaHeadDim?: number;
  numAttentionHeads?: number;
  /** Source indices of the surviving layers, ascending. */
  keptLayers: number[];
}

/** The source model's own dimensions, as PrunedDims (every layer kept). */
export function sourceDims(spec: HybridModelSpec): PrunedDims {
  return {
    hiddenSize: spec.hiddenSize,
    intermediateSize: spec.mlp?.intermediateSize,
    mambaNumHeads: spec.mamba?.numHeads,
    mambaHeadDim: spec.mamba?.headDim,
    numAttentionHeads: spec.attention?.numHeads,
    keptLayers: spec.layers.map((l) => l.index),
  };
}

/** Keys of config.json that change, with their new values. */
export function configChanges(spec: HybridModelSpec, d: PrunedDims): Record<string, unknown> {
  const c = spec.config;
  const out: Record<string, unknown> = {};
  const set = (key: string, value: unknown, old: unknown) => {
    if (value !== undefined && value !== old) out[key] = value;
  };
  set('hidden_size', d.hiddenSize, spec.hiddenSize);
  const layersChanged = d.keptLayers.length !== spec.numLayers;
  if (spec.family === 'mamba2') {
    set('num_heads', d.mambaNumHeads, spec.mamba!.numHeads);
    set('head_dim', d.mambaHeadDim, spec.mamba!.headDim);
    const inner = (d.mambaNumHeads ?? spec.mamba!.numHeads) * (d.mambaHeadDim ?? spec.mamba!.headDim);
    // transformers derives the inner size as expand × hidden_size with an integer expand (checkTargets
    // refuses targets that break that); write it whenever it differs from what the config gives now.
    const expand = inner / d.hiddenSize;
    if (!Number.isInteger(expand)) throw new Error(`mamba2 inner size ${inner} is not a multiple of hidden_size ${d.hiddenSize}`);
    const current = typeof c['expand'] === 'number' ? c['expand'] : 2;
    if (expand !== current) out['expand'] = expand;
    if (layersChanged || c['num_hidden_layers'] !== undefined) set('num_hidden_layers', d.keptLayers.length, c['num_hidden_layers']);
    return out;
  }
  set('intermediate_size', d.intermediateSize, spec.mlp?.intermediateSize);
  set('mamba_num_heads', d.mambaNumHeads, spec.mamba?.numHeads);
  set('mamba_head_dim', d.mambaHeadDim, spec.mamba?.headDim);
  set('num_attention_heads', d.numAttentionHeads, spec.attention?.numHeads);
  // Without an explicit head_dim, transformers derives it as hidden_size / num_attention_heads,
  // which pruning either would change: pin it.
  if (spec.attention && c['head_dim'] === undefined && c['attention_head_dim'] === undefined && ('hidden_size' in out || 'num_attention_heads' in out)) {
    out['head_dim'] = spec.attention.headDim;
  }
  if (layersChanged) {
    const pattern = d.keptLayers.map((i) => spec.pattern[i]).join('');
    if (typeof c['hybrid_override_pattern'] === 'string' || c['layers_block_type'] === undefined) out['hybrid_override_pattern'] = pattern;
    if (Array.isArray(c['layers_block_type'])) out['layers_block_type'] = d.keptLayers.map((i) => (c['layers_block_type'] as unknown[])[i]);
  }
  if (layersChanged || c['num_hidden_layers'] !== undefined) set('num_hidden_layers', d.keptLayers.length, c['num_hidden_layers']);
  return out;
}

/** A copy of `config` with `changes` applied: existing keys keep their position, new keys go last. */
export function applyConfigChanges(config: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) out[k] = k in changes ? changes[k] : v;
  for (const [k, v] of Object.entries(changes)) if (!(k in out)) out[k] = v;
  return out;
}

/** The spec of the pruned model (tensor names in the source's naming). */
export function prunedSpec(spec: HybridModelSpec, d: PrunedDims, tensorNames?: Iterable<string>): HybridModelSpec {
  return buildSpec(applyConfigChanges(spec.config, configChanges(spec, d)), tensorNames);
}

/** Parameter count of the pruned model, without writing anything. */
export function prunedParams(spec: HybridModelSpec, d: PrunedDims): number {
  return prunedSpec(spec, d).params.total;
}
