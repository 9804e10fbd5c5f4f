// Zero-shot LM loss of a checkpoint on a few rows: the after-write check of `prune` (loss before/after)
// and the candidate score of `search`. Rows come from a data file through the data pipeline, or, without
// one, are seeded random token ids (then the loss only shows that the model runs and stays finite).

import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { hasTokenizer, loadTokenizer, openDataset, readModelTokenInfo } from '../data/index';
import { referenceForward } from '../model/reference';
import { Rng } from '../util/random';

export interface EvalRows {
  ids: number[][];
  /** The data file, or "random tokens (seed S)". */
  source: string;
  random: boolean;
}

export interface EvalRowOptions {
  data?: string;
  rows: number;
  seqLen: number;
  seed?: number;
}

export async function loadEvalRows(modelDir: string, spec: HybridModelSpec, o: EvalRowOptions): Promise<EvalRows> {
  if (!o.data) {
    const rng = new Rng(o.seed ?? 0);
    const ids = Array.from({ length: o.rows }, () => Array.from({ length: o.seqLen }, () => rng.int(spec.vocabSize)));
    return { ids, source: `random tokens (seed ${o.seed ?? 0})`, random: true };
  }
  const tokenizer = hasTokenizer(modelDir) ? loadTokenizer(modelDir) : undefined;
  const info = readModelTokenInfo(modelDir);
  const ds = await openDataset({ path: o.data, tokenizer, seqLen: o.seqLen, samples: o.rows, vocabSize: spec.vocabSize, eosId: tokenizer?.eosId ?? info.eosId });
  const ids: number[][] = [];
  for await (const r of ds.rows()) ids.push(Array.from(r.ids));
  if (ids.length === 0) {
    throw new HybridCompressError('DATA_INVALID', `${o.data}: gave no row of ${o.seqLen} tokens for the zero-shot loss; use a larger file or a smaller --seq-len`, { file: o.data, option: 'data' });
  }
  return { ids, source: o.data, random: false };
}

/** Mean next-token cross-entropy (nats) of logits [rows, seq, vocab] against the rows' own ids. */
export function lmLoss(logits: ArrayLike<number>, ids: number[][], vocab: number): number {
  let total = 0;
  let count = 0;
  const T = ids[0]!.length;
  for (let b = 0; b < ids.length; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const base = (b * T + t) * vocab;
      let max = -Infinity;
      for (let v = 0; v < vocab; v++) max = Math.max(max, logits[base + v]!);
      let sum = 0;
      for (let v = 0; v < vocab; v++) sum += Math.exp(logits[base + v]! - max);
      total += max + Math.log(sum) - logits[base + ids[b]![t + 1]!]!;
      count++;
    }
  }
  return count > 0 ? total / count : NaN;
}

export interface EvalResult {
  loss: number;
  tokensPerS: number;
  /** Which forward computed it. */
  engine: string;
}

export type Evaluator = (checkpointDir: string) => Promise<EvalResult>;

/** Parameter × token budget of the float64 reference forward (seconds of CPU at most). */
export const REFERENCE_BUDGET = 2e9;

/**
 * The float64 TypeScript reference forward: exact but slow, loads every weight; for small models only
 * (throws a RUNTIME_ERROR naming the limit beyond REFERENCE_BUDGET parameter·tokens).
 */
export function referenceEvaluator(rows: EvalRows): Evaluator {
  return async (dir) => {
    const ckpt = await openCheckpoint(dir);
    try {
      const tokens = rows.ids.length * rows.ids[0]!.length;
      if (ckpt.spec.params.total * tokens > REFERENCE_BUDGET) {
        throw new HybridCompressError('RUNTIME_ERROR', `the reference forward is limited to ${REFERENCE_BUDGET.toExponential(0)} parameter·tokens (this model: ${(ckpt.spec.params.total * tokens).toExponential(2)}); the ONNX engine is needed for this size`);
      }
      const weights = new Map<string, Float32Array>();
      for (const n of ckpt.tensors.keys()) weights.set(n, await ckpt.readFloat32(n));
      const t0 = performance.now();
      const { logits } = referenceForward(ckpt.spec, weights, rows.ids);
      const seconds = (performance.now() - t0) / 1000;
      return { loss: lmLoss(logits, rows.ids, ckpt.spec.vocabSize), tokensPerS: tokens / Math.max(seconds, 1e-9), engine: 'reference (float64 TypeScript)' };
    } finally {
      await ckpt.close();
    }
  };
}

/** The evaluator the pipelines use: the float64 reference until the ONNX engine's runner is wired in. */
export async function defaultEvaluator(rows: EvalRows): Promise<Evaluator> {
  return referenceEvaluator(rows);
}
