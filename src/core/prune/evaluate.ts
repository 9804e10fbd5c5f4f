// Zero-shot LM loss of a checkpoint on a few rows: the after-write check of `prune` (loss before/after)
// and the candidate score of `search`. Rows come from a data file through the data pipeline, or, without
// one, are seeded random token ids (then the loss only shows that the model runs and stays finite).
// The forward is the ONNX engine (src/core/runtime), imported lazily so that merely importing this module
// (the CLI and the extension host do, for option checks) never loads onnxruntime-node.

import type { Device } from '../runtime/devices';
import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import { openCheckpoint } from '../checkpoint/checkpoint';
import type { Packing } from '../data/index';
import { openModelDataset } from '../eval/model-data';
import { Rng } from '../util/random';
import { chooseExecution, stateBudgetBytes, type ExecutionMode } from '../runtime/execution-plan';

export interface EvalRows {
  ids: number[][];
  /** The data file, or "random tokens (seed S)". */
  source: string;
  random: boolean;
}

export interface EvalRowOptions {
  data?: string;
  rows: number;
  seqLen: number;
  /** Seed of the random tokens (no data file). */
  seed?: number;
  /** How the data file is read (default: concatenated documents, in file order): the calibration's, to score on its rows. */
  packing?: Packing;
  shuffle?: boolean;
  dataSeed?: number;
}

export async function loadEvalRows(modelDir: string, spec: HybridModelSpec, o: EvalRowOptions): Promise<EvalRows> {
  if (!o.data) {
    const rng = new Rng(o.seed ?? 0);
    const ids = Array.from({ length: o.rows }, () => Array.from({ length: o.seqLen }, () => rng.int(spec.vocabSize)));
    return { ids, source: `random tokens (seed ${o.seed ?? 0})`, random: true };
  }
  const ds = await openModelDataset(modelDir, spec, { data: o.data, seqLen: o.seqLen, samples: o.rows, batch: 1, packing: o.packing, shuffle: o.shuffle, seed: o.dataSeed });
  const ids: number[][] = [];
  try {
    for await (const r of ds.rows()) ids.push(Array.from(r.ids));
  } finally {
    await ds.close();
  }
  if (ids.length === 0) {
    throw new HybridCompressError('DATA_INVALID', `${o.data}: gave no row of ${o.seqLen} tokens for the zero-shot loss; use a larger file or a smaller --seq-len`, { file: o.data, option: 'data' });
  }
  return { ids, source: o.data, random: false };
}

/** Mean next-token cross-entropy (nats) of logits [rows, seq, vocab] against the rows' own ids. */
export function lmLoss(logits: ArrayLike<number>, ids: number[][], vocab: number): number {
  let total = 0;
  let count = 0;
  const T = ids[0]!.length;
  for (let b = 0; b < ids.length; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const base = (b * T + t) * vocab;
      let max = -Infinity;
      for (let v = 0; v < vocab; v++) max = Math.max(max, logits[base + v]!);
      let sum = 0;
      for (let v = 0; v < vocab; v++) sum += Math.exp(logits[base + v]! - max);
      total += max + Math.log(sum) - logits[base + ids[b]![t + 1]!]!;
      count++;
    }
  }
  return count > 0 ? total / count : NaN;
}

export interface EvalResult {
  loss: number;
  tokensPerS: number;
  /** Which forward computed it. */
  engine: string;
}

export type Evaluator = (checkpointDir: string) => Promise<EvalResult>;

export interface EngineOptions {
  device?: Device;
  threads?: number;
  /** Whole-model session or layer-streamed (default auto: runtime/execution-plan.ts decides per model). */
  mode?: ExecutionMode;
  log?: (line: string) => void;
  /** Layer-streamed runs: steps (layers, head slices) done of the total, per evaluated model. */
  onStep?: (done: number, total: number) => void;
}

/**
 * The ONNX engine. Whole model: rows run one at a time (logits [seq, vocab] stay small even for a 131k
 * vocabulary); tokens/s is measured after one warm-up row, without session creation. Layer-streamed (a
 * model that does not fit as one session): all rows in one pass over the weights, the loss from the
 * vocabulary slices (eval/streamed-loss.ts); tokens/s over the whole pass.
 */
export function engineEvaluator(rows: EvalRows, o: EngineOptions = {}): Evaluator {
  return async (dir) => {
    const { ForwardRunner, StreamedModel } = await import('../runtime/index');
    const ckpt = await openCheckpoint(dir);
    const T = rows.ids[0]!.length;
    const V = ckpt.spec.vocabSize;
    const execution = chooseExecution(ckpt.spec, o.mode);
    if (execution.mode === 'streamed') {
      o.log?.(`${dir}: ${execution.reason}`);
      const { streamedGroupNll } = await import('../eval/streamed-loss');
      const model = await StreamedModel.create(ckpt, { device: o.device, threads: o.threads, log: o.log, head: { nll: true, logits: false } });
      try {
        // As many rows per pass over the weights as the hidden-state budget holds (the paper scores
        // candidates on 1024 rows × 8192 tokens, far more than one pass can hold at 8B).
        const perGroup = Math.max(1, Math.floor(stateBudgetBytes() / (4 * ckpt.spec.hiddenSize * T)));
        const groups = Math.ceil(rows.ids.length / perGroup);
        const total = groups * (ckpt.spec.numLayers + model.headChunks);
        const nll = new Float64Array(rows.ids.length * T);
        let done = 0;
        const t0 = performance.now();
        for (let g = 0; g < groups; g++) {
          const ids = rows.ids.slice(g * perGroup, (g + 1) * perGroup);
          const batches = ids.map((r) => ({ ids: BigInt64Array.from(r, (x) => BigInt(x)), batch: 1, seq: T }));
          const labels = BigInt64Array.from(ids.flatMap((r) => r.map((_, t) => BigInt(r[t + 1] ?? 0))));
          nll.set(await streamedGroupNll(model, batches, labels, { more: g + 1 < groups, onStep: () => o.onStep?.(++done, total) }), g * perGroup * T);
        }
        const seconds = (performance.now() - t0) / 1000;
        // The mean over rows of each row's mean over its T − 1 predicted positions, as the whole-model path.
        let sum = 0;
        for (let r = 0; r < rows.ids.length; r++) {
          let row = 0;
          for (let t = 0; t + 1 < T; t++) row += nll[r * T + t]!;
          sum += T > 1 ? row / (T - 1) : NaN;
        }
        return { loss: sum / rows.ids.length, tokensPerS: (rows.ids.length * T) / Math.max(seconds, 1e-9), engine: `onnxruntime (${model.ep}, layer-streamed)` };
      } finally {
        await model.release();
        await ckpt.close();
      }
    }
    const runner = await ForwardRunner.create(ckpt, { mode: 'whole', device: o.device, threads: o.threads, log: o.log });
    try {
      let total = 0;
      let seconds = 0;
      for (const [i, row] of rows.ids.entries()) {
        const ids = BigInt64Array.from(row, (x) => BigInt(x));
        const t0 = performance.now();
        const { logits } = await runner.run(ids, 1, T);
        if (i > 0 || rows.ids.length === 1) seconds += (performance.now() - t0) / 1000;
        total += lmLoss(logits, [row], V);
      }
      const timed = rows.ids.length > 1 ? rows.ids.length - 1 : 1;
      return { loss: total / rows.ids.length, tokensPerS: (timed * T) / Math.max(seconds, 1e-9), engine: `onnxruntime (${runner.ep})` };
    } finally {
      await runner.release();
      await ckpt.close();
    }
  };
}

/** The evaluator the pipelines use: the ONNX engine. */
export async function defaultEvaluator(rows: EvalRows, o: EngineOptions = {}): Promise<Evaluator> {
  return engineEvaluator(rows, o);
}
