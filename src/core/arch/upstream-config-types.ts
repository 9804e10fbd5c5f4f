// The declared type of every config.json key of the runnable families, as transformers 5.18 declares
// it: the dataclass fields of `PreTrainedConfig` (configuration_utils.py), `NemotronHConfig`
// (models/nemotron_h/configuration_nemotron_h.py) and `Mamba2Config` (models/mamba2/configuration_mamba2.py).
// transformers validates these strictly on load (huggingface_hub's @strict: an int where `float` is
// declared is refused), so a value this project writes must take the declared type.
// The strings are the annotations with classes by name; test/conformance/config_types.py prints the
// same table from the installed transformers and the conformance tier checks that they agree.

export const UPSTREAM_TRANSFORMERS_VERSION = '5.18.0';

const PRETRAINED_CONFIG = {
  architectures: 'list[str] | None',
  chunk_size_feed_forward: 'int',
  dtype: 'str | dtype | None',
  id2label: 'dict[int, str] | dict[str, str] | None',
  is_encoder_decoder: 'bool',
  label2id: 'dict[str, int] | dict[str, str] | None',
  output_hidden_states: 'bool | None',
  problem_type: "Literal['regression', 'single_label_classification', 'multi_label_classification'] | None",
  return_dict: 'bool | None',
  transformers_version: 'str | None',
} as const;

const NEMOTRON_H_CONFIG = {
  ...PRETRAINED_CONFIG,
  attention_bias: 'bool',
  attention_dropout: 'float | int',
  bos_token_id: 'int | None',
  chunk_size: 'int',
  conv_kernel: 'int',
  eos_token_id: 'int | list[int] | None',
  expand: 'int',
  head_dim: 'int',
  hidden_dropout: 'float | int',
  hidden_size: 'int',
  initializer_range: 'float',
  intermediate_size: 'int',
  layer_norm_epsilon: 'float',
  layers_block_type: 'list[str] | None',
  mamba_head_dim: 'int',
  mamba_hidden_act: 'str',
  mamba_num_heads: 'int',
  mamba_proj_bias: 'bool',
  mamba_ssm_cache_dtype: 'str',
  max_position_embeddings: 'int',
  mlp_bias: 'bool',
  mlp_hidden_act: 'str',
  moe_intermediate_size: 'int',
  moe_latent_size: 'int | None',
  moe_shared_expert_intermediate_size: 'int',
  moe_shared_expert_overlap: 'bool',
  mtp_layers_block_type: 'list[str] | None',
  n_group: 'int',
  n_groups: 'int',
  n_routed_experts: 'int',
  n_shared_experts: 'int',
  norm_topk_prob: 'bool',
  num_attention_heads: 'int',
  num_experts_per_tok: 'int',
  num_key_value_heads: 'int',
  num_logits_to_keep: 'int',
  num_nextn_predict_layers: 'int',
  pad_token_id: 'int | None',
  rescale_prenorm_residual: 'bool',
  residual_in_fp32: 'bool',
  routed_scaling_factor: 'float | int',
  sliding_window: 'int | None',
  ssm_state_size: 'int',
  tie_word_embeddings: 'bool',
  time_step_floor: 'float',
  time_step_limit: 'list[float] | tuple[float, ...]',
  time_step_max: 'float',
  time_step_min: 'float',
  topk_group: 'int',
  use_bias: 'bool',
  use_cache: 'bool',
  use_conv_bias: 'bool',
  use_mamba_kernels: 'bool',
  vocab_size: 'int',
} as const;

const MAMBA2_CONFIG = {
  ...PRETRAINED_CONFIG,
  bos_token_id: 'int | None',
  chunk_size: 'int',
  conv_kernel: 'int',
  eos_token_id: 'int | list[int] | None',
  expand: 'int',
  head_dim: 'int',
  hidden_act: 'str',
  hidden_size: 'int',
  initializer_range: 'float',
  layer_norm_epsilon: 'float',
  n_groups: 'int',
  num_heads: 'int',
  num_hidden_layers: 'int',
  pad_token_id: 'int | None',
  rescale_prenorm_residual: 'bool',
  residual_in_fp32: 'bool',
  state_size: 'int',
  tie_word_embeddings: 'bool',
  time_step_floor: 'float',
  time_step_limit: 'list[float] | tuple[float, ...]',
  time_step_max: 'float',
  time_step_min: 'float',
  time_step_rank: 'str | int',
  use_bias: 'bool',
  use_cache: 'bool',
  use_conv_bias: 'bool',
  vocab_size: 'int',
} as const;

/** Declared field types per model_type. */
export const UPSTREAM_CONFIG_FIELDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  nemotron_h: NEMOTRON_H_CONFIG,
  mamba2: MAMBA2_CONFIG,
};

/** Legacy keys that `__post_init__` pops into a field (`mamba_dt_limit` → `time_step_limit`, …). */
export const UPSTREAM_CONFIG_ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  nemotron_h: {
    mamba_chunk_size: 'chunk_size',
    mamba_conv_bias: 'use_conv_bias',
    mamba_d_conv: 'conv_kernel',
    mamba_dt_init_floor: 'time_step_floor',
    mamba_dt_limit: 'time_step_limit',
    mamba_dt_max: 'time_step_max',
    mamba_dt_min: 'time_step_min',
    mamba_expand: 'expand',
    mamba_n_groups: 'n_groups',
  },
  mamba2: {},
};

/**
 * Keys that are not fields but still read: NemotronHConfig turns `hybrid_override_pattern` (a string)
 * into `layers_block_type` and ignores `num_hidden_layers` (a property derived from the pattern).
 */
const UPSTREAM_CONFIG_EXTRA: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  nemotron_h: { hybrid_override_pattern: 'str', num_hidden_layers: 'int' },
  mamba2: {},
};

/** The declared type of `key` in model_type's config class (aliases resolved), or undefined. */
export function upstreamFieldType(modelType: unknown, key: string): string | undefined {
  if (typeof modelType !== 'string') return undefined;
  const fields = UPSTREAM_CONFIG_FIELDS[modelType];
  if (!fields) return undefined;
  const target = UPSTREAM_CONFIG_ALIASES[modelType]?.[key] ?? key;
  return fields[target] ?? UPSTREAM_CONFIG_EXTRA[modelType]?.[key];
}

/**
 * How numbers under `key` must be written: 'float' when the declared type admits float (a whole
 * number then keeps its ".0", as Python writes floats), 'int' when it admits int but not float,
 * undefined when the key is not declared or holds no numbers.
 */
export function upstreamNumberKind(modelType: unknown, key: string): 'float' | 'int' | undefined {
  const t = upstreamFieldType(modelType, key);
  if (t === undefined) return undefined;
  if (/\bfloat\b/.test(t)) return 'float';
  if (/\bint\b/.test(t)) return 'int';
  return undefined;
}
