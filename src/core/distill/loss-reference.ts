// Float64 reference for the training losses (tests only): forward KL KL(p_t ‖ p_s) on temperature-
// scaled logits, summed over the vocabulary and averaged over token positions (no T² factor); and
// next-token cross-entropy averaged over predicted positions.

function logSoftmax(x: ArrayLike<number>, off: number, V: number, T: number): Float64Array {
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, x[off + j]! / T);
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(x[off + j]! / T - max);
  const lse = max + Math.log(s);
  const out = new Float64Array(V);
  for (let j = 0; j < V; j++) out[j] = x[off + j]! / T - lse;
  return out;
}

/** Mean over the `positions` rows of Σ_v p_t (log p_t − log p_s). */
export function forwardKlReference(teacher: ArrayLike<number>, student: ArrayLike<number>, positions: number, V: number, T = 1): number {
  let total = 0;
  for (let r = 0; r < positions; r++) {
    const lt = logSoftmax(teacher, r * V, V, T);
    const ls = logSoftmax(student, r * V, V, T);
    for (let j = 0; j < V; j++) total += Math.exp(lt[j]!) * (lt[j]! - ls[j]!);
  }
  return total / positions;
}

/** Mean next-token cross-entropy: logits [rows, seq, V], targets ids[row, t+1] for t < seq-1. */
export function crossEntropyReference(logits: ArrayLike<number>, ids: ArrayLike<number | bigint>, rows: number, seq: number, V: number): number {
  let total = 0;
  let n = 0;
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t + 1 < seq; t++) {
      const ls = logSoftmax(logits, (r * seq + t) * V, V, 1);
      total -= ls[Number(ids[r * seq + t + 1]!)]!;
      n++;
    }
  }
  return total / n;
}
