// Which training step runs: the one-graph step (ort-train-step.ts, fastest) or the layer-recompute step
// (layer-train-step.ts, a fraction of the memory, about a third more compute), from --recompute and, for
// `auto`, an estimate of the one-graph step's peak against the memory available now. Loads no engine code.
//
// The planning figures come from bench/train-scale.ts (123M parameters, 2 × 256 tokens): the one-graph
// step holds w, m, v and the gradient blocks ORT writes (16 B/param) and the binding's copies of the
// gradients until they are collected after the run (4); 24 B/param covers these and the rest of the
// measured peak (33.8 B/param), together with every layer's activations, about 110 bytes per token per
// layer per hidden unit (forward values kept for the backward pass and its temporaries); the layer step
// holds w, m, v and one gradient block (16 B/param), the layers' inputs, and one layer's activations at a time.

import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import { formatBytes, memoryInfo } from '../util/memory';
import { RECOMPUTE_MODES, type RecomputeMode, type TrainSettings } from './train-types';

const ONE_GRAPH_BYTES_PER_PARAM = 24;
const LAYER_BYTES_PER_PARAM = 16;
/** Activation bytes per token, per layer, per hidden unit (one-graph step, measured; see above). */
const ACTIVATION_BYTES = 110;
/** Node, ORT, graphs, data. */
const BASELINE_BYTES = 300e6;
/** `auto` keeps the one-graph step only while its estimate is at most this fraction of the available memory. */
export const ONE_GRAPH_MAX_FRACTION = 0.7;

export interface RecomputeChoice {
  mode: 'none' | 'layers';
  /** One line for the log: what was chosen and why. */
  reason: string;
  oneGraphBytes: number;
  layerBytes: number;
  available: number;
}

/** Estimated peak bytes of each training step for these settings (the teacher's forward included in both). */
export function trainingStepBytes(spec: HybridModelSpec, s: Pick<TrainSettings, 'batch' | 'seqLen'>, teacher?: HybridModelSpec): { oneGraph: number; layers: number } {
  const tokens = s.batch * s.seqLen;
  const perLayer = ACTIVATION_BYTES * tokens * spec.hiddenSize;
  const logits = 4 * tokens * spec.vocabSize;
  // The teacher's float32 weights, its activations (like the student's, forward only), its logits and their copy.
  const shared = BASELINE_BYTES + (teacher ? 4 * teacher.params.total + (perLayer / 3) * 2 + 2 * logits : 0);
  const P = spec.params.total;
  return {
    oneGraph: shared + ONE_GRAPH_BYTES_PER_PARAM * P + perLayer * spec.numLayers,
    layers: shared + LAYER_BYTES_PER_PARAM * P + 3 * perLayer + 4 * tokens * spec.hiddenSize * (spec.numLayers + 1),
  };
}

export function recomputePlan(spec: HybridModelSpec, s: Pick<TrainSettings, 'batch' | 'seqLen' | 'recompute'>, teacher?: HybridModelSpec, o: { available?: number } = {}): RecomputeChoice {
  const mode: RecomputeMode = s.recompute ?? 'auto';
  if (!RECOMPUTE_MODES.includes(mode)) throw new HybridCompressError('OPTION_INVALID', `--recompute ${String(mode)} is not valid; use ${RECOMPUTE_MODES.join(', ')}`, { option: 'recompute' });
  const available = o.available ?? memoryInfo().available;
  const est = trainingStepBytes(spec, s, teacher);
  const base = { oneGraphBytes: est.oneGraph, layerBytes: est.layers, available };
  const need = `the one-graph step needs about ${formatBytes(est.oneGraph)}, layer by layer about ${formatBytes(est.layers)}; ${formatBytes(available)} is available`;
  if (mode === 'none') return { ...base, mode, reason: `training step: one graph (--recompute none; ${need})` };
  if (mode === 'layers') return { ...base, mode, reason: `training step: layer by layer, each layer recomputed in the backward pass (--recompute layers; ${need})` };
  const fits = est.oneGraph <= ONE_GRAPH_MAX_FRACTION * available;
  return {
    ...base,
    mode: fits ? 'none' : 'layers',
    reason: fits
      ? `training step: one graph (${need})`
      : `training step: layer by layer, each layer recomputed in the backward pass: ${need}, the one-graph step would take more than ${Math.round(ONE_GRAPH_MAX_FRACTION * 100)}% of it (--recompute none forces it)`,
  };
}
