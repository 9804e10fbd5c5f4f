// The one table of pruning axes. Each axis has the same name everywhere — PruneTargets, the Compress
// panel, tasks.json — and from that name the CLI flag (kebab-case), the config.json key of each family
// and ModelOpt's hparam name (research/modelopt.md §2.1) follow from this table.

export const PRUNE_AXIS_KEYS = ['hiddenSize', 'ffnHiddenSize', 'mambaNumHeads', 'mambaHeadDim', 'numAttentionHeads', 'numLayers'] as const;
export type PruneAxisKey = (typeof PRUNE_AXIS_KEYS)[number];
/** The width axes (numLayers is depth). */
export type WidthAxisKey = Exclude<PruneAxisKey, 'numLayers'>;

export interface PruneAxis {
  key: PruneAxisKey;
  /** CLI flag without dashes. */
  flag: string;
  /** Label in the Compress panel. */
  label: string;
  /** The layers it changes, for "this model has no …" messages. */
  layers: string;
  /** ModelOpt's mcore_minitron hparam. */
  modelopt: string;
  /** config.json key per runnable family (absent: the family has no such axis). */
  config: { nemotron_h?: string; mamba2?: string };
}

export const PRUNE_AXES: readonly PruneAxis[] = [
  { key: 'hiddenSize', flag: 'hidden-size', label: 'Hidden size (embedding channels)', layers: 'hidden channels', modelopt: 'hidden_size', config: { nemotron_h: 'hidden_size', mamba2: 'hidden_size' } },
  { key: 'ffnHiddenSize', flag: 'ffn-hidden-size', label: 'FFN neurons per MLP layer', layers: 'MLP (-) layers', modelopt: 'ffn_hidden_size', config: { nemotron_h: 'intermediate_size' } },
  { key: 'mambaNumHeads', flag: 'mamba-num-heads', label: 'Mamba heads per layer', layers: 'Mamba (M) layers', modelopt: 'mamba_num_heads', config: { nemotron_h: 'mamba_num_heads', mamba2: 'num_heads' } },
  { key: 'mambaHeadDim', flag: 'mamba-head-dim', label: 'Mamba head channels', layers: 'Mamba (M) layers', modelopt: 'mamba_head_dim', config: { nemotron_h: 'mamba_head_dim', mamba2: 'head_dim' } },
  { key: 'numAttentionHeads', flag: 'num-attention-heads', label: 'Attention heads per layer', layers: 'attention (*) layers', modelopt: 'num_attention_heads', config: { nemotron_h: 'num_attention_heads' } },
  { key: 'numLayers', flag: 'num-layers', label: 'Layers', layers: 'layers', modelopt: 'num_layers', config: { nemotron_h: 'num_hidden_layers', mamba2: 'num_hidden_layers' } },
];

export const WIDTH_AXES = PRUNE_AXES.filter((a): a is PruneAxis & { key: WidthAxisKey } => a.key !== 'numLayers');

export function axis(key: PruneAxisKey): PruneAxis {
  return PRUNE_AXES.find((a) => a.key === key)!;
}
