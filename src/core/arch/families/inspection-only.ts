// Families that are recognised and described (layer list, parameter totals from the tensors on disk)
// but not executed: bamba, granitemoehybrid, zamba2, falcon_h1, jamba.

import { ConfigReader } from '../config-reader';
import { countParams, emptyByComponent, layer, tensor } from '../builder';
import type { Component, Family, HybridModelSpec, LayerKind, LayerSpec, TensorSpec } from '../spec';

export type ShapeMap = ReadonlyMap<string, { shape: number[] }>;

const REASONS: Record<string, string> = {
  bamba: 'Bamba (Mamba2 + attention with RoPE and SwiGLU MLPs in every layer)',
  granitemoehybrid: 'Granite 4.0-H (multiplier-scaled residuals, MoE + shared SwiGLU MLP)',
  zamba2: 'Zamba2 (shared transformer blocks with LoRA adapters)',
  falcon_h1: 'Falcon-H1 (parallel Mamba2 + attention with µP multipliers)',
  jamba: 'Jamba (Mamba-1 layers, not Mamba2)',
};

function layerPattern(family: Family, c: ConfigReader): string {
  const L = c.int('num_hidden_layers', 1);
  const kinds: LayerKind[] = new Array(L).fill('M');
  const list = (key: string) => {
    const v = c.raw(key);
    return Array.isArray(v) ? v : undefined;
  };
  if (family === 'bamba') {
    for (const i of list('attn_layer_indices') ?? []) if (typeof i === 'number' && i < L) kinds[i] = '*';
  } else if (family === 'granitemoehybrid' || family === 'zamba2') {
    const types = list('layer_types') ?? list('layers_block_type');
    types?.forEach((t, i) => {
      if (i < L) kinds[i] = t === 'attention' || t === 'full_attention' || t === 'hybrid' ? '*' : 'M';
    });
  } else if (family === 'jamba') {
    const period = c.int('attn_layer_period', 8);
    const offset = c.int('attn_layer_offset', 4, 0);
    for (let i = 0; i < L; i++) if (i % period === offset) kinds[i] = '*';
  }
  return kinds.join('');
}

function componentOf(name: string): Component {
  if (/embed/.test(name)) return 'embedding';
  if (name.startsWith('lm_head')) return 'lm_head';
  if (/(experts|router|block_sparse_moe|\.gate\.)/.test(name)) return 'moe';
  if (/(mamba|ssm)/.test(name)) return 'mamba';
  if (/(self_attn|attention|shared_transformer)/.test(name)) return 'attention';
  if (/(mlp|feed_forward)/.test(name)) return 'mlp';
  if (/norm/.test(name)) return 'norm';
  return 'other';
}

function countShapes(shapes: ShapeMap): HybridModelSpec['params'] {
  const byComponent = emptyByComponent();
  let total = 0;
  for (const [name, { shape }] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    byComponent[componentOf(name)] += n;
    total += n;
  }
  return { total, byComponent };
}

export function buildInspectionOnly(family: Family, config: Record<string, unknown>, shapes?: ShapeMap): HybridModelSpec {
  const c = new ConfigReader(config);
  const pattern = layerPattern(family, c);
  const D = c.int('hidden_size', 1);
  const V = c.int('vocab_size', 1);
  const perLayer = new Map<number, TensorSpec[]>();
  const top: TensorSpec[] = [];
  for (const [name, { shape }] of shapes ?? []) {
    const t = tensor(name, shape, 'other', componentOf(name), []);
    const m = /(?:^|\.)layers\.(\d+)\./.exec(name);
    if (m) {
      const i = Number(m[1]);
      if (!perLayer.has(i)) perLayer.set(i, []);
      perLayer.get(i)!.push(t);
    } else top.push(t);
  }
  const layers: LayerSpec[] = [...pattern].map((k, i) => {
    const ts = perLayer.get(i) ?? [];
    return layer(i, k as LayerKind, `model.layers.${i}`, ts);
  });
  const embedding = top.find((t) => t.component === 'embedding') ?? tensor('model.embed_tokens.weight', [V, D], 'embedding', 'embedding', ['vocab_size', 'hidden_size']);
  embedding.role = 'embedding';
  const lmHead = top.find((t) => t.component === 'lm_head');
  const rest = top.filter((t) => t !== embedding && t !== lmHead);
  // Top-level tensors other than the embedding/head (final norms, shared blocks) are counted through normF + an extra pseudo-layer-free list.
  const normF = rest.find((t) => t.component === 'norm') ?? tensor('model.final_layernorm.weight', [D], 'norm_f', 'norm', ['hidden_size']);
  normF.role = 'norm_f';
  const partial = { embedding, normF, lmHead, layers };
  // With the tensors known, totals are their exact sum: placeholders for an embedding or final norm
  // that the file lacks, and tensors of layers beyond the config's count, must not skew them.
  const params = shapes ? countShapes(shapes) : countParams(partial);
  return {
    family,
    modelType: c.str('model_type', family),
    runnable: false,
    unsupportedReason: `${REASONS[family] ?? family} is supported for inspection only; calibration, pruning and training need nemotron_h or mamba2`,
    vocabSize: V,
    hiddenSize: D,
    numLayers: pattern.length,
    pattern,
    normEps: c.num(['rms_norm_eps', 'layer_norm_epsilon'], 1e-5, { positive: true }),
    tiedEmbeddings: !lmHead,
    prefix: 'model.',
    ...partial,
    params,
    config,
  };
}
