// Groups consecutive batches of rows so that a layer-streamed pass (streamed-model.ts) reads each layer's
// weights once per group instead of once per batch: as many batches as the hidden-state budget holds,
// at least one. Each group says whether another follows (so the pass can read the next one's first layer
// ahead). Within a group, consecutive batches of one sequence length run through a layer together
// (runsOf): the layer's weights are session inputs, which MLAS packs on every run (ort.md §2), so a few
// large runs cost less than many small ones; every output is per row, so the results do not change.

export interface RowGroup<B> {
  batches: B[];
  /** Rows and tokens in the group. */
  rows: number;
  tokens: number;
  /** Another group follows. */
  more: boolean;
}

export async function* groupBatches<B extends { batch: number; seq: number }>(batches: AsyncIterable<B>, maxTokens: number): AsyncGenerator<RowGroup<B>> {
  let cur: B[] = [];
  let tokens = 0;
  const group = (more: boolean): RowGroup<B> => ({ batches: cur, rows: cur.reduce((s, b) => s + b.batch, 0), tokens, more });
  for await (const b of batches) {
    const t = b.batch * b.seq;
    if (cur.length > 0 && tokens + t > maxTokens) {
      yield group(true);
      cur = [];
      tokens = 0;
    }
    cur.push(b);
    tokens += t;
  }
  if (cur.length > 0) yield group(false);
}

/** ids of several batches, concatenated in order. */
export function concatIds(batches: readonly { ids: BigInt64Array }[]): BigInt64Array {
  const out = new BigInt64Array(batches.reduce((s, b) => s + b.ids.length, 0));
  let off = 0;
  for (const b of batches) {
    out.set(b.ids, off);
    off += b.ids.length;
  }
  return out;
}

/** Consecutive batches of a group run as one call: `rows` rows of `seq` tokens from token `token0` on. */
export interface BatchRun {
  /** Index of the run's first batch in the group, and its number of batches. */
  first: number;
  count: number;
  rows: number;
  seq: number;
  token0: number;
  tokens: number;
}

/** Splits batches into runs of consecutive batches with the same seq, each at most maxTokens (at least one batch). */
export function runsOf(batches: readonly { batch: number; seq: number }[], maxTokens: number): BatchRun[] {
  const runs: BatchRun[] = [];
  let token0 = 0;
  for (const [i, b] of batches.entries()) {
    const n = b.batch * b.seq;
    const last = runs[runs.length - 1];
    if (last && last.seq === b.seq && last.tokens + n <= maxTokens) {
      last.count++;
      last.rows += b.batch;
      last.tokens += n;
    } else runs.push({ first: i, count: 1, rows: b.batch, seq: b.seq, token0, tokens: n });
    token0 += n;
  }
  return runs;
}
