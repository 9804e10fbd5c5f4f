// The calibration row length when --seq-len is not given: the paper's 8192 tokens (Minitron-SSM §2.2)
// where the memory allows, else the longest power of two below it that fits, said in the log. The
// estimate is runtime/execution-plan.ts's for the path the run will take, plus the depth-KL pass's
// extra hidden states and logits (the full model's and one dropped layer's at a time).

import type { HybridModelSpec } from '../arch/spec';
import { chooseExecution, DEFAULT_HEAD_ROWS, streamedBytes, wholeModelBytes } from '../runtime/execution-plan';
import { formatBytes } from '../util/memory';
import type { CalibrationSettings } from './settings';

/** Share of the available memory a calibration may plan to use (the rest for the OS, page cache, other programs). */
export const SEQ_FIT_FRACTION = 0.8;
/** The shortest row the fallback goes down to. */
export const MIN_AUTO_SEQ_LEN = 512;

/** Bytes a calibration with rows of `seqLen` tokens needs (planning figure). */
export function calibrationBytes(spec: HybridModelSpec, s: Pick<CalibrationSettings, 'batch' | 'depth' | 'mode'>, seqLen: number, available: number): number {
  const tokens = s.batch * seqLen;
  const kl = s.depth === 'kl';
  const D = spec.hiddenSize;
  if (chooseExecution(spec, s.mode, { available }).mode === 'whole') {
    const m = spec.mamba;
    const widest = Math.max(D, spec.mlp?.intermediateSize ?? 0, m ? m.inProjSize : 0);
    // A few live copies of the widest activation; depth KL keeps every layer's input and two logit sets.
    const activations = 4 * 4 * widest * tokens;
    const depth = kl ? 4 * tokens * (D * (spec.numLayers + 1) + 2 * spec.vocabSize) : 0;
    return wholeModelBytes(spec) + activations + depth;
  }
  const headRows = Math.min(spec.vocabSize, DEFAULT_HEAD_ROWS);
  return streamedBytes(spec, { tokens, microTokens: tokens, states: kl ? 2 : 1 }) + (kl ? 2 * 4 * tokens * headRows : 0);
}

/**
 * The row length to use: `s.seqLen` when given (seqLenAuto unset) or when it fits; else halved until it
 * fits (not below MIN_AUTO_SEQ_LEN). `note` says what was lowered and why.
 */
export function fitCalibrationSeqLen(spec: HybridModelSpec, s: Pick<CalibrationSettings, 'seqLen' | 'seqLenAuto' | 'batch' | 'depth' | 'mode'>, available: number): { seqLen: number; note?: string } {
  if (!s.seqLenAuto) return { seqLen: s.seqLen };
  const budget = SEQ_FIT_FRACTION * available;
  let seq = s.seqLen;
  while (seq > MIN_AUTO_SEQ_LEN && calibrationBytes(spec, s, seq, available) > budget) seq = Math.max(MIN_AUTO_SEQ_LEN, seq / 2);
  if (seq === s.seqLen) return { seqLen: seq };
  const need = calibrationBytes(spec, s, s.seqLen, available);
  return {
    seqLen: seq,
    note: `calibration rows of ${s.seqLen} tokens (the paper's) × --batch ${s.batch} need about ${formatBytes(need)}, more than ${Math.round(SEQ_FIT_FRACTION * 100)}% of the ${formatBytes(available)} available: using ${seq} tokens per row (give --seq-len to choose; a smaller --batch keeps longer rows)`,
  };
}
