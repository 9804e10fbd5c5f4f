import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HybridCompressError } from '../../src/core/errors';
import { addTokens, CrossEntropyMeter, unigramCounts, unigramLogProb } from '../../src/core/tokenizer-train/index';
import { rng } from './helpers/reference';

describe('unigram baseline', () => {
  it('uses add-one smoothing: p(id) = (count + 1) / (N + V)', () => {
    const m = unigramCounts(4);
    addTokens(m, [0, 0, 1]);
    // N = 3, V = 4: p = 3/7, 2/7, 1/7, 1/7.
    assert.ok(Math.abs(unigramLogProb(m, 0) - Math.log(3 / 7)) < 1e-15);
    assert.ok(Math.abs(unigramLogProb(m, 3) - Math.log(1 / 7)) < 1e-15);
    const ce = new CrossEntropyMeter(m);
    ce.add([0, 3]);
    assert.ok(Math.abs(ce.mean - -(Math.log(3 / 7) + Math.log(1 / 7)) / 2) < 1e-15);
    assert.equal(ce.tokens, 2);
  });

  it('is a distribution, and scores the training data itself no worse than a uniform model', () => {
    const r = rng(3);
    const V = 50;
    const ids = Array.from({ length: 5000 }, () => Math.floor(V * r() * r()));
    const m = unigramCounts(V);
    addTokens(m, ids);
    let total = 0;
    for (let id = 0; id < V; id++) total += Math.exp(unigramLogProb(m, id));
    assert.ok(Math.abs(total - 1) < 1e-12);
    const ce = new CrossEntropyMeter(m);
    ce.add(ids);
    assert.ok(ce.mean < Math.log(V));
  });

  it('rejects ids outside the vocabulary', () => {
    const m = unigramCounts(3);
    const isData = (e: unknown) => e instanceof HybridCompressError && e.code === 'DATA_INVALID' && /\[0, 3\)/.test(e.message);
    assert.throws(() => addTokens(m, [3]), isData);
    assert.throws(() => new CrossEntropyMeter(m).add([-1]), isData);
    assert.throws(() => unigramCounts(0), (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID');
  });
});
