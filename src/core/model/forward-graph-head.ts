// The LM head over one slice of the vocabulary, for layer-streamed execution (runtime/streamed-model.ts):
// the lm_head is read a few thousand rows at a time, so its float32 copy never exists whole (a
// 131k × 4096 head is 2.1 GB in float32).
//
//   inputs   hidden [batch, seq, D], <norm_f weight> [D], head_weight [vocab_chunk, D]
//            (nll) labels_local int64 [batch, seq]: label − first row of the slice, clamped into it
//   outputs  (logits) logits [batch, seq, vocab_chunk]
//            (nll) lse [batch, seq] = log Σ_v∈slice exp(z_v), label_logit [batch, seq] = z[labels_local]
//
// The slices' log-sum-exps combine into the full one (max + log Σ exp(lse_c − max)), so the next-token
// loss is lse − z[label] without the [batch, seq, vocab] logits ever leaving the session. Same RMSNorm
// and the same GEMM per logit as emitHead in forward-graph.ts.

import type { HybridModelSpec } from '../arch/spec';
import type { Graph } from '../onnx/index';
import { ForwardContext, type ForwardGraphOptions } from './forward-graph-context';
import { memoryWeights } from './forward-weights';
import { HIDDEN, LOGITS, checkRunnable } from './forward-graph';

export const HEAD_WEIGHT = 'head_weight';
export const LOCAL_LABELS = 'labels_local';
export const CHUNK_LSE = 'lse';
export const LABEL_LOGIT = 'label_logit';

export interface HeadChunkGraphOptions extends Pick<ForwardGraphOptions, 'fused'> {
  /** Output the slice's logits (default true). */
  logits?: boolean;
  /** Take labels_local, output lse and label_logit. */
  nll?: boolean;
}

export function buildHeadChunkGraph(spec: HybridModelSpec, o: HeadChunkGraphOptions = {}): Graph {
  checkRunnable(spec);
  const D = spec.hiddenSize;
  const cx = new ForwardContext(spec, memoryWeights(spec, new Map(), { asInput: () => true }), `${spec.family}_head_chunk`, { fused: o.fused });
  const g = cx.g;
  const hidden = g.input(HIDDEN, 'float32', ['batch', 'seq', D]);
  cx.setBatchSeqFrom(hidden);
  const hf = cx.rmsNorm(g.reshape(hidden, [-1, D]), cx.weight(spec.normF.name));
  const w = g.input(HEAD_WEIGHT, 'float32', ['vocab_chunk', D]);
  const logits = cx.mm(cx.to3d(hf, [D]), w, { transB: true, name: o.logits === false ? undefined : LOGITS });
  if (o.logits !== false) g.output(logits);
  if (o.nll) {
    const m = g.reduceMax(logits, [-1], true);
    const lse = g.add(g.log(g.reduceSum(g.exp(g.sub(logits, m)), [-1], true)), m);
    g.output(g.squeeze(lse, [-1], { name: CHUNK_LSE }));
    const labels = g.input(LOCAL_LABELS, 'int64', ['batch', 'seq']);
    g.output(g.squeeze(g.gatherElements(logits, g.unsqueeze(labels, [-1]), -1), [-1], { name: LABEL_LOGIT }));
  }
  const graph = g.build();
  graph.metadata = { family: spec.family, kind: 'head_chunk' };
  return graph;
}
