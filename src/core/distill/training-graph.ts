// The training step graph: forward (A's forward graph with every parameter a graph input) + loss +
// reverse-mode backward, for a fixed batch × seq, as one ONNX model.
//
//   inputs:  input_ids int64 [B, T]; targets int64 [B, T] (ce, kd+ce; negative = ignored);
//            teacher_logits f32 [B, T, V] (kd, kd+ce); every parameter f32 (spec names and shapes)
//   outputs: loss, kd_loss?, ce_loss? (f32 scalars), then `<param>.grad` for every trainable parameter
//
// Frozen (non-trainable) parameters are still inputs, so one graph serves any trainable subset the
// caller picks at build time. By default the LM head is fused into the loss (loss-graph.ts): the
// backward pass starts from the closed-form gradients of the final hidden states and of the head weight,
// and with loss chunks no [B, T, V] logits tensor is ever materialised.

import { HybridCompressError } from '../errors';
import { allTensorSpecs, type HybridModelSpec } from '../arch/spec';
import { buildForwardGraph, INPUT_IDS, LOGITS, type ForwardGraphOptions } from '../model/forward-graph';
import { memoryWeights } from '../model/forward-weights';
import { GraphBuilder } from '../onnx/builder';
import { serializeModel } from '../onnx/serialize';
import type { Graph } from '../onnx/types';
import { differentiate, type Differentiated } from '../onnx/autodiff/differentiate';
import { specializeShapes } from '../onnx/autodiff/specialize';
import type { AutodiffOptions } from '../onnx/autodiff/context';
import { appendHeadLoss, appendLoss, checkLossOptions, CE_LOSS, KD_LOSS, LOSS, type LossInputs, type LossOptions, type LossValues } from './loss-graph';

export const TARGETS = 'targets';
export const TEACHER_LOGITS = 'teacher_logits';

/** Next-token targets: targets[b,t] = ids[b,t+1]; the last position of each row is ignored (−1). */
export function nextTokenTargets(ids: BigInt64Array, batch: number, seq: number): BigInt64Array {
  const t = new BigInt64Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i + 1 < seq; i++) t[b * seq + i] = ids[b * seq + i + 1]!;
    t[b * seq + seq - 1] = -1n;
  }
  return t;
}

/** Forward tap holding the final normed hidden states (the LM head's input). */
export const NORM_F = 'norm_f';

const lossParts = (v: LossValues) => [v.kdLoss?.name, v.ceLoss?.name].filter((n): n is string => n !== undefined);

/**
 * The fused LM head and loss (appendHeadLoss) on the graph's NORM_F tap, then the backward pass seeded by
 * their closed-form gradients (d hidden, d W_head), differentiated with respect to `o.wrt`. An untied head
 * is not bound by a forward graph without logits: its input is declared here.
 */
export function differentiateFusedHead(
  b: GraphBuilder,
  spec: HybridModelSpec,
  batch: number,
  seq: number,
  lo: LossOptions,
  io: LossInputs,
  o: Partial<AutodiffOptions> & { wrt: readonly string[]; gradName?: (wrt: string) => string },
): { lv: LossValues; d: Differentiated } {
  const g = b.graph;
  const hidden3 = b.value(NORM_F);
  const headSpec = spec.lmHead ?? spec.embedding;
  const head = g.values.get(headSpec.name) ?? b.input(headSpec.name, 'float32', headSpec.shape.slice());
  const lv = appendHeadLoss(b, b.reshape(hidden3, [batch * seq, spec.hiddenSize]), head, batch, seq, lo, io);
  const dHidden3 = b.reshape(lv.dHidden!, [batch, seq, spec.hiddenSize]);
  const seeds = [
    { value: hidden3.name, grad: dHidden3.name },
    { value: head.name, grad: lv.dWeight!.name },
  ];
  return { lv, d: differentiate(g, { ...o, seeds, keepOutputs: [LOSS, ...lossParts(lv)] }) };
}

export interface TrainingGraphOptions extends LossOptions {
  batch: number;
  seq: number;
  /** Parameters that get gradients (spec tensor names); default: all. */
  trainable?: readonly string[];
  /**
   * How the backward pass starts:
   * - 'fused-head' (default): the LM head and loss computed block by block with their closed-form
   *   gradients (d hidden, d W_head seed the backward pass); no full [B, T, V] logits or logits gradient.
   * - 'logits': the forward's logits, then the loss's closed-form d loss/d logits as the seed.
   * - 'autodiff': differentiate through the loss nodes too (a cross-check of the closed forms).
   */
  lossGradient?: 'fused-head' | 'logits' | 'autodiff';
  /**
   * Forward-graph options (chunk size, contrib ops, dt clamp mode). Default `fused: false`: measured on the
   * bench student (batch 4 × 256, 1 thread, interleaved runs) the standard-op forward trains as fast or
   * faster (median 359 vs 443 ms CPU per step) — GroupQueryAttention's backward has to recompute the
   * attention probabilities that the MatMul form keeps. Both forms are differentiable and gradient-checked.
   */
  forward?: Omit<ForwardGraphOptions, 'taps' | 'logits'>;
  autodiff?: Partial<AutodiffOptions>;
}

export interface TrainingGraph {
  graph: Graph;
  inputs: {
    ids: string;
    targets?: string;
    teacherLogits?: string;
    /** Every parameter, in model order (all are fed, trainable or not). */
    params: string[];
  };
  outputs: {
    loss: string;
    kdLoss?: string;
    ceLoss?: string;
    /** Trainable parameter → output name of its gradient. */
    grads: Map<string, string>;
  };
  /** Serialised ONNX model (deterministic bytes). */
  model(): Uint8Array;
}

export function buildTrainingGraph(spec: HybridModelSpec, o: TrainingGraphOptions): TrainingGraph {
  const lo = checkLossOptions(o);
  for (const [k, v] of [['batch', o.batch], ['seq', o.seq]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new HybridCompressError('OPTION_INVALID', `--${k === 'seq' ? 'seq-len' : k} ${v} is not valid; use a positive integer`, { option: k });
  }
  const params = allTensorSpecs(spec).map((t) => t.name);
  const known = new Set(params);
  const trainable = o.trainable ? [...new Set(o.trainable)] : params;
  for (const t of trainable) {
    if (!known.has(t)) throw new HybridCompressError('OPTION_INVALID', `trainable tensor "${t}" is not a parameter of this model (e.g. ${params.slice(0, 3).join(', ')})`, { tensor: t, option: 'trainable' });
  }

  const mode = o.lossGradient ?? 'fused-head';
  const fusedHead = mode === 'fused-head';
  const fwdOpts: ForwardGraphOptions = { fused: false, ...o.forward };
  const forward = buildForwardGraph(spec, memoryWeights(spec, new Map(), { asInput: () => true }), fusedHead ? { ...fwdOpts, logits: false, taps: [NORM_F] } : { ...fwdOpts, logits: true });
  const g = specializeShapes(forward, { [INPUT_IDS]: [o.batch, o.seq] });
  g.name = `${spec.family}_train_${lo.loss}`;
  const b = new GraphBuilder(g);
  const V = spec.vocabSize;
  const teacherLogits = lo.loss !== 'ce' ? b.input(TEACHER_LOGITS, 'float32', [o.batch, o.seq, V]) : undefined;
  const targets = lo.loss !== 'kd' ? b.input(TARGETS, 'int64', [o.batch, o.seq]) : undefined;
  let lv: LossValues;
  let d: Differentiated;
  if (fusedHead) {
    ({ lv, d } = differentiateFusedHead(b, spec, o.batch, o.seq, lo, { teacherLogits, targets }, { ...o.autodiff, wrt: trainable }));
  } else {
    const logits = b.value(LOGITS);
    lv = appendLoss(b, logits, { ...lo, gradient: mode === 'logits' }, { teacherLogits, targets });
    d =
      mode === 'logits'
        ? differentiate(g, { ...o.autodiff, seeds: [{ value: LOGITS, grad: lv.dLogits!.name }], wrt: trainable, keepOutputs: [LOSS, ...lossParts(lv)] })
        : differentiate(g, { ...o.autodiff, loss: LOSS, wrt: trainable, keepOutputs: lossParts(lv) });
  }
  d.graph.metadata = { ...d.graph.metadata, kind: 'train', loss: lo.loss, alpha: String(lo.alpha), temperature: String(lo.temperature), batch: String(o.batch), seq: String(o.seq) };
  return {
    graph: d.graph,
    inputs: { ids: INPUT_IDS, targets: targets?.name, teacherLogits: teacherLogits?.name, params },
    outputs: { loss: LOSS, kdLoss: lv.kdLoss ? KD_LOSS : undefined, ceLoss: lv.ceLoss ? CE_LOSS : undefined, grads: d.gradients },
    model: () => serializeModel(d.graph),
  };
}
