import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { HybridCompressError } from '../../src/core/errors';
import { byteAlphabet, countWords, trainBpe } from '../../src/core/tokenizer-train/index';
import { referenceTrain, rng, syllableText } from './helpers/reference';

const SPECIALS = ['<unk>', '<s>', '</s>'];

function wordsOf(texts: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of texts) countWords(t, m);
  return m;
}

/** Same table, entries in a different (seeded) insertion order. */
function shuffled(m: Map<string, number>, seed: number): Map<string, number> {
  const entries = [...m];
  const r = rng(seed);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return new Map(entries);
}

describe('trainBpe against a full-recount reference', () => {
  it('learns identical merges and vocabulary on random syllable corpora (many ties)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = rng(seed);
      const text = syllableText(r, 3000, ['ka', 'ti', 'ro', 'an', 'n', 'e', 'str', 'a', 'é', '☃']);
      const words = wordsOf([text]);
      const vocabSize = SPECIALS.length + 256 + 150;
      const fast = trainBpe(words, { vocabSize, alphabet: byteAlphabet(), specialTokens: SPECIALS });
      const ref = referenceTrain(words, byteAlphabet(), SPECIALS, vocabSize);
      assert.ok(ref.merges.length > 50, `seed ${seed}: the corpus should support many merges`);
      assert.deepEqual(fast.merges, ref.merges, `seed ${seed}`);
      assert.deepEqual(fast.vocab, ref.vocab, `seed ${seed}`);
    }
  });

  it('agrees on repetitive words where merges overlap', () => {
    // Words over {a, b} only: (a,a) overlaps inside "aaaa" and long runs exercise greedy left-to-right merging.
    for (const seed of [11, 12, 13, 14, 15, 16]) {
      const r = rng(seed);
      const words = new Map<string, number>();
      for (let i = 0; i < 60; i++) {
        const len = 1 + Math.floor(r() * 12);
        let w = '';
        for (let j = 0; j < len; j++) w += r() < 0.7 ? 'a' : 'b';
        words.set(w, (words.get(w) ?? 0) + 1 + Math.floor(r() * 9));
      }
      const opts = { vocabSize: 2 + 40, alphabet: ['a', 'b'], minFrequency: 1 };
      const fast = trainBpe(words, opts);
      const ref = referenceTrain(words, ['a', 'b'], [], opts.vocabSize, 1);
      assert.ok(ref.merges.length >= 20, `seed ${seed}`);
      assert.deepEqual(fast.merges, ref.merges, `seed ${seed}`);
      assert.deepEqual(fast.vocab, ref.vocab, `seed ${seed}`);
    }
  });

  it('agrees when merges spell a special token (the merge reuses its id)', () => {
    // A word table, not text: the GPT-2 split would cut "<s>" into "<", "s", ">".
    const words = new Map([
      ['<s>', 7],
      ['</s>', 5],
      ['<s><s>', 3],
      ['ab<s>', 2],
      ['abab', 4],
    ]);
    const vocabSize = SPECIALS.length + 256 + 30;
    const fast = trainBpe(words, { vocabSize, alphabet: byteAlphabet(), specialTokens: SPECIALS, minFrequency: 1 });
    const ref = referenceTrain(words, byteAlphabet(), SPECIALS, vocabSize, 1);
    assert.deepEqual(fast.merges, ref.merges);
    assert.deepEqual(fast.vocab, ref.vocab);
    const spelled = fast.merges.filter(([a, b]) => SPECIALS.includes(a + b)).map(([a, b]) => a + b);
    assert.deepEqual(spelled.sort(), ['</s>', '<s>']);
    for (const [id, tok] of SPECIALS.entries()) assert.equal(fast.vocab.lastIndexOf(tok), id, `${tok} must keep its one id`);
    assert.equal(fast.vocab.length, SPECIALS.length + 256 + fast.merges.length - spelled.length);
  });

  it('agrees on real text (200 training documents of the bundled corpus)', () => {
    const docs = readFileSync('examples/data/train.txt', 'utf8').split('\n').slice(0, 200);
    const words = wordsOf(docs);
    const vocabSize = SPECIALS.length + 256 + 250;
    const fast = trainBpe(words, { vocabSize, alphabet: byteAlphabet(), specialTokens: SPECIALS });
    const ref = referenceTrain(words, byteAlphabet(), SPECIALS, vocabSize);
    assert.equal(fast.merges.length, 250);
    assert.deepEqual(fast.merges, ref.merges);
    assert.deepEqual(fast.vocab, ref.vocab);
  });
});

describe('trainBpe rules', () => {
  it('merges the most frequent pair first and breaks ties by symbol order', () => {
    // "ab"×3 vs "cd"×3 tie → (a,b) first; "xy"×5 beats both.
    const words = new Map([
      ['cd', 3],
      ['ab', 3],
      ['xy', 5],
    ]);
    const m = trainBpe(words, { vocabSize: 6 + 3, alphabet: ['a', 'b', 'c', 'd', 'x', 'y'] });
    assert.deepEqual(m.merges, [
      ['x', 'y'],
      ['a', 'b'],
      ['c', 'd'],
    ]);
    assert.deepEqual(m.vocab.slice(6), ['xy', 'ab', 'cd']);
  });

  it('merges greedily left to right inside a word', () => {
    const m = trainBpe(new Map([['aaa', 4]]), { vocabSize: 3, alphabet: ['a'], minFrequency: 1 });
    // (a,a): "aaa" → "aa a"; then (aa,a) → "aaa".
    assert.deepEqual(m.merges, [
      ['a', 'a'],
      ['aa', 'a'],
    ]);
  });

  it('is deterministic and independent of the word table order', () => {
    const words = wordsOf([syllableText(rng(7), 2000, ['lo', 'mi', 'ne', 'ra', 's', 'o'])]);
    const opts = { vocabSize: 256 + 3 + 120, alphabet: byteAlphabet(), specialTokens: SPECIALS };
    const a = trainBpe(words, opts);
    const b = trainBpe(shuffled(words, 99), opts);
    const c = trainBpe(words, opts);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
  });

  it('stops at the vocabulary size, or earlier when no pair reaches the minimum frequency', () => {
    const words = new Map([
      ['abcabc', 2],
      ['xyz', 1],
    ]);
    const alphabet = ['a', 'b', 'c', 'x', 'y', 'z'];
    const capped = trainBpe(words, { vocabSize: 8, alphabet });
    assert.equal(capped.vocab.length, 8);
    const free = trainBpe(words, { vocabSize: 100, alphabet });
    // Pairs of "xyz" occur once: never merged at the default minimum of 2.
    assert.ok(free.merges.every(([l, r]) => !(l + r).includes('x') && !(l + r).includes('z')));
    assert.ok(free.vocab.length < 100);
    const all = trainBpe(words, { vocabSize: 100, alphabet, minFrequency: 1 });
    assert.ok(all.vocab.includes('xyz'));
  });

  it('puts special tokens first; their text in a word is learned from bytes and maps to the special id', () => {
    const m = trainBpe(new Map([['<s><s>', 9]]), { vocabSize: 1 + 256 + 5, alphabet: byteAlphabet(), specialTokens: ['<s>'] });
    assert.equal(m.vocab[0], '<s>');
    assert.equal(m.vocab.lastIndexOf('<s>'), 0);
    assert.ok(m.merges.some(([a, b]) => a + b === '<s>'));
    assert.ok(m.vocab.includes('<s><s>'));
  });

  it('rejects bad options and words outside the alphabet with typed errors', () => {
    const words = new Map([['ab', 2]]);
    const bad = (fn: () => unknown, code: string, re: RegExp) =>
      assert.throws(fn, (e: unknown) => e instanceof HybridCompressError && e.code === code && re.test(e.message));
    bad(() => trainBpe(words, { vocabSize: 1, alphabet: ['a', 'b'] }), 'OPTION_INVALID', /from 2/);
    bad(() => trainBpe(words, { vocabSize: 3.5, alphabet: ['a', 'b'] }), 'OPTION_INVALID', /integer/);
    bad(() => trainBpe(words, { vocabSize: 4, alphabet: ['a', 'b'], minFrequency: 0 }), 'OPTION_INVALID', /min frequency/);
    bad(() => trainBpe(words, { vocabSize: 4, alphabet: ['a', 'a'] }), 'OPTION_INVALID', /twice/);
    bad(() => trainBpe(words, { vocabSize: 4, alphabet: ['ab'] }), 'OPTION_INVALID', /single UTF-16/);
    bad(() => trainBpe(new Map([['ac', 2]]), { vocabSize: 4, alphabet: ['a', 'b'] }), 'DATA_INVALID', /U\+0063/);
    bad(() => trainBpe(new Map([['ab', 0]]), { vocabSize: 4, alphabet: ['a', 'b'] }), 'DATA_INVALID', /positive integer/);
  });
});
