// Forward graphs of nemotron_h / mamba2 models, float32 (research/hf-formats.md §3):
//
//   h_0 = E[ids];  h_{n+1} = h_n + Mixer_n(RMSNorm_n(h_n));  logits = RMSNorm_f(h_L)·W_lmᵀ
//
// Whole model:   input_ids int64 [batch, seq] → logits f32 [batch, seq, vocab] (+ taps)
//                (opts.nll: + input labels int64 [batch, seq] → nll f32 [batch, seq] = −log p(label))
// Layer-streamed (same per-layer subgraph, so both shapes compute the same numbers):
//   embedding graph  input_ids → hidden [batch, seq, D]
//   layer graph n    hidden → hidden_out [batch, seq, D] (+ that layer's taps)
//   head graph       hidden → logits (+ norm_f tap, + nll)
//
// Taps — extra outputs [batch, seq, width], named as the reference forward names them:
//   layers.N.input, layers.N.norm (pre-norm output), layers.N.output        [D]
//   layers.N.mamba.x (x segment of in_proj, before the conv)                [I]
//   layers.N.mamba.out_proj_input (after the gated norm)                    [I]
//   layers.N.mlp.up_proj_output (before relu²), layers.N.mlp.down_proj_input [F]
//   layers.N.attention.o_proj_input                                          [Hq·d]
//   norm_f                                                                   [D]
//
// Statistics (opts.stats) — per-row reductions of the layer taps over tokens, computed in the graph so
// calibration copies [batch, width] instead of [batch, seq, width] (forward-graph-stats.ts):
//   layers.N.stats.<tap>.absmean | mean | m2                                [batch, width]
//   layers.N.stats.block_importance.sum                                     [batch]

import { HybridCompressError } from '../errors';
import type { HybridModelSpec, LayerSpec } from '../arch/spec';
import type { Graph, Value } from '../onnx/index';
import { ForwardContext, type ForwardGraphOptions } from './forward-graph-context';
import { emitMambaMixer } from './forward-graph-mamba';
import { emitAttention, emitMlp } from './forward-graph-attention';
import type { WeightSource } from './forward-weights';
import { emitBlockImportance, listStats } from './forward-graph-stats';

export { DEFAULT_CHUNK_SIZE, type ForwardGraphOptions } from './forward-graph-context';
export { blockImportanceStatName, tapStatName, TAP_STAT_KINDS, type TapStatKind } from './forward-graph-stats';

export const INPUT_IDS = 'input_ids';
export const LOGITS = 'logits';
export const HIDDEN = 'hidden';
export const HIDDEN_OUT = 'hidden_out';
export const LABELS = 'labels';
export const NLL = 'nll';

/** Every tap name the model offers, in model order, with its width. */
export function listTaps(spec: HybridModelSpec): { name: string; width: number }[] {
  const D = spec.hiddenSize;
  const out: { name: string; width: number }[] = [];
  for (const l of spec.layers) {
    const p = `layers.${l.index}`;
    out.push({ name: `${p}.input`, width: D }, { name: `${p}.norm`, width: D });
    if (l.kind === 'M') out.push({ name: `${p}.mamba.x`, width: spec.mamba!.innerSize }, { name: `${p}.mamba.out_proj_input`, width: spec.mamba!.innerSize });
    else if (l.kind === '*') out.push({ name: `${p}.attention.o_proj_input`, width: spec.attention!.numHeads * spec.attention!.headDim });
    else if (l.kind === '-') out.push({ name: `${p}.mlp.up_proj_output`, width: spec.mlp!.intermediateSize }, { name: `${p}.mlp.down_proj_input`, width: spec.mlp!.intermediateSize });
    out.push({ name: `${p}.output`, width: D });
  }
  out.push({ name: 'norm_f', width: D });
  return out;
}

/** Every per-row statistic output the model offers (opts.stats), with its width per row. */
export function listTapStats(spec: HybridModelSpec): { name: string; width: number }[] {
  return listStats(spec, listTaps(spec));
}

/** Throws a typed error for models the engine cannot run. */
export function checkRunnable(spec: HybridModelSpec): void {
  if (spec.family !== 'nemotron_h' && spec.family !== 'mamba2') {
    throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `model_type "${spec.modelType}" (${spec.family}) can be inspected but not run; the engine runs nemotron_h and mamba2`, { option: 'model_type' });
  }
  for (const l of spec.layers) {
    if (l.kind === 'E') throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `layer ${l.index} is an MoE (E) layer; the engine runs M (Mamba2), * (attention) and - (MLP) layers`, { option: 'hybrid_override_pattern' });
  }
  if (spec.pattern.includes('-') && spec.mlp && spec.mlp.activation !== 'relu2') {
    throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `mlp_hidden_act "${spec.mlp.activation}" is not supported (only relu2)`, { option: 'mlp_hidden_act' });
  }
  const m = spec.mamba;
  if (m && (m.numHeads % m.nGroups !== 0 || m.innerSize % m.normGroups !== 0)) {
    throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `mamba heads (${m.numHeads}) must be a multiple of n_groups (${m.nGroups}) and the inner size (${m.innerSize}) of the norm groups (${m.normGroups})`, { option: 'n_groups' });
  }
  const a = spec.attention;
  if (a && spec.pattern.includes('*') && a.numHeads % a.numKvHeads !== 0) {
    throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `num_attention_heads (${a.numHeads}) must be a multiple of num_key_value_heads (${a.numKvHeads})`, { option: 'num_key_value_heads' });
  }
}

function checkTaps(spec: HybridModelSpec, taps: readonly string[] | undefined, allowed?: (name: string) => boolean): void {
  if (!taps) return;
  const valid = new Set(listTaps(spec).map((t) => t.name));
  for (const t of taps) {
    if (!valid.has(t)) {
      throw new HybridCompressError('OPTION_INVALID', `tap "${t}" does not exist in this model; valid taps look like layers.N.input|norm|output, layers.N.mamba.x|out_proj_input (M layers), layers.N.mlp.up_proj_output|down_proj_input (- layers), layers.N.attention.o_proj_input (* layers), norm_f (N in 0..${spec.numLayers - 1})`, { option: 'taps' });
    }
    if (allowed && !allowed(t)) throw new HybridCompressError('OPTION_INVALID', `tap "${t}" is not computed by this graph`, { option: 'taps' });
  }
}

function checkStats(spec: HybridModelSpec, stats: readonly string[] | undefined, allowed?: (name: string) => boolean): void {
  if (!stats || stats.length === 0) return;
  const valid = new Set(listTapStats(spec).map((t) => t.name));
  for (const t of stats) {
    if (!valid.has(t)) {
      throw new HybridCompressError('OPTION_INVALID', `statistic "${t}" does not exist in this model; valid ones are layers.N.stats.<tap>.absmean|mean|m2 for a layer tap layers.N.<tap> (norm, input, output, mamba.x, mamba.out_proj_input, mlp.up_proj_output, mlp.down_proj_input, attention.o_proj_input, as the layer has them) and layers.N.stats.block_importance.sum (N in 0..${spec.numLayers - 1})`, { option: 'stats' });
    }
    if (allowed && !allowed(t)) throw new HybridCompressError('OPTION_INVALID', `statistic "${t}" is not computed by this graph`, { option: 'stats' });
  }
}

function emitLayer(cx: ForwardContext, layer: LayerSpec, h: Value): Value {
  const g = cx.g;
  const p = `layers.${layer.index}`;
  return g.scope(p, () => {
    cx.tap(`${p}.input`, h);
    const u = cx.rmsNorm(h, cx.weight(cx.roleName(layer, 'norm')));
    cx.tap(`${p}.norm`, u);
    const out = layer.kind === 'M' ? emitMambaMixer(cx, layer, u) : layer.kind === '*' ? emitAttention(cx, layer, u) : emitMlp(cx, layer, u);
    const next = g.add(h, out);
    cx.tap(`${p}.output`, next);
    emitBlockImportance(cx, layer.index, h, next);
    return next;
  });
}

/** ids [batch, seq] → h [batch·seq, D]. */
function emitEmbedding(cx: ForwardContext, ids: Value): Value {
  const g = cx.g;
  const E = cx.rawWeight(cx.spec.embedding.name);
  let rows = g.gather(E, ids, 0); // gather rows before any cast: never convert the whole table
  if (rows.dtype !== 'float32') rows = g.cast(rows, 'float32');
  return g.reshape(rows, [-1, cx.spec.hiddenSize]);
}

function emitHead(cx: ForwardContext, h: Value): void {
  const g = cx.g;
  const hf = cx.rmsNorm(h, cx.weight(cx.spec.normF.name));
  cx.tap('norm_f', hf);
  if (cx.opts.logits === false && !cx.opts.nll) return;
  if (cx.opts.lastLogits && cx.opts.nll) throw new HybridCompressError('OPTION_INVALID', 'lastLogits gives the last position only; the next-token loss (nll) needs every position', { option: 'lastLogits' });
  // The GEMM writes [batch, seq, vocab] directly: reshaping a 2-D result would copy the largest tensor.
  let hf3 = cx.to3d(hf, [cx.spec.hiddenSize]);
  if (cx.opts.lastLogits) hf3 = g.slice(hf3, [-1], [Number.MAX_SAFE_INTEGER], [1]);
  const logits = cx.mm(hf3, cx.weight((cx.spec.lmHead ?? cx.spec.embedding).name), { transB: true, name: LOGITS });
  if (cx.opts.logits !== false) g.output(logits);
  if (cx.opts.nll) {
    const labels = g.input(LABELS, 'int64', ['batch', 'seq']);
    const picked = g.gatherElements(g.logSoftmax(logits, -1), g.unsqueeze(labels, [-1]), -1);
    g.output(g.neg(g.squeeze(picked, [-1]), { name: NLL }));
  }
}

function finish(cx: ForwardContext, kind: string, extra: Record<string, string> = {}): Graph {
  const graph = cx.g.build();
  if (graph.outputs.length === 0) throw new HybridCompressError('OPTION_INVALID', `${kind} graph has no outputs (logits disabled and no taps requested)`, { option: 'taps' });
  graph.metadata = { family: cx.spec.family, kind, chunk_size: String(cx.chunkSize), dt_range: `${cx.dtRange[0]},${cx.dtRange[1]}`, ...extra };
  return graph;
}

/** The whole model in one graph: input_ids → logits (+ taps). */
export function buildForwardGraph(spec: HybridModelSpec, weights: WeightSource, opts: ForwardGraphOptions = {}): Graph {
  checkRunnable(spec);
  checkTaps(spec, opts.taps);
  checkStats(spec, opts.stats);
  const cx = new ForwardContext(spec, weights, `${spec.family}_forward`, opts);
  const ids = cx.g.input(INPUT_IDS, 'int64', ['batch', 'seq']);
  cx.setBatchSeqFrom(ids);
  let h = emitEmbedding(cx, ids);
  for (const layer of spec.layers) h = emitLayer(cx, layer, h);
  emitHead(cx, h);
  return finish(cx, 'whole');
}

/** Streamed stage 0: input_ids → hidden [batch, seq, D]. */
export function buildEmbeddingGraph(spec: HybridModelSpec, weights: WeightSource, opts: ForwardGraphOptions = {}): Graph {
  checkRunnable(spec);
  const cx = new ForwardContext(spec, weights, `${spec.family}_embedding`, opts);
  const ids = cx.g.input(INPUT_IDS, 'int64', ['batch', 'seq']);
  cx.setBatchSeqFrom(ids);
  cx.g.output(cx.to3d(emitEmbedding(cx, ids), [spec.hiddenSize], HIDDEN));
  return finish(cx, 'embedding');
}

/** Streamed stage for one layer: hidden → hidden_out (+ the layer's taps). */
export function buildLayerGraph(spec: HybridModelSpec, weights: WeightSource, layerIndex: number, opts: ForwardGraphOptions = {}): Graph {
  checkRunnable(spec);
  const layer = spec.layers[layerIndex];
  if (!layer) throw new HybridCompressError('OPTION_INVALID', `layer ${layerIndex} does not exist; the model has layers 0..${spec.numLayers - 1}`, { option: 'layer' });
  checkTaps(spec, opts.taps, (t) => t.startsWith(`layers.${layerIndex}.`));
  checkStats(spec, opts.stats, (t) => t.startsWith(`layers.${layerIndex}.`));
  const cx = new ForwardContext(spec, weights, `${spec.family}_layer_${layerIndex}`, opts);
  const hidden = cx.g.input(HIDDEN, 'float32', ['batch', 'seq', spec.hiddenSize]);
  cx.setBatchSeqFrom(hidden);
  const h = emitLayer(cx, layer, cx.g.reshape(hidden, [-1, spec.hiddenSize]));
  cx.g.output(cx.to3d(h, [spec.hiddenSize], HIDDEN_OUT));
  return finish(cx, 'layer', { layer: String(layerIndex) });
}

/** Streamed last stage: hidden → logits (+ norm_f tap). */
export function buildHeadGraph(spec: HybridModelSpec, weights: WeightSource, opts: ForwardGraphOptions = {}): Graph {
  checkRunnable(spec);
  checkTaps(spec, opts.taps, (t) => t === 'norm_f');
  checkStats(spec, opts.stats, () => false);
  const cx = new ForwardContext(spec, weights, `${spec.family}_head`, opts);
  const hidden = cx.g.input(HIDDEN, 'float32', ['batch', 'seq', spec.hiddenSize]);
  cx.setBatchSeqFrom(hidden);
  emitHead(cx, cx.g.reshape(hidden, [-1, spec.hiddenSize]));
  return finish(cx, 'head');
}
