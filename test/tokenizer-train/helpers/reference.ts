// Slow, obviously-correct references for the tokenizer-trainer tests, plus a seeded random source.

/** Mulberry32: a tiny seeded PRNG, enough for reproducible test corpora. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ReferenceModel {
  vocab: string[];
  merges: [string, string][];
}

/**
 * BPE training by full recount: every step counts every adjacent pair of every word from scratch, picks
 * the highest count (ties: smaller left symbol, then smaller right symbol; already-merged pairs are not
 * eligible), stops below `minFrequency` or at `vocabSize`, and rewrites every word left to right.
 */
export function referenceTrain(
  wordCounts: ReadonlyMap<string, number>,
  alphabet: readonly string[],
  specials: readonly string[],
  vocabSize: number,
  minFrequency = 2,
): ReferenceModel {
  const words = [...wordCounts].map(([w, n]) => ({ syms: w.split(''), n }));
  const vocab = [...specials, ...alphabet];
  const known = new Set(vocab);
  const done = new Set<string>();
  const merges: [string, string][] = [];
  while (vocab.length < vocabSize) {
    const counts = new Map<string, { a: string; b: string; n: number }>();
    for (const { syms, n } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const key = JSON.stringify([syms[i], syms[i + 1]]);
        const e = counts.get(key);
        if (e) e.n += n;
        else counts.set(key, { a: syms[i]!, b: syms[i + 1]!, n });
      }
    }
    let best: { a: string; b: string; n: number } | undefined;
    for (const [key, e] of counts) {
      if (done.has(key)) continue;
      if (!best || e.n > best.n || (e.n === best.n && (e.a < best.a || (e.a === best.a && e.b < best.b)))) best = e;
    }
    if (!best || best.n < minFrequency) break;
    const { a, b } = best;
    merges.push([a, b]);
    done.add(JSON.stringify([a, b]));
    if (!known.has(a + b)) {
      known.add(a + b);
      vocab.push(a + b);
    }
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.syms[i]!);
      }
      w.syms = out;
    }
  }
  return { vocab, merges };
}

/** BPE encoding of one pre-tokenised word: repeatedly merge the adjacent pair with the lowest merge rank. */
export function referenceEncodeWord(symbols: string[], merges: readonly [string, string][]): string[] {
  const rank = new Map(merges.map(([a, b], i) => [JSON.stringify([a, b]), i]));
  let syms = symbols.slice();
  for (;;) {
    let at = -1;
    let best = Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = rank.get(JSON.stringify([syms[i], syms[i + 1]]));
      if (r !== undefined && r < best) [at, best] = [i, r];
    }
    if (at < 0) return syms;
    syms = [...syms.slice(0, at), syms[at]! + syms[at + 1]!, ...syms.slice(at + 2)];
  }
}

/** Random "text" over a small set of syllables, spaces and punctuation, so pairs repeat and tie often. */
export function syllableText(rand: () => number, words: number, syllables: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < words; i++) {
    const n = 1 + Math.floor(rand() * 4);
    let w = '';
    for (let j = 0; j < n; j++) w += syllables[Math.floor(rand() * syllables.length)]!;
    parts.push(w);
    const r = rand();
    if (r < 0.1) parts.push(', ');
    else if (r < 0.15) parts.push('. ');
    else parts.push(' ');
  }
  return parts.join('');
}
