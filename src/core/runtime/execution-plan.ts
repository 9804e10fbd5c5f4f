// Whole-model or layer-streamed execution, and how much memory each needs. Loads no native module (the
// CLI and the extension host use it to explain choices and out-of-memory deaths).
//
// Whole model: one ORT session holds every weight as float32 (BF16/F16 are upcast when the session is
// created) plus MLAS's pre-packed GEMM copies while they are made. Measured: a 4.5B-parameter BF16
// checkpoint grew the worker to 17.8 GB after one batch, ≈ 4 bytes per parameter settled, more while
// the session is built; we plan with WHOLE_BYTES_PER_PARAM.
// Layer-streamed (runtime/streamed-model.ts): one layer's float32 weights being used, the next layer's
// raw bytes being read, one vocabulary chunk of the head, and the hidden states of the rows in flight.

import type { HybridModelSpec } from '../arch/spec';
import { HybridCompressError } from '../errors';
import { formatBytes, memoryInfo } from '../util/memory';

export type ExecutionMode = 'auto' | 'whole' | 'streamed';
export const EXECUTION_MODES: readonly ExecutionMode[] = ['auto', 'whole', 'streamed'];

/** Planning figure for a whole-model session: float32 weights plus the transient pre-packed copies. */
export const WHOLE_BYTES_PER_PARAM = 6;
/** `auto` runs the whole model only when that estimate is at most this fraction of the available memory. */
export const WHOLE_MAX_FRACTION = 0.5;
/** Process baseline (Node, ORT, graphs) added to both estimates. */
const BASELINE_BYTES = 300e6;

/**
 * Tokens one layer-streamed ORT run may hold when the batches are smaller (runtime/row-groups.ts runsOf):
 * the weights are packed per run, so runs of at least this many tokens keep that cost small next to the
 * GEMMs; ORT's activations for it stay in the hundreds of MB even for an 8B layer.
 */
export const RUN_TOKENS = 1024;

/** Default vocabulary rows per head chunk in streamed mode (the lm_head is read in slices of this many rows). */
export const DEFAULT_HEAD_ROWS = 16384;

/** Parameters of the largest layer. */
export function largestLayerParams(spec: HybridModelSpec): number {
  return spec.layers.reduce((m, l) => Math.max(m, l.params), 0);
}

/** Bytes a whole-model session needs (weights; activations are small next to them at calibration sizes). */
export function wholeModelBytes(spec: HybridModelSpec): number {
  return BASELINE_BYTES + WHOLE_BYTES_PER_PARAM * spec.params.total;
}

/**
 * Bytes the layer-streamed engine needs with `tokens` tokens of hidden state in flight (× `states` copies,
 * e.g. one per dropped-layer hypothesis in depth KL) and micro-batches of `microTokens` tokens: the largest
 * layer's float32 weights (in use) plus its raw bytes read ahead for the next layer, a head chunk, the
 * hidden states, and the widest per-token activation of one micro-batch (a few copies of it).
 */
export function streamedBytes(spec: HybridModelSpec, o: { tokens: number; microTokens: number; states?: number; headRows?: number }): number {
  const D = spec.hiddenSize;
  const layer = largestLayerParams(spec);
  const headRows = Math.min(spec.vocabSize, o.headRows ?? DEFAULT_HEAD_ROWS);
  const weights = Math.max(layer * (4 + 4), headRows * D * (4 + 4));
  const m = spec.mamba;
  const widest = Math.max(D, spec.mlp?.intermediateSize ?? 0, m ? m.inProjSize : 0, headRows);
  const hidden = 4 * D * o.tokens * (1 + (o.states ?? 1));
  const activations = 4 * 4 * widest * o.microTokens;
  return BASELINE_BYTES + weights + hidden + activations;
}

export interface ExecutionChoice {
  mode: 'whole' | 'streamed';
  /** One line for the log: what was chosen and why. */
  reason: string;
  wholeBytes: number;
  available: number;
}

/**
 * The rule: `whole`/`streamed` as asked; `auto` → whole when wholeModelBytes ≤ WHOLE_MAX_FRACTION × the
 * memory available now (so other programs and the page cache keep room), streamed otherwise.
 */
export function chooseExecution(spec: HybridModelSpec, requested: ExecutionMode | undefined, o: { available?: number } = {}): ExecutionChoice {
  const mode = requested ?? 'auto';
  if (!EXECUTION_MODES.includes(mode)) throw new HybridCompressError('OPTION_INVALID', `--mode ${String(mode)} is not valid; use auto, whole or streamed`, { option: 'mode' });
  const available = o.available ?? memoryInfo().available;
  const wholeBytes = wholeModelBytes(spec);
  const need = `the whole model needs about ${formatBytes(wholeBytes)}, ${formatBytes(available)} is available`;
  if (mode === 'whole') return { mode, reason: `whole-model execution (--mode whole; ${need})`, wholeBytes, available };
  if (mode === 'streamed') return { mode, reason: `layer-streamed execution (--mode streamed)`, wholeBytes, available };
  const fits = wholeBytes <= WHOLE_MAX_FRACTION * available;
  return {
    mode: fits ? 'whole' : 'streamed',
    reason: fits ? `whole-model execution (${need})` : `layer-streamed execution: ${need}, more than ${Math.round(WHOLE_MAX_FRACTION * 100)}% of it (--mode whole forces the other path)`,
    wholeBytes,
    available,
  };
}

/**
 * Bytes of hidden state a layer-streamed pass may hold (the rows of a group, × the forks of depth KL):
 * a fifth of the memory available now, between 64 MB and 4 GB. More rows per group means fewer passes
 * over the weights; the cap keeps room for the layer's weights and ORT's activations.
 */
export function stateBudgetBytes(available = memoryInfo().available): number {
  return Math.max(64e6, Math.min(4e9, 0.2 * available));
}

/** What would fit, for an out-of-memory report: both paths' needs at these batch sizes. */
export function memoryHint(spec: HybridModelSpec, o: { batch: number; seqLen: number; mode?: ExecutionMode }): string {
  const micro = Math.max(o.batch * o.seqLen, RUN_TOKENS);
  const streamed = streamedBytes(spec, { tokens: micro, microTokens: micro });
  const whole = wholeModelBytes(spec);
  const tail = `the whole model needs about ${formatBytes(whole)}, layer-streamed execution about ${formatBytes(streamed)} with --batch ${o.batch} × --seq-len ${o.seqLen}`;
  return o.mode === 'whole' || (o.mode !== 'streamed' && whole > streamed) ? `${tail}: run with --mode streamed, or free memory` : `${tail}: lower --batch or --seq-len, or free memory`;
}
