// Next-token loss on the layer-streamed engine (runtime/streamed-model.ts): a group of batches goes
// through every layer (each layer's weights read once per group), then through the vocabulary slices of
// the head, whose per-slice log-sum-exps combine in float64 into the full one:
//   lse = log Σ_c exp(lse_c),   nll = lse − z[label]   (z[label] from the slice that holds the label).
// Used by `eval` and by the pruner's before/after check when the model does not fit as one session.

import type { StreamedModel } from '../runtime/streamed-model';
import { localLabels } from '../runtime/streamed-model';
import { concatIds, runsOf } from '../runtime/row-groups';
import { RUN_TOKENS } from '../runtime/execution-plan';
import { HybridCompressError } from '../errors';

export interface NllBatch {
  ids: BigInt64Array;
  batch: number;
  seq: number;
}

export interface GroupNllOptions {
  /** Another group follows (its first layer is read ahead). */
  more?: boolean;
  signal?: AbortSignal;
  /** After each layer or head slice. */
  onStep?: () => void;
  /** Each batch's logits of each head slice: [batch, seq, width] for vocabulary rows [v0, v0 + width). */
  onLogits?: (batchIndex: number, v0: number, width: number, logits: Float32Array) => Promise<void> | void;
}

/** −log p(labels[t]) for every position t of the group's batches (in order), float64. */
export async function streamedGroupNll(model: StreamedModel, batches: readonly NllBatch[], labels: BigInt64Array, o: GroupNllOptions = {}): Promise<Float64Array> {
  const D = model.spec.hiddenSize;
  const N = batches.reduce((s, b) => s + b.batch * b.seq, 0);
  if (labels.length !== N) throw new HybridCompressError('OPTION_INVALID', `streamed loss: ${labels.length} labels for ${N} positions`, { option: 'labels' });
  const h = await model.embed(concatIds(batches));
  const lse = new Float64Array(N).fill(-Infinity);
  const picked = new Float64Array(N).fill(NaN);
  for await (const step of model.pass({ head: true, more: o.more })) {
    if (o.signal?.aborted) throw new HybridCompressError('CANCELLED', 'evaluation cancelled');
    for (const run of runsOf(batches, RUN_TOKENS)) {
      const t = run.token0;
      const n = run.tokens;
      const view = h.subarray(t * D, (t + n) * D);
      if (step.kind === 'layer') h.set((await step.run(view, run.rows, run.seq)).hidden, t * D);
      else {
        const mine = labels.subarray(t, t + n);
        const r = await step.run(view, run.rows, run.seq, localLabels(mine, step.v0, step.rows));
        for (let i = 0; i < n; i++) {
          const x = r.lse![i]!;
          const m = Math.max(lse[t + i]!, x);
          lse[t + i] = m === -Infinity ? x : m + Math.log(Math.exp(lse[t + i]! - m) + Math.exp(x - m));
          const label = Number(mine[i]!);
          if (label >= step.v0 && label < step.v0 + step.rows) picked[t + i] = r.labelLogit![i]!;
        }
        if (o.onLogits && r.logits) {
          // The run's logits, batch by batch ([batch, seq, width] each, in order).
          let off = 0;
          for (let bi = run.first; bi < run.first + run.count; bi++) {
            const len = batches[bi]!.batch * batches[bi]!.seq * step.rows;
            await o.onLogits(bi, step.v0, step.rows, r.logits.subarray(off, off + len));
            off += len;
          }
        }
      }
    }
    o.onStep?.();
  }
  const out = new Float64Array(N);
  for (let i = 0; i < N; i++) out[i] = lse[i]! - picked[i]!;
  return out;
}
