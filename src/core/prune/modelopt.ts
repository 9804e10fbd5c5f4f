// The ModelOpt `export_config` equivalent to a cut (research/modelopt.md §2.1): the hparam names of
// NVIDIA ModelOpt's mcore_minitron mode, so the same architecture can be produced with
// `prune_minitron.py --prune_export_config '<json>'` on Megatron-Bridge. ModelOpt ranks with its own
// calibration pass, so it reproduces the shapes, not necessarily the same kept indices.

import type { HybridModelSpec } from '../arch/spec';
import type { PrunedDims } from './config';

export const MODELOPT_CONFIG_FILE = 'modelopt_export_config.json';

export interface ModelOptExportConfig {
  hidden_size: number;
  ffn_hidden_size?: number;
  mamba_num_heads?: number;
  mamba_head_dim?: number;
  num_attention_heads?: number;
  num_layers: number;
}

/** Every hparam of the model's axes, pruned or not (ModelOpt needs a value for each it searches). */
export function modelOptExportConfig(spec: HybridModelSpec, d: PrunedDims): ModelOptExportConfig {
  const kinds = new Set(spec.pattern);
  const out: ModelOptExportConfig = { hidden_size: d.hiddenSize, num_layers: d.keptLayers.length };
  if (kinds.has('-') && d.intermediateSize !== undefined) out.ffn_hidden_size = d.intermediateSize;
  if (kinds.has('M') && d.mambaNumHeads !== undefined) {
    out.mamba_num_heads = d.mambaNumHeads;
    out.mamba_head_dim = d.mambaHeadDim;
  }
  if (kinds.has('*') && d.numAttentionHeads !== undefined) out.num_attention_heads = d.numAttentionHeads;
  // Key order as ModelOpt's SUPPORTED_HPARAMS lists them, num_layers last.
  return Object.fromEntries(
    (['hidden_size', 'ffn_hidden_size', 'num_attention_heads', 'mamba_num_heads', 'mamba_head_dim', 'num_layers'] as const).filter((k) => out[k] !== undefined).map((k) => [k, out[k]]),
  ) as unknown as ModelOptExportConfig;
}

export function formatModelOptConfig(c: ModelOptExportConfig): string {
  return JSON.stringify(c, null, 2) + '\n';
}
