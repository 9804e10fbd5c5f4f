// BPE training over a table of word frequencies (words already pre-tokenised and spelled in the initial
// alphabet, one symbol per UTF-16 code unit). Each step merges the most frequent adjacent pair, weighted
// by word frequency. Instead of recounting every pair after each merge, only the words that contain the
// merged pair are revisited (an index pair → words says which), their old pairs subtracted and new ones
// added; a max-heap with lazy deletion finds the next best pair. Output is identical to a full recount.
//
// Rules (both this trainer and any reference must follow them, so they are spelled out):
// - best pair = highest count; ties go to the pair whose left symbol, then right symbol, sorts first
//   (plain string order), so the result does not depend on Map iteration order;
// - occurrences are merged greedily left to right inside a word ("a a a" with (a,a) → "aa a");
// - a pair is merged at most once; if its concatenation already exists (a special token's text, or a
//   string some earlier merge built from other parts), the merge is recorded but adds no vocabulary entry;
// - training stops when the vocabulary reaches `vocabSize` or no unmerged pair occurs `minFrequency` times.

import { HybridCompressError } from '../errors';

export interface BpeTrainOptions {
  /** Target size: special tokens + alphabet + merged symbols. */
  vocabSize: number;
  /** Initial symbols, in id order after the special tokens (a byte-level BPE passes the 256 byte symbols). */
  alphabet: readonly string[];
  /** Tokens given the first ids, in this order; never merged. */
  specialTokens?: readonly string[];
  /** A pair seen fewer times than this is never merged (default 2: a merge for one occurrence learns nothing). */
  minFrequency?: number;
}

export interface BpeModel {
  /** id → token: special tokens, then the alphabet, then merged symbols in the order they were created. */
  vocab: string[];
  /** Merges in priority order. */
  merges: [string, string][];
}

/** Pair key = left · SHIFT + right; exact in a double for symbol ids below 2^20. */
const SHIFT = 2 ** 20;

interface Word {
  syms: Int32Array;
  len: number;
  count: number;
}

export function validateTrainOptions(opts: BpeTrainOptions): { specials: readonly string[]; minFrequency: number } {
  const specials = opts.specialTokens ?? [];
  const minFrequency = opts.minFrequency ?? 2;
  const floor = specials.length + opts.alphabet.length;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < floor || opts.vocabSize >= SHIFT) {
    throw new HybridCompressError(
      'OPTION_INVALID',
      `vocab size ${opts.vocabSize} is not valid: it must be an integer from ${floor} (special tokens + alphabet) to ${SHIFT - 1}`,
      { option: 'vocab-size' },
    );
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) {
    throw new HybridCompressError('OPTION_INVALID', `min frequency ${minFrequency} is not valid: expected an integer ≥ 1`, { option: 'min-frequency' });
  }
  const seen = new Set<string>();
  for (const s of [...specials, ...opts.alphabet]) {
    if (seen.has(s)) throw new HybridCompressError('OPTION_INVALID', `token ${JSON.stringify(s)} is listed twice among the special tokens and the alphabet`, { option: 'special-tokens' });
    seen.add(s);
  }
  for (const a of opts.alphabet) {
    if (a.length !== 1) throw new HybridCompressError('OPTION_INVALID', `alphabet symbol ${JSON.stringify(a)} is not a single UTF-16 code unit`, { option: 'alphabet' });
  }
  return { specials, minFrequency };
}

/** Symbol ids of `word` in the alphabet; a character outside it is a DATA_INVALID error. */
export function spellWord(word: string, symbolId: ReadonlyMap<string, number>): Int32Array {
  const out = new Int32Array(word.length);
  for (let i = 0; i < word.length; i++) {
    const id = symbolId.get(word[i]!);
    if (id === undefined) {
      throw new HybridCompressError(
        'DATA_INVALID',
        `word ${JSON.stringify(word)}: character U+${word.charCodeAt(i).toString(16).padStart(4, '0')} is not in the training alphabet (pre-tokenise and byte-map the text first)`,
      );
    }
    out[i] = id;
  }
  return out;
}

/** Max-heap of (count, pair key), ties ordered by the pair's symbol strings. Stale entries are allowed. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  constructor(private readonly symbols: readonly string[]) {}

  get size(): number {
    return this.counts.length;
  }

  /** True when entry i should be popped before entry j. */
  private before(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    if (ci !== cj) return ci > cj;
    const ki = this.keys[i]!;
    const kj = this.keys[j]!;
    const ai = this.symbols[Math.floor(ki / SHIFT)]!;
    const aj = this.symbols[Math.floor(kj / SHIFT)]!;
    if (ai !== aj) return ai < aj;
    return this.symbols[ki % SHIFT]! < this.symbols[kj % SHIFT]!;
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { count: number; key: number } | undefined {
    const n = this.counts.length;
    if (n === 0) return undefined;
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    this.swap(0, n - 1);
    this.counts.pop();
    this.keys.pop();
    const m = n - 1;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < m && this.before(l, best)) best = l;
      if (r < m && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }
}

/** Trains a BPE model on `wordCounts` (word → frequency). Deterministic for a given table. */
export function trainBpe(wordCounts: ReadonlyMap<string, number>, opts: BpeTrainOptions): BpeModel {
  const { specials, minFrequency } = validateTrainOptions(opts);
  // Symbol ids are the final token ids. Specials are known strings too: a merge that spells one (bytes
  // "<", "s>" → "<s>") reuses its id, as Hugging Face's trainer does, instead of duplicating the token.
  const symbols: string[] = [...specials, ...opts.alphabet];
  const symbolId = new Map<string, number>(symbols.map((s, i) => [s, i]));
  const alphabetId = new Map<string, number>(opts.alphabet.map((s, i) => [s, specials.length + i]));

  const words: Word[] = [];
  for (const [w, count] of wordCounts) {
    if (!(Number.isInteger(count) && count > 0)) {
      throw new HybridCompressError('DATA_INVALID', `word ${JSON.stringify(w)}: frequency ${count} is not a positive integer`);
    }
    if (w.length > 0) words.push({ syms: spellWord(w, alphabetId), len: w.length, count });
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>(); // may hold duplicates and words that lost the pair
  const addPair = (key: number, n: number, w: number) => {
    pairCount.set(key, (pairCount.get(key) ?? 0) + n);
    const list = pairWords.get(key);
    if (list === undefined) pairWords.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  for (let w = 0; w < words.length; w++) {
    const { syms, len, count } = words[w]!;
    for (let i = 0; i + 1 < len; i++) addPair(syms[i]! * SHIFT + syms[i + 1]!, count, w);
  }

  const heap = new PairHeap(symbols);
  for (const [key, n] of pairCount) heap.push(n, key);

  const merges: [string, string][] = [];
  const merged = new Set<number>();
  const visited = new Int32Array(words.length); // stamp of the last merge that revisited each word
  let stamp = 0;

  while (symbols.length < opts.vocabSize) {
    const top = heap.pop();
    if (top === undefined) break;
    const { key } = top;
    if (merged.has(key)) continue;
    const current = pairCount.get(key) ?? 0;
    if (current !== top.count) {
      // Counts only fall between pushes (rises are pushed as they happen), so re-queue at the true value.
      if (current > 0) heap.push(current, key);
      continue;
    }
    if (current < minFrequency) break;

    const a = Math.floor(key / SHIFT);
    const b = key % SHIFT;
    const text = symbols[a]! + symbols[b]!;
    let c = symbolId.get(text);
    if (c === undefined) {
      c = symbols.length;
      symbols.push(text);
      symbolId.set(text, c);
    }
    merges.push([symbols[a]!, symbols[b]!]);
    merged.add(key);

    stamp++;
    const raised = new Set<number>();
    for (const w of pairWords.get(key) ?? []) {
      if (visited[w] === stamp) continue;
      visited[w] = stamp;
      const word = words[w]!;
      const s = word.syms;
      let found = false;
      for (let i = 0; i + 1 < word.len; i++) {
        if (s[i] === a && s[i + 1] === b) {
          found = true;
          break;
        }
      }
      if (!found) continue;
      // Words are short, so re-deriving all of this word's pairs is cheaper than patching neighbours.
      const n = word.count;
      for (let i = 0; i + 1 < word.len; i++) {
        const k = s[i]! * SHIFT + s[i + 1]!;
        const left = pairCount.get(k)! - n;
        if (left === 0) pairCount.delete(k);
        else pairCount.set(k, left);
      }
      let out = 0;
      for (let i = 0; i < word.len; ) {
        if (i + 1 < word.len && s[i] === a && s[i + 1] === b) {
          s[out++] = c;
          i += 2;
        } else s[out++] = s[i++]!;
      }
      word.len = out;
      for (let i = 0; i + 1 < out; i++) {
        const k = s[i]! * SHIFT + s[i + 1]!;
        addPair(k, n, w);
        // Only pairs touching the new symbol can have grown; they get a fresh heap entry below.
        if (s[i] === c || s[i + 1] === c) raised.add(k);
      }
    }
    pairWords.delete(key);
    for (const k of raised) {
      const n = pairCount.get(k);
      if (n !== undefined && !merged.has(k)) heap.push(n, k);
    }
  }

  return { vocab: symbols, merges };
}
