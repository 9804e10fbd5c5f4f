// The training step graph: forward (A's forward graph with every parameter a graph input) + loss +
// reverse-mode backward, for a fixed batch × seq, as one ONNX model.
//
//   inputs:  input_ids int64 [B, T]; targets int64 [B, T] (ce, kd+ce; negative = ignored);
//            teacher_logits f32 [B, T, V] (kd, kd+ce); every parameter f32 (spec names and shapes)
//   outputs: loss, kd_loss?, ce_loss? (f32 scalars), then `<param>.grad` for every trainable parameter
//
// Frozen (non-trainable) parameters are still inputs, so one graph serves any trainable subset the
// caller picks at build time. The backward pass starts from the closed-form logits gradient of the loss
// graph (default; memory-bounded with loss chunks) or differentiates through the loss nodes.

import { HybridCompressError } from '../errors';
import { allTensorSpecs, type HybridModelSpec } from '../arch/spec';
import { buildForwardGraph, INPUT_IDS, LOGITS, type ForwardGraphOptions } from '../model/forward-graph';
import { memoryWeights } from '../model/forward-weights';
import { GraphBuilder } from '../onnx/builder';
import { serializeModel } from '../onnx/serialize';
import type { Graph } from '../onnx/types';
import { differentiate } from '../onnx/autodiff/differentiate';
import { specializeShapes } from '../onnx/autodiff/specialize';
import type { AutodiffOptions } from '../onnx/autodiff/context';
import { appendLoss, checkLossOptions, CE_LOSS, D_LOGITS, KD_LOSS, LOSS, type LossOptions } from './loss-graph';

export const TARGETS = 'targets';
export const TEACHER_LOGITS = 'teacher_logits';

export interface TrainingGraphOptions extends LossOptions {
  batch: number;
  seq: number;
  /** Parameters that get gradients (spec tensor names); default: all. */
  trainable?: readonly string[];
  /** 'closed-form' (default): seed the backward pass with d loss/d logits; 'autodiff': differentiate the loss nodes too. */
  lossGradient?: 'closed-form' | 'autodiff';
  /** Forward-graph options (chunk size, contrib ops, dt clamp mode). */
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

  const forward = buildForwardGraph(spec, memoryWeights(spec, new Map(), { asInput: () => true }), { ...o.forward, logits: true });
  const g = specializeShapes(forward, { [INPUT_IDS]: [o.batch, o.seq] });
  g.name = `${spec.family}_train_${lo.loss}`;
  const b = new GraphBuilder(g);
  const logits = b.value(LOGITS);
  const teacherLogits = lo.loss !== 'ce' ? b.input(TEACHER_LOGITS, 'float32', logits.shape.slice()) : undefined;
  const targets = lo.loss !== 'kd' ? b.input(TARGETS, 'int64', [o.batch, o.seq]) : undefined;
  const closed = (o.lossGradient ?? 'closed-form') === 'closed-form';
  const lv = appendLoss(b, logits, { ...lo, gradient: closed }, { teacherLogits, targets });
  const kept = [lv.kdLoss?.name, lv.ceLoss?.name].filter((n): n is string => n !== undefined);

  const d = closed
    ? differentiate(g, { ...o.autodiff, seeds: [{ value: LOGITS, grad: D_LOGITS }], wrt: trainable, keepOutputs: [LOSS, ...kept] })
    : differentiate(g, { ...o.autodiff, loss: LOSS, wrt: trainable, keepOutputs: kept });
  d.graph.metadata = { ...d.graph.metadata, kind: 'train', loss: lo.loss, alpha: String(lo.alpha), temperature: String(lo.temperature), batch: String(o.batch), seq: String(o.seq) };
  return {
    graph: d.graph,
    inputs: { ids: INPUT_IDS, targets: targets?.name, teacherLogits: teacherLogits?.name, params },
    outputs: { loss: LOSS, kdLoss: lv.kdLoss ? KD_LOSS : undefined, ceLoss: lv.ceLoss ? CE_LOSS : undefined, grads: d.gradients },
    model: () => serializeModel(d.graph),
  };
}
