// Groups consecutive batches of rows so that a layer-streamed pass (streamed-model.ts) reads each layer's
// weights once per group instead of once per batch: as many batches as the hidden-state budget holds,
// at least one. Each group says whether another follows (so the pass can read the next one's first layer
// ahead).

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
