// Calibration on the layer-streamed engine (runtime/streamed-model.ts), layer-major: a group of batches
// (as many as the hidden-state budget holds) goes through layer 0, then layer 1, …, so each layer's
// weights are read once per group. The collector receives layer n's statistics batch by batch in data
// order — the same order as the whole-model path — so both give the same scores.
//
// Depth KL (research/paper.md §3.5): KL(p_full ‖ p_without_layer_j) for every j in one pass over the
// weights. The hidden state of "layer j removed" equals the full model's up to layer j, so it is forked
// from the full state at layer j (layer j is skipped for it) and every later layer runs on the full state
// and on all live forks. At the head, each vocabulary slice's logits of the full model and of every fork
// feed a streaming KL (online-kl.ts). When all L + 1 states do not fit the budget, the forks are split
// into sets and the pass repeats per set (weights read once per set).

import { HybridCompressError } from '../errors';
import type { RowBatch } from '../data/index';
import type { LayerStep, StreamedModel } from '../runtime/streamed-model';
import { concatIds, groupBatches, runsOf, type BatchRun, type RowGroup } from '../runtime/row-groups';
import { RUN_TOKENS } from '../runtime/execution-plan';
import { OnlineKl } from './online-kl';

export interface StreamedStep {
  /** Steps done and in total (a step = one layer or one head slice of one pass), for progress. */
  done: number;
  total: number;
}

interface Common {
  model: StreamedModel;
  batches: AsyncIterable<RowBatch>;
  /** Rows still to come (for the progress total). */
  rowsLeft: number;
  signal?: AbortSignal;
  onStep?: (s: StreamedStep) => void;
  cancelMessage: string;
}

function checkCancelled(signal: AbortSignal | undefined, message: string): void {
  if (signal?.aborted) throw new HybridCompressError('CANCELLED', message);
}

/** Rows per group for a token budget (whole batches, at least one). */
function rowsPerGroup(maxTokens: number, batch: number, seq: number): number {
  return Math.max(1, Math.floor(maxTokens / (batch * seq))) * batch;
}

export interface StreamedScoresOptions extends Common {
  /** Tokens of hidden state per group. */
  maxTokens: number;
  /** Receives layer n's outputs for consecutive batches of the group (rows × seq tokens, in data order). */
  addLayer: (n: number, outputs: ReadonlyMap<string, Float32Array>, rows: number, seq: number) => void;
  /** Layer n's weights are in memory (once per group), for statistics of the weights themselves (FLAP's column norms). */
  onLayerWeights?: (step: LayerStep) => void;
  /** After every layer of a group: record the group (collector.endBatch per batch, save state). */
  onGroup: (group: RowGroup<RowBatch>) => Promise<void>;
  /** Wall time of the engine and of addLayer, added up (seconds). */
  timings: { forward_s: number; aggregation_s: number };
}

/** Width statistics (+ block importance) of every batch, layer-major per group. */
export async function streamedScores(o: StreamedScoresOptions): Promise<void> {
  const { model } = o;
  const L = model.spec.numLayers;
  const D = model.spec.hiddenSize;
  let done = 0;
  let total = 0;
  for await (const g of groupBatches(o.batches, o.maxTokens)) {
    checkCancelled(o.signal, o.cancelMessage);
    const first = g.batches[0]!;
    if (total === 0) total = Math.ceil(o.rowsLeft / rowsPerGroup(o.maxTokens, first.batch, first.seq)) * L;
    const t0 = performance.now();
    let agg = 0;
    const h = await model.embed(concatIds(g.batches));
    for await (const step of model.pass({ more: g.more })) {
      if (step.kind !== 'layer') continue;
      checkCancelled(o.signal, o.cancelMessage);
      const a1 = performance.now();
      o.onLayerWeights?.(step);
      agg += performance.now() - a1;
      for (const run of runsOf(g.batches, RUN_TOKENS)) {
        const r = await step.run(h.subarray(run.token0 * D, (run.token0 + run.tokens) * D), run.rows, run.seq);
        const a0 = performance.now();
        o.addLayer(step.index, r.outputs, run.rows, run.seq);
        agg += performance.now() - a0;
        h.set(r.hidden, run.token0 * D);
      }
      o.onStep?.({ done: ++done, total: Math.max(total, done) });
    }
    o.timings.forward_s += (performance.now() - t0 - agg) / 1000;
    o.timings.aggregation_s += agg / 1000;
    await o.onGroup(g);
  }
}

export interface StreamedKlOptions extends Common {
  /** Bytes of hidden state (full model + forks) one pass may hold. */
  stateBytes: number;
  /** After a group: KL per token of each dropped layer (values[j] has one entry per token of the group). */
  onGroup: (group: RowGroup<RowBatch>, values: Float64Array[]) => Promise<void>;
}

/** Depth KL of every layer, layer-major, each layer's weights read once per (group, fork set). */
export async function streamedDepthKl(o: StreamedKlOptions): Promise<void> {
  const { model } = o;
  const L = model.spec.numLayers;
  const D = model.spec.hiddenSize;
  const rowBytes = (b: { seq: number }) => 4 * b.seq * D;
  let done = 0;
  let total = 0;
  // Group size: as many batches as fit with all L + 1 states (at least one batch), from the first batch's shape.
  const it = o.batches[Symbol.asyncIterator]();
  const head = await it.next();
  if (head.done) return;
  const b0 = head.value;
  const maxTokens = Math.max(b0.batch * b0.seq, Math.floor(o.stateBytes / ((L + 1) * rowBytes(b0))) * b0.seq);
  const all = (async function* () {
    yield b0;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  })();
  for await (const g of groupBatches(all, maxTokens)) {
    checkCancelled(o.signal, o.cancelMessage);
    const N = g.tokens;
    const perSet = Math.max(1, Math.min(L, Math.floor(o.stateBytes / (4 * N * D)) - 1));
    const sets: number[][] = [];
    for (let j = 0; j < L; j += perSet) sets.push(Array.from({ length: Math.min(perSet, L - j) }, (_, k) => j + k));
    const first = g.batches[0]!;
    if (total === 0) total = Math.ceil(o.rowsLeft / rowsPerGroup(maxTokens, first.batch, first.seq)) * sets.length * (L + model.headChunks);
    const kls = Array.from({ length: L }, () => new OnlineKl(N));
    const ids = concatIds(g.batches);
    for (const [si, set] of sets.entries()) {
      const full = await model.embed(ids);
      // Slot 0: the full model; slot k: the k-th fork of this set, created when its layer is reached.
      const states = new Float32Array((1 + set.length) * N * D);
      states.set(full, 0);
      const slotOf = new Map<number, number>();
      const slot = (s: number) => states.subarray(s * N * D, (s + 1) * N * D);
      let zp: Float32Array | undefined;
      for await (const step of model.pass({ head: true, more: g.more || si + 1 < sets.length })) {
        checkCancelled(o.signal, o.cancelMessage);
        if (step.kind === 'layer') {
          const live = 1 + slotOf.size;
          if (set.includes(step.index)) {
            slotOf.set(step.index, live);
            slot(live).set(slot(0)); // this fork skips the layer
          }
          for (let s = 0; s < live; s++) await runBatches(g, slot(s), D, (v, run) => step.run(v, run.rows, run.seq).then((r) => r.hidden));
        } else {
          const width = step.rows;
          zp = new Float32Array(N * width);
          await runBatches(g, slot(0), D, (v, run) => step.run(v, run.rows, run.seq).then((r) => r.logits!), zp, width);
          for (const [j, s] of slotOf) {
            await runBatches(g, slot(s), D, async (v, run) => {
              const zq = (await step.run(v, run.rows, run.seq)).logits!;
              kls[j]!.add(zp!.subarray(run.token0 * width, (run.token0 + run.tokens) * width), zq, run.token0, run.tokens, width);
              return undefined;
            });
          }
        }
        o.onStep?.({ done: ++done, total: Math.max(total, done) });
      }
    }
    await o.onGroup(g, kls.map((k) => k.values()));
  }
}

/**
 * Runs `fn` on the group's runs of batches (runsOf) over `state` ([tokens, D] for the group's batches in
 * order) and writes what it returns back: into `state` itself (hidden states), or into `out` with
 * `width` values per token.
 */
async function runBatches(
  g: RowGroup<RowBatch>,
  state: Float32Array,
  D: number,
  fn: (view: Float32Array, run: BatchRun) => Promise<Float32Array | undefined>,
  out?: Float32Array,
  width?: number,
): Promise<void> {
  for (const run of runsOf(g.batches, RUN_TOKENS)) {
    const r = await fn(state.subarray(run.token0 * D, (run.token0 + run.tokens) * D), run);
    if (r) (out ?? state).set(r, run.token0 * (out ? width! : D));
  }
}
