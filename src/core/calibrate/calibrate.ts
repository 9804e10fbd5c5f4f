// The calibration job (worker side): forward passes over the calibration rows that return per-row
// statistics of the taps (reduced over tokens inside the graph; or, with reduce: 'js', the full taps),
// aggregated by ImportanceCollector into importance.safetensors; optional depth KL (each layer dropped in turn).
// Resumable: after every batch the collector state and the data cursor go to state.json (atomically),
// and a restarted job continues from the last completed batch.

import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as ortTypes from 'onnxruntime-node';
import { HybridCompressError } from '../errors';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { checkpointFingerprint } from '../checkpoint/fingerprint';
import { ForwardRunner } from '../runtime/forward-runner';
import { StreamedModel } from '../runtime/streamed-model';
import { chooseExecution, stateBudgetBytes } from '../runtime/execution-plan';
import { ProgressMeter } from '../jobs/progress-meter';
import { writeSafetensors } from '../safetensors/writer';
import { encodeFromFloat } from '../safetensors/dtype';
import { writeFileAtomic } from '../runs/atomic-write';
import { describeDataReport, type DataCursor } from '../data/index';
import type { CalibrationSettings } from './settings';
import { openModelDataset } from '../eval/model-data';
import { ImportanceCollector, calibrationStats, calibrationTaps, type CollectorState } from './collector';
import { MeanAccumulator, klPerToken, type MeanAccumulatorState } from './depth';
import { IMPORTANCE_FILE, IMPORTANCE_FORMAT } from './importance-file';
import { writeCalibrationSummary } from './summary';
import { streamedDepthKl, streamedScores } from './streamed-passes';
import { flapColumnNorms } from './flap';
import { CALIBRATION_STATE_FILE, SUMMARY_FILE } from '../runs/layout';

export { CALIBRATION_DEFAULTS, type CalibrationSettings, type DepthMetric } from './settings';

export interface CalibrationProgress {
  phase: 'fingerprint' | 'scores' | 'depth-kl';
  done: number;
  total: number;
  unit: string;
  tokens?: number;
  tokensPerS?: number;
  etaS?: number;
}

export interface CalibrationResult {
  importance: string;
  summary: string;
  rows: number;
  tokens: number;
  ep: string;
  fingerprint: string;
  /** 'whole' (one session) or 'streamed' (layer by layer, bounded memory), and why. */
  execution: { mode: 'whole' | 'streamed'; reason: string };
  timings: { forward_s: number; aggregation_s: number; depth_kl_s: number; total_s: number };
  tokensPerS: number;
  resumedFromRow?: number;
}

interface SavedState {
  format: 'hybrid-compress/calibration-state@1';
  key: string;
  collector: CollectorState;
  cursor?: DataCursor;
  scoresDone: boolean;
  kl?: { layers: MeanAccumulatorState[]; rowsDone: number; cursor?: DataCursor };
  timings: { forward_s: number; aggregation_s: number; depth_kl_s: number };
}

const STATE_FILE = CALIBRATION_STATE_FILE;

export interface CalibrationHooks {
  onProgress?: (p: CalibrationProgress) => void;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /**
   * Where the per-row reductions over tokens happen: 'graph' (default) — ORT returns [batch, width]
   * statistics; 'js' — ORT returns the full [batch, seq, width] taps and JS reduces them (the original
   * path, kept for comparison and benchmarks). Both give the same scores up to float32 rounding, and
   * share the resumable state, so a run may resume on either.
   */
  reduce?: 'graph' | 'js';
  /** Streamed mode: bytes of hidden state a pass may hold (default: stateBudgetBytes of the available memory). */
  stateBytes?: number;
}

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new HybridCompressError('CANCELLED', 'calibration cancelled; run the same command again to resume from the last completed batch');
}

/**
 * Runs (or resumes) a calibration into `runDir`; `key` identifies model + data + settings. `fingerprintId` is
 * the checkpoint's fingerprint when the caller has it already (the parent computed it for the key).
 */
export async function runCalibration(s: CalibrationSettings, runDir: string, key: string, hooks: CalibrationHooks = {}, fingerprintId?: string): Promise<CalibrationResult> {
  const t0 = performance.now();
  const ckpt = await openCheckpoint(s.model);
  let runner: ForwardRunner | undefined;
  let streamed: StreamedModel | undefined;
  const datasets: { close(): Promise<void> }[] = [];
  try {
    const spec = ckpt.spec;
    // Inputs first (data format vs tokenizer, row count), before anything expensive.
    const ds = await openModelDataset(ckpt.dir, spec, s);
    datasets.push(ds);
    const totalRows = Math.min(s.samples, await ds.countRows());
    if (totalRows === 0) throw new HybridCompressError('DATA_INVALID', `${s.data}: no calibration rows of ${s.seqLen} tokens (${describeDataReport(ds.report)})`, { file: s.data, option: 'data' });
    await mkdir(runDir, { recursive: true });
    const fingerprint = fingerprintId ?? (await checkpointFingerprint(ckpt)).id;
    const statePath = join(runDir, STATE_FILE);
    let state: SavedState | undefined;
    if (existsSync(statePath)) {
      const saved = JSON.parse(readFileSync(statePath, 'utf8')) as SavedState;
      if (saved.format === 'hybrid-compress/calibration-state@1' && saved.key === key) state = saved;
      else hooks.log?.(`${statePath} belongs to other settings; starting over`);
    }
    const collectorOptions = { flap: true, depth: s.depth !== 'none', ffnTap: s.ffnTap ?? 'post' };
    const collector = state ? ImportanceCollector.fromState(spec, state.collector, collectorOptions) : new ImportanceCollector(spec, collectorOptions);
    const timings = state?.timings ?? { forward_s: 0, aggregation_s: 0, depth_kl_s: 0 };
    const resumedFromRow = state && collector.rows > 0 ? collector.rows : undefined;
    if (resumedFromRow !== undefined) hooks.log?.(`resuming calibration after ${collector.rows} rows`);
    const save = async (patch: Partial<SavedState>) => {
      state = { format: 'hybrid-compress/calibration-state@1', key, collector: collector.toState(), scoresDone: false, timings, ...state, ...patch };
      state.collector = collector.toState();
      state.timings = timings;
      await writeFileAtomic(statePath, JSON.stringify(state));
    };

    const execution = chooseExecution(spec, s.mode);
    hooks.log?.(`calibration: ${execution.reason}`);
    const mode = execution.mode;
    const inGraph = (hooks.reduce ?? 'graph') === 'graph';
    const outputsOf = (n: number) => (inGraph ? calibrationStats : calibrationTaps)(spec, n, collectorOptions);
    const addLayer = (n: number, got: ReadonlyMap<string, Float32Array>, rows: number, seq: number) =>
      inGraph ? collector.addLayerStats(n, got, rows, seq) : collector.addLayer(n, got, rows, seq);
    const stateBytes = hooks.stateBytes ?? stateBudgetBytes();
    const cancelMessage = 'calibration cancelled; run the same command again to resume from the last completed batch';
    let ep: string;

    // ---- width scores (+ block importance) ----
    if (mode === 'whole') {
      const outputs = spec.layers.flatMap((l) => outputsOf(l.index));
      // No lm_head in this pass: the graph ends at the last layer's statistics.
      runner = await ForwardRunner.create(ckpt, { mode: 'whole', ...(inGraph ? { stats: outputs } : { taps: outputs }), dtClampMode: s.dtClampMode, device: s.device, threads: s.threads, logits: false, log: hooks.log });
      ep = runner.ep;
      if (!state?.scoresDone) {
        const meter = new ProgressMeter('scores', totalRows, 'rows');
        for await (const b of ds.batches(state?.cursor)) {
          checkCancelled(hooks.signal);
          const f0 = performance.now();
          const r = await runner.run(b.ids, b.batch, b.seq);
          const f1 = performance.now();
          for (const l of spec.layers) addLayer(l.index, r.taps, b.batch, b.seq);
          timings.forward_s += (f1 - f0) / 1000;
          timings.aggregation_s += (performance.now() - f1) / 1000;
          collector.endBatch(b.batch, b.seq);
          await save({ cursor: b.cursor });
          report(hooks, { ...meter.update(collector.rows, { tokens: b.batch * b.seq }), phase: 'scores', tokens: collector.tokens });
        }
        await save({ scoresDone: true });
      }
    } else {
      streamed = await StreamedModel.create(ckpt, {
        dtClampMode: s.dtClampMode,
        device: s.device,
        threads: s.threads,
        log: hooks.log,
        layerOutputs: (n) => (inGraph ? { stats: outputsOf(n) } : { taps: outputsOf(n) }),
        // FLAP's column norms (below) are taken while the weights are upcast, not in a second pass over them.
        columnSquares: (n) => (collector.needsFlapNorms(n) ? [collector.flapWeightOf(n)!.role] : []),
      });
      ep = streamed.ep;
      if (!state?.scoresDone) {
        const meter = new ProgressMeter('scores', 0, 'layers');
        await streamedScores({
          model: streamed,
          batches: ds.batches(state?.cursor),
          rowsLeft: totalRows - collector.rows,
          maxTokens: Math.max(1, Math.floor(stateBytes / (4 * spec.hiddenSize))),
          addLayer,
          // FLAP needs ‖W[:, j]‖² of out_proj / down_proj: taken from the weights the pass holds anyway.
          onLayerWeights: (step) => {
            if (!collector.needsFlapNorms(step.index)) return;
            const t = collector.flapWeightOf(step.index)!;
            const w = step.weight(t.role)!;
            collector.setFlapNorms(step.index, step.columnSquares(t.role) ?? flapColumnNorms(w, t.shape[0]!, t.shape[1]!));
          },
          timings,
          signal: hooks.signal,
          cancelMessage,
          onStep: (p) => report(hooks, { ...meterUpdate(meter, p), phase: 'scores', tokens: collector.tokens }),
          onGroup: async (g) => {
            for (const b of g.batches) collector.endBatch(b.batch, b.seq);
            await save({ cursor: g.batches[g.batches.length - 1]!.cursor });
          },
        });
        const st = streamed.stats;
        hooks.log?.(`streamed pass: ORT runs ${(st.runMs / 1000).toFixed(1)} s, waiting for weight reads ${(st.waitMs / 1000).toFixed(1)} s, BF16 upcast ${(st.decodeMs / 1000).toFixed(1)} s, ${(st.bytesRead / 1e9).toFixed(1)} GB read`);
        await save({ scoresDone: true });
      }
    }

    // ---- depth KL: the full model against the model without layer n ----
    let kl: Float32Array | undefined;
    if (s.depth === 'kl') {
      const L = spec.numLayers;
      const klRows = Math.min(s.depthSamples, totalRows);
      const acc = state?.kl ? state.kl.layers.map((x, n) => MeanAccumulator.fromJSON(x, `depth.kl layer ${n}`)) : spec.layers.map((l) => new MeanAccumulator(`depth.kl layer ${l.index}`));
      let rowsDone = state?.kl?.rowsDone ?? 0;
      const klDs = await openModelDataset(ckpt.dir, spec, { ...s, samples: klRows });
      datasets.push(klDs);
      if (mode === 'whole') {
        await runner?.release();
        runner = await ForwardRunner.create(ckpt, { mode: 'streamed', dtClampMode: s.dtClampMode, device: s.device, threads: s.threads, log: hooks.log });
        const meter = new ProgressMeter('depth-kl', klRows * L, 'layer-rows');
        for await (const b of klDs.batches(state?.kl?.cursor)) {
          checkCancelled(hooks.signal);
          const k0 = performance.now();
          // Hidden state entering each layer, from one full pass; dropping layer n restarts from h_n.
          const hiddens: ortTypes.Tensor[] = [await runner.embed(b.ids, b.batch, b.seq)];
          for (let n = 0; n < L; n++) hiddens.push((await runner.runLayer(n, hiddens[n]!)).hidden);
          const full = (await runner.head(hiddens[L]!)).logits;
          for (let n = 0; n < L; n++) {
            checkCancelled(hooks.signal);
            let h = hiddens[n]!;
            for (let m = n + 1; m < L; m++) h = (await runner.runLayer(m, h)).hidden;
            const dropped = (await runner.head(h)).logits;
            acc[n]!.addAll(klPerToken(full, dropped, b.batch * b.seq, spec.vocabSize));
            report(hooks, { ...meter.update(rowsDone * L + (n + 1) * b.batch), phase: 'depth-kl' });
          }
          rowsDone += b.batch;
          timings.depth_kl_s += (performance.now() - k0) / 1000;
          await save({ kl: { layers: acc.map((a) => a.toJSON()), rowsDone, cursor: b.cursor } });
        }
      } else {
        await streamed?.release();
        streamed = await StreamedModel.create(ckpt, { dtClampMode: s.dtClampMode, device: s.device, threads: s.threads, log: hooks.log, head: { logits: true } });
        const meter = new ProgressMeter('depth-kl', 0, 'steps');
        let k0 = performance.now();
        await streamedDepthKl({
          model: streamed,
          batches: klDs.batches(state?.kl?.cursor),
          rowsLeft: klRows - rowsDone,
          stateBytes,
          signal: hooks.signal,
          cancelMessage,
          onStep: (p) => report(hooks, { ...meterUpdate(meter, p), phase: 'depth-kl' }),
          onGroup: async (g, values) => {
            values.forEach((v, n) => acc[n]!.addAll(v));
            rowsDone += g.rows;
            timings.depth_kl_s += (performance.now() - k0) / 1000;
            k0 = performance.now();
            await save({ kl: { layers: acc.map((a) => a.toJSON()), rowsDone, cursor: g.batches[g.batches.length - 1]!.cursor } });
          },
        });
      }
      kl = Float32Array.from(acc.map((a) => a.mean()));
    }

    // ---- output ----
    const scores = await collector.scores((name) => ckpt.readFloat32(name));
    if (kl) scores.set('depth.kl', kl);
    const metadata: Record<string, string> = {
      format: IMPORTANCE_FORMAT,
      fingerprint,
      model: ckpt.dir,
      data: s.data,
      rows: String(collector.rows),
      seq_len: String(s.seqLen),
      // How the rows were read, so the search can score candidates on the same rows (search-select.ts).
      batch: String(s.batch),
      packing: s.packing,
      shuffle: String(s.shuffle),
      seed: String(s.seed),
      tokens: String(collector.tokens),
      device: ep,
      depth: s.depth,
      ffn_tap: s.ffnTap ?? 'post',
      dt_clamp: s.dtClampMode ?? 'config',
      created: new Date().toISOString(),
    };
    const importance = join(runDir, IMPORTANCE_FILE);
    await writeSafetensors(
      importance,
      [...scores].map(([name, v]) => ({ name, dtype: 'F32', shape: shapeOf(name, v, spec), data: encodeFromFloat('F32', v) })),
      { metadata },
    );
    const total_s = (performance.now() - t0) / 1000;
    const result: CalibrationResult = {
      importance,
      summary: join(runDir, SUMMARY_FILE),
      rows: collector.rows,
      tokens: collector.tokens,
      ep,
      fingerprint,
      execution: { mode, reason: execution.reason },
      timings: { ...timings, total_s },
      tokensPerS: collector.tokens / Math.max(1e-9, timings.forward_s + timings.aggregation_s),
      resumedFromRow,
    };
    await writeFile(result.summary, writeCalibrationSummary(spec, scores, { ...metadata, dataReport: describeDataReport(ds.report) }, result));
    return result;
  } finally {
    for (const d of datasets) await d.close();
    await runner?.release();
    await streamed?.release();
    await ckpt.close();
  }
}

function report(hooks: CalibrationHooks, p: CalibrationProgress): void {
  hooks.onProgress?.(p);
}

/** A step count of the streamed passes through the progress meter (their total is known once the first group is formed). */
function meterUpdate(meter: ProgressMeter, p: { done: number; total: number }): Omit<CalibrationProgress, 'phase'> {
  const { phase: _phase, ...info } = meter.update(p.done, { total: p.total });
  return info;
}

function shapeOf(name: string, v: Float32Array, spec: import('../arch/spec').HybridModelSpec): number[] {
  if (name.endsWith('.mamba.activations')) return [spec.mamba!.numHeads, spec.mamba!.headDim];
  return [v.length];
}
