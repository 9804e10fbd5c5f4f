// The unigram baseline: a model that ignores context and predicts every token with its training
// frequency. Its cross-entropy on held-out text is the bar a trained language model must clearly beat.

import { HybridCompressError } from '../errors';

export interface UnigramModel {
  vocabSize: number;
  /** Token counts in the training data, indexed by id. */
  counts: Float64Array;
  total: number;
}

export function unigramCounts(vocabSize: number): UnigramModel {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new HybridCompressError('OPTION_INVALID', `vocab size ${vocabSize} is not valid: expected a positive integer`, { option: 'vocab-size' });
  }
  return { vocabSize, counts: new Float64Array(vocabSize), total: 0 };
}

function checkId(m: UnigramModel, id: number): void {
  if (!(Number.isInteger(id) && id >= 0 && id < m.vocabSize)) {
    throw new HybridCompressError('DATA_INVALID', `token id ${id} is outside the vocabulary [0, ${m.vocabSize})`);
  }
}

export function addTokens(m: UnigramModel, ids: ArrayLike<number>): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    checkId(m, id);
    m.counts[id]!++;
  }
  m.total += ids.length;
}

/** Add-one (Laplace) smoothed log-probability of `id`: log((count + 1) / (total + vocabSize)). */
export function unigramLogProb(m: UnigramModel, id: number): number {
  checkId(m, id);
  return Math.log((m.counts[id]! + 1) / (m.total + m.vocabSize));
}

/** Accumulates −log p over held-out tokens; `mean` is the cross-entropy in nats per token. */
export class CrossEntropyMeter {
  private sum = 0;
  private n = 0;
  private readonly logp: Float64Array;

  constructor(model: UnigramModel) {
    this.logp = new Float64Array(model.vocabSize);
    for (let id = 0; id < model.vocabSize; id++) this.logp[id] = unigramLogProb(model, id);
  }

  add(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      const lp = this.logp[ids[i]!];
      if (lp === undefined) throw new HybridCompressError('DATA_INVALID', `token id ${ids[i]} is outside the vocabulary [0, ${this.logp.length})`);
      this.sum -= lp;
    }
    this.n += ids.length;
  }

  get tokens(): number {
    return this.n;
  }

  /** Nats per token (NaN before any token). */
  get mean(): number {
    return this.n === 0 ? NaN : this.sum / this.n;
  }
}
