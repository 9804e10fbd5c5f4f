// `eval`: mean next-token cross-entropy of a model over a data file, with perplexity and throughput,
// on the ONNX engine; optionally dumps the float32 logits as a safetensors tensor `logits` [rows, L, V].

import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { HybridCompressError } from '../errors';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { ForwardRunner } from '../runtime/forward-runner';
import { StreamedModel } from '../runtime/streamed-model';
import { chooseExecution, stateBudgetBytes, type ExecutionMode } from '../runtime/execution-plan';
import { groupBatches } from '../runtime/row-groups';
import { ProgressMeter } from '../jobs/progress-meter';
import { nonFiniteError } from '../checkpoint/finite';
import type { DtClampMode } from '../model/dt-clamp';
import type { Device, ExecutionProvider } from '../runtime/session';
import { buildHeader } from '../safetensors/writer';
import { describeDataReport } from '../data/index';
import { nextTokenNll, openModelDataset, type DataSettings } from './model-data';
import { streamedGroupNll } from './streamed-loss';

export interface EvalSettings extends DataSettings {
  model: string;
  device?: Device;
  threads?: number;
  /** 'auto' (default): whole model when it fits comfortably in memory, layer-streamed otherwise (runtime/execution-plan.ts). */
  mode?: ExecutionMode;
  dumpLogits?: string;
  /** Lower bound of dt: 'config' = time_step_limit (the Hub code and mamba_ssm), 'transformers5' = time_step_min (transformers ≥ 5 NemotronH prefill). */
  dtClampMode?: DtClampMode;
  /** Replace an existing --dump-logits file this tool wrote (checked by the launcher). */
  force?: boolean;
  /** Streamed mode: bytes of hidden state one pass may hold (default stateBudgetBytes()). */
  stateBytes?: number;
  /** Streamed mode: vocabulary rows per head slice (default DEFAULT_HEAD_ROWS). */
  headRows?: number;
}

export interface EvalProgress {
  rows: number;
  totalRows: number;
  tokens: number;
  tokensPerS: number;
  /** What the progress counts: rows (whole model) or layer/head steps (streamed); with an ETA once measurable. */
  done: number;
  total: number;
  unit: string;
  etaS?: number;
}

export interface EvalReport {
  model: string;
  data: string;
  loss: number;
  perplexity: number;
  rows: number;
  tokens: number;
  predictedTokens: number;
  tokensPerS: number;
  seconds: number;
  ep: ExecutionProvider;
  /** 'whole' (one session) or 'streamed' (layer by layer), and why. */
  execution: { mode: 'whole' | 'streamed'; reason: string };
  params: number;
  dataReport: string;
  logitsFile?: string;
}

/** labels[b,t] = ids[b,t+1]; the last position gets a placeholder id whose loss is not counted. */
export function nextTokenLabels(ids: BigInt64Array, batch: number, seq: number): BigInt64Array {
  const l = new BigInt64Array(batch * seq);
  for (let b = 0; b < batch; b++) for (let t = 0; t + 1 < seq; t++) l[b * seq + t] = ids[b * seq + t + 1]!;
  return l;
}

/** Σ of the per-position losses over t < seq−1 (the positions with a next token). */
function sumPredicted(nll: ArrayLike<number>, batch: number, seq: number): { sum: number; count: number } {
  let sum = 0;
  for (let b = 0; b < batch; b++) for (let t = 0; t + 1 < seq; t++) sum += nll[b * seq + t]!;
  return { sum, count: batch * (seq - 1) };
}

export async function evaluateLm(s: EvalSettings, hooks: { onProgress?: (p: EvalProgress) => void; signal?: AbortSignal; log?: (l: string) => void } = {}): Promise<EvalReport> {
  const ckpt = await openCheckpoint(s.model);
  let runner: ForwardRunner | undefined;
  let streamed: StreamedModel | undefined;
  let dump: { fh: import('node:fs/promises').FileHandle; tmp: string; rows: number } | undefined;
  try {
    const spec = ckpt.spec;
    const ds = await openModelDataset(ckpt.dir, spec, s);
    const totalRows = s.samples ?? (await ds.countRows());
    if (totalRows === 0) throw new HybridCompressError('DATA_INVALID', `${s.data}: no rows of ${s.seqLen} tokens`, { file: s.data });
    const execution = chooseExecution(spec, s.mode);
    hooks.log?.(`eval: ${execution.reason}`);
    // Without a logits dump the loss is computed inside the graph (no [batch, seq, vocab] copy out).
    const inGraph = !s.dumpLogits;
    if (execution.mode === 'whole') runner = await ForwardRunner.create(ckpt, { mode: 'whole', dtClampMode: s.dtClampMode, device: s.device, threads: s.threads, log: hooks.log, ...(inGraph ? { nll: true, logits: false } : {}) });
    else streamed = await StreamedModel.create(ckpt, { dtClampMode: s.dtClampMode, device: s.device, threads: s.threads, log: hooks.log, head: { nll: true, logits: !inGraph }, headRows: s.headRows });
    const ep = (runner?.ep ?? streamed?.ep)!;
    const V = spec.vocabSize;
    if (s.dumpLogits) {
      // The header needs the row count up front: we know it (countRows or --samples caps it).
      const tmp = join(dirname(s.dumpLogits), `.${basename(s.dumpLogits)}.tmp-${process.pid}`);
      const fh = await open(tmp, 'w');
      dump = { fh, tmp, rows: 0 };
      await fh.write(buildHeader([{ name: 'logits', dtype: 'F32', shape: [totalRows, s.seqLen, V] }], { format: 'hybrid-compress/logits@1', model: ckpt.dir }).bytes);
    }
    const dataStart = dump ? (await dump.fh.stat()).size : 0;
    let nll = 0;
    let count = 0;
    let rows = 0;
    let computeMs = 0;
    // Throughput leaves out the first batch (session warm-up) whenever there is more than one.
    let timedMs = 0;
    let timedTokens = 0;
    let batches = 0;
    const t0 = performance.now();
    const addBatch = async (sum: number, cnt: number, b: { rowIndex: number; batch: number }) => {
      if (!Number.isFinite(sum)) throw await nonFiniteError(ckpt, 'model', `its logits on rows ${b.rowIndex}..${b.rowIndex + b.batch - 1} of ${s.data}`);
      nll += sum;
      count += cnt;
      rows += b.batch;
    };
    if (runner) {
      const meter = new ProgressMeter('eval', totalRows, 'rows');
      for await (const b of ds.batches()) {
        if (hooks.signal?.aborted) throw new HybridCompressError('CANCELLED', 'evaluation cancelled');
        const t1 = performance.now();
        const labels = inGraph ? nextTokenLabels(b.ids, b.batch, b.seq) : undefined;
        const out = await runner.run(b.ids, b.batch, b.seq, { labels });
        const dt = performance.now() - t1;
        computeMs += dt;
        if (batches++ > 0) {
          timedMs += dt;
          timedTokens += b.batch * b.seq;
        }
        const logits = out.logits;
        const r = inGraph ? sumPredicted(out.nll!, b.batch, b.seq) : nextTokenNll(logits, b.ids, b.batch, b.seq, V);
        await addBatch(r.sum, r.count, b);
        if (dump) {
          await dump.fh.write(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
          dump.rows += b.batch;
        }
        const info = meter.update(rows, { tokens: b.batch * b.seq });
        hooks.onProgress?.({ rows, totalRows, tokens: rows * s.seqLen, tokensPerS: (rows * s.seqLen) / (computeMs / 1000), done: info.done, total: info.total, unit: info.unit, ...(info.etaS !== undefined ? { etaS: info.etaS } : {}) });
      }
    } else {
      const model = streamed!;
      const maxTokens = Math.max(1, Math.floor((s.stateBytes ?? stateBudgetBytes()) / (4 * spec.hiddenSize)));
      const perGroup = Math.max(1, Math.floor(maxTokens / (s.batch * s.seqLen))) * s.batch;
      const meter = new ProgressMeter('eval', Math.ceil(totalRows / perGroup) * (spec.numLayers + model.headChunks), 'steps');
      let steps = 0;
      for await (const g of groupBatches(ds.batches(), maxTokens)) {
        const t1 = performance.now();
        const labels = new BigInt64Array(g.tokens);
        let off = 0;
        for (const b of g.batches) {
          labels.set(nextTokenLabels(b.ids, b.batch, b.seq), off);
          off += b.batch * b.seq;
        }
        const firstRow = rows;
        const per = await streamedGroupNll(model, g.batches, labels, {
          more: g.more,
          signal: hooks.signal,
          onStep: () => {
            const info = meter.update(++steps, { total: Math.max(meter.total, steps) });
            const done = rows + g.rows;
            hooks.onProgress?.({ rows, totalRows, tokens: rows * s.seqLen, tokensPerS: (done * s.seqLen) / ((computeMs + performance.now() - t1) / 1000), done: info.done, total: info.total, unit: info.unit, ...(info.etaS !== undefined ? { etaS: info.etaS } : {}) });
          },
          onLogits: dump
            ? async (bi, v0, width, logits) => {
                // Strips of `width` logits per position, at their place in the [rows, L, V] tensor.
                const b = g.batches[bi]!;
                const rowBase = firstRow + g.batches.slice(0, bi).reduce((a, x) => a + x.batch, 0);
                for (let p = 0; p < b.batch * b.seq; p++) {
                  const at = dataStart + ((rowBase * s.seqLen + p) * V + v0) * 4;
                  await dump!.fh.write(new Uint8Array(logits.buffer, logits.byteOffset + p * width * 4, width * 4), 0, width * 4, at);
                }
              }
            : undefined,
        });
        computeMs += performance.now() - t1;
        off = 0;
        for (const b of g.batches) {
          const r = sumPredicted(per.subarray(off, off + b.batch * b.seq), b.batch, b.seq);
          await addBatch(r.sum, r.count, b);
          off += b.batch * b.seq;
          if (dump) dump.rows += b.batch;
        }
      }
      timedMs = computeMs;
      timedTokens = rows * s.seqLen;
    }
    const seconds = (performance.now() - t0) / 1000;
    if (rows === 0) throw new HybridCompressError('DATA_INVALID', `${s.data}: no rows of ${s.seqLen} tokens (${describeDataReport(ds.report)})`, { file: s.data });
    let logitsFile: string | undefined;
    if (dump) {
      if (dump.rows !== totalRows) throw new HybridCompressError('RUNTIME_ERROR', `logits dump: expected ${totalRows} rows, wrote ${dump.rows}`);
      await dump.fh.sync();
      await dump.fh.close();
      await rename(dump.tmp, s.dumpLogits!);
      logitsFile = s.dumpLogits;
      dump = undefined;
    }
    await ds.close();
    const loss = nll / count;
    return {
      model: ckpt.dir,
      data: s.data,
      loss,
      perplexity: Math.exp(loss),
      rows,
      tokens: rows * s.seqLen,
      predictedTokens: count,
      tokensPerS: timedTokens > 0 ? timedTokens / (timedMs / 1000) : (rows * s.seqLen) / (computeMs / 1000),
      seconds,
      ep,
      execution: { mode: execution.mode, reason: execution.reason },
      params: spec.params.total,
      dataReport: describeDataReport(ds.report),
      logitsFile,
    };
  } finally {
    if (dump) {
      await dump.fh.close().catch(() => undefined);
      await rm(dump.tmp, { force: true });
    }
    await runner?.release();
    await streamed?.release();
    await ckpt.close();
  }
}
