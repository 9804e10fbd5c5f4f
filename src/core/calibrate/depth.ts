// Depth (layer) importance, research/paper.md §3.5:
//  - Block Importance (Minitron): 1 − cos(h_in, h_out) per token, averaged over tokens (one pass).
//  - The paper's metric: KL(p_full ‖ p_without_layer) of the next-token distributions, per token, averaged.
// Both are means over tokens, accumulated with MeanAccumulator so runs can resume or be merged.

import { HybridCompressError } from '../errors';
import { checkLength, checkPositiveInt, stateError } from './checks';

/** torch.nn.functional.cosine_similarity's guard: each norm is clamped below at this value. */
export const COSINE_EPS = 1e-8;

/** 1 − cos(h_in[t], h_out[t]) for each of `tokens` rows of width `hidden`. */
export function cosineDistances(hIn: ArrayLike<number>, hOut: ArrayLike<number>, tokens: number, hidden: number): Float64Array {
  checkPositiveInt('tokens', tokens);
  checkPositiveInt('hidden', hidden);
  checkLength('layer input', hIn, tokens * hidden, `[${tokens}, ${hidden}]`);
  checkLength('layer output', hOut, tokens * hidden, `[${tokens}, ${hidden}]`);
  const out = new Float64Array(tokens);
  for (let t = 0; t < tokens; t++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < hidden; i++) {
      const a = hIn[t * hidden + i]!;
      const b = hOut[t * hidden + i]!;
      dot += a * b;
      na += a * a;
      nb += b * b;
    }
    out[t] = 1 - dot / (Math.max(Math.sqrt(na), COSINE_EPS) * Math.max(Math.sqrt(nb), COSINE_EPS));
  }
  return out;
}

/** Block Importance of one layer on one batch: the mean over tokens of 1 − cos(h_in, h_out). */
export function blockImportance(hIn: ArrayLike<number>, hOut: ArrayLike<number>, tokens: number, hidden: number): number {
  return mean(cosineDistances(hIn, hOut, tokens, hidden));
}

/** KL(p ‖ q) per token, p = softmax(full logits), q = softmax(logits without the layer), in float64. */
export function klPerToken(logitsFull: ArrayLike<number>, logitsDropped: ArrayLike<number>, tokens: number, vocab: number): Float64Array {
  checkPositiveInt('tokens', tokens);
  checkPositiveInt('vocab', vocab);
  checkLength('full-model logits', logitsFull, tokens * vocab, `[${tokens}, ${vocab}]`);
  checkLength('layer-dropped logits', logitsDropped, tokens * vocab, `[${tokens}, ${vocab}]`);
  const lp = new Float64Array(vocab);
  const lq = new Float64Array(vocab);
  const out = new Float64Array(tokens);
  for (let t = 0; t < tokens; t++) {
    logSoftmax(logitsFull, t * vocab, vocab, lp);
    logSoftmax(logitsDropped, t * vocab, vocab, lq);
    let kl = 0;
    for (let i = 0; i < vocab; i++) {
      const p = Math.exp(lp[i]!);
      if (p > 0) kl += p * (lp[i]! - lq[i]!);
    }
    // Float rounding can leave a tiny negative value when p ≈ q; KL is non-negative.
    out[t] = Math.max(kl, 0);
  }
  return out;
}

/** Mean over tokens of KL(p_full ‖ p_dropped). */
export function klDivergence(logitsFull: ArrayLike<number>, logitsDropped: ArrayLike<number>, tokens: number, vocab: number): number {
  return mean(klPerToken(logitsFull, logitsDropped, tokens, vocab));
}

function logSoftmax(x: ArrayLike<number>, offset: number, n: number, out: Float64Array): void {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, x[offset + i]!);
  if (!Number.isFinite(m)) throw new HybridCompressError('NON_FINITE', `logits contain non-finite values (max ${m}); the model produced NaN/Inf`, { tensor: 'logits' });
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[offset + i]! - m);
  const lse = m + Math.log(s);
  for (let i = 0; i < n; i++) out[i] = x[offset + i]! - lse;
}

function mean(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x;
  return s / v.length;
}

export interface MeanAccumulatorState {
  kind: 'mean';
  sum: number;
  count: number;
}

/** Running mean of per-token values (float64 sum + count); resumable and mergeable. */
export class MeanAccumulator {
  private total = 0;
  private n = 0;

  constructor(readonly name = 'mean') {}

  get count(): number {
    return this.n;
  }

  get sum(): number {
    return this.total;
  }

  addAll(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) throw new HybridCompressError('NON_FINITE', `${this.name}: value ${i} of the batch is ${v}`, { tensor: this.name });
      this.total += v;
    }
    this.n += values.length;
  }

  /** Adds `count` values given only by their sum (e.g. the engine's per-row `block_importance.sum`). */
  addSum(sum: number, count: number): void {
    if (!Number.isFinite(sum)) throw new HybridCompressError('NON_FINITE', `${this.name}: the batch's sum is ${sum}`, { tensor: this.name });
    if (!Number.isInteger(count) || count < 0) throw new HybridCompressError('OPTION_INVALID', `${this.name}: count ${count} must be a non-negative integer`, { option: 'count' });
    this.total += sum;
    this.n += count;
  }

  mean(): number {
    if (this.n === 0) throw new HybridCompressError('DATA_INVALID', `${this.name}: no values were added, the mean is undefined`, { tensor: this.name });
    return this.total / this.n;
  }

  merge(other: MeanAccumulator): this {
    this.total += other.total;
    this.n += other.n;
    return this;
  }

  toJSON(): MeanAccumulatorState {
    return { kind: 'mean', sum: this.total, count: this.n };
  }

  static fromJSON(state: unknown, name = 'mean'): MeanAccumulator {
    const s = state as Partial<MeanAccumulatorState> | null;
    if (!s || typeof s !== 'object' || s.kind !== 'mean') throw stateError(name, 'is not a mean accumulator (kind "mean")');
    if (typeof s.sum !== 'number' || !Number.isFinite(s.sum)) throw stateError(name, 'has no finite "sum"');
    if (!Number.isInteger(s.count) || s.count! < 0) throw stateError(name, 'has no non-negative integer "count"');
    const acc = new MeanAccumulator(name);
    acc.total = s.sum;
    acc.n = s.count!;
    return acc;
  }
}
