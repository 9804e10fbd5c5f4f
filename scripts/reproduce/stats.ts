// Small statistics for the results report: ranks, Spearman correlation, and the win/loss/tie tally that
// turns pairs of losses into a plain verdict.

/** Ranks 1..n (1 = largest value), ties sharing their mean rank. */
export function ranksDescending(v: readonly number[]): number[] {
  const idx = v.map((_, i) => i).sort((a, b) => v[b]! - v[a]!);
  const r = new Array<number>(v.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && v[idx[j + 1]!] === v[idx[i]!]) j++;
    for (let k = i; k <= j; k++) r[idx[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation (Pearson on ranks; NaN when either side is constant). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length < 2) return NaN;
  const ra = ranksDescending(a);
  const rb = ranksDescending(b);
  const ma = mean(ra);
  const mb = mean(rb);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < ra.length; i++) {
    sab += (ra[i]! - ma) * (rb[i]! - mb);
    saa += (ra[i]! - ma) ** 2;
    sbb += (rb[i]! - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

export function mean(v: readonly number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}

/** Indices ordered by descending value (ties: lower index first). */
export function orderDescending(v: readonly number[]): number[] {
  return v.map((_, i) => i).sort((a, b) => v[b]! - v[a]! || a - b);
}

export interface Tally {
  wins: number;
  losses: number;
  ties: number;
}

/** Compares (expected winner, other) loss pairs: lower loss wins, |difference| ≤ tie is a tie. */
export function tally(pairs: readonly (readonly [number, number])[], tie: number): Tally {
  const t: Tally = { wins: 0, losses: 0, ties: 0 };
  for (const [a, b] of pairs) {
    if (Math.abs(a - b) <= tie) t.ties++;
    else if (a < b) t.wins++;
    else t.losses++;
  }
  return t;
}

export type Agreement = 'agrees' | 'partly agrees' | 'disagrees' | 'inconclusive';

/** All comparisons won (ties allowed) → agrees; none won and some lost → disagrees; all ties → inconclusive. */
export function agreement(t: Tally): Agreement {
  if (t.wins === 0 && t.losses === 0) return 'inconclusive';
  if (t.losses === 0) return 'agrees';
  if (t.wins === 0) return 'disagrees';
  return 'partly agrees';
}
