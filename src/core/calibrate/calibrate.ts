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
import { openCheckpoint, type Checkpoint } from '../checkpoint/checkpoint';
import { checkpointFingerprint } from '../checkpoint/fingerprint';
import { ForwardRunner } from '../runtime/forward-runner';
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
import { CALIBRATION_STATE_FILE, SUMMARY_FILE } from '../runs/layout';

export { CALIBRATION_DEFAULTS, type CalibrationSettings, type DepthMetric } from './settings';

export interface CalibrationProgress {
  phase: 'scores' | 'depth-kl';
  done: number;
  total: number;
  unit: string;
  tokens?: number;
}

export interface CalibrationResult {
  importance: string;
  summary: string;
  rows: number;
  tokens: number;
  ep: string;
  fingerprint: string;
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
}

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new HybridCompressError('CANCELLED', 'calibration cancelled; run the same command again to resume from the last completed batch');
}

function chooseMode(ckpt: Checkpoint, mode: CalibrationSettings['mode']): 'whole' | 'streamed' {
  if (mode !== 'auto') return mode;
  return ckpt.bytesOnDisk < 4 * 1024 ** 3 ? 'whole' : 'streamed';
}

/**
 * Runs (or resumes) a calibration into `runDir`; `key` identifies model + data + settings. `fingerprintId` is
 * the checkpoint's fingerprint when the caller has it already (the parent computed it for the key).
 */
export async function runCalibration(s: CalibrationSettings, runDir: string, key: string, hooks: CalibrationHooks = {}, fingerprintId?: string): Promise<CalibrationResult> {
  const t0 = performance.now();
  await mkdir(runDir, { recursive: true });
  const ckpt = await openCheckpoint(s.model);
  let runner: ForwardRunner | undefined;
  const datasets: { close(): Promise<void> }[] = [];
  try {
    const spec = ckpt.spec;
    const fingerprint = { id: fingerprintId ?? (await checkpointFingerprint(ckpt)).id };
    const statePath = join(runDir, STATE_FILE);
    let state: SavedState | undefined;
    if (existsSync(statePath)) {
      const saved = JSON.parse(readFileSync(statePath, 'utf8')) as SavedState;
      if (saved.format === 'hybrid-compress/calibration-state@1' && saved.key === key) state = saved;
      else hooks.log?.(`${statePath} belongs to other settings; starting over`);
    }
    const flap = true;
    const depthBi = s.depth !== 'none';
    const collector = state ? ImportanceCollector.fromState(spec, state.collector, { flap, depth: depthBi }) : new ImportanceCollector(spec, { flap, depth: depthBi });
    const timings = state?.timings ?? { forward_s: 0, aggregation_s: 0, depth_kl_s: 0 };
    const resumedFromRow = state && collector.rows > 0 ? collector.rows : undefined;
    if (resumedFromRow !== undefined) hooks.log?.(`resuming calibration after ${collector.rows} rows`);
    const save = async (patch: Partial<SavedState>) => {
      state = { format: 'hybrid-compress/calibration-state@1', key, collector: collector.toState(), scoresDone: false, timings, ...state, ...patch };
      state.collector = collector.toState();
      state.timings = timings;
      await writeFileAtomic(statePath, JSON.stringify(state));
    };

    const mode = chooseMode(ckpt, s.mode);
    const inGraph = (hooks.reduce ?? 'graph') === 'graph';
    const outputs = spec.layers.flatMap((l) => (inGraph ? calibrationStats : calibrationTaps)(spec, l.index, { flap, depth: depthBi }));
    const addLayer = (n: number, got: ReadonlyMap<string, Float32Array>, rows: number, seq: number) =>
      inGraph ? collector.addLayerStats(n, got, rows, seq) : collector.addLayer(n, got, rows, seq);
    // Neither mode computes the lm_head in this pass (streamed mode has no head stage without logits).
    runner = await ForwardRunner.create(ckpt, { mode, ...(inGraph ? { stats: outputs } : { taps: outputs }), device: s.device, threads: s.threads, logits: false, log: hooks.log });
    const ds = await openModelDataset(ckpt.dir, spec, s);
    datasets.push(ds);
    const totalRows = Math.min(s.samples, await ds.countRows());
    if (totalRows === 0) throw new HybridCompressError('DATA_INVALID', `${s.data}: no calibration rows of ${s.seqLen} tokens (${describeDataReport(ds.report)})`, { file: s.data, option: 'data' });

    // ---- width scores (+ block importance) ----
    if (!state?.scoresDone) {
      for await (const b of ds.batches(state?.cursor)) {
        checkCancelled(hooks.signal);
        if (mode === 'whole') {
          const f0 = performance.now();
          const r = await runner.run(b.ids, b.batch, b.seq);
          const f1 = performance.now();
          for (const l of spec.layers) addLayer(l.index, r.taps, b.batch, b.seq);
          timings.forward_s += (f1 - f0) / 1000;
          timings.aggregation_s += (performance.now() - f1) / 1000;
        } else {
          // Layer by layer, so only one layer's activations are ever held.
          let f0 = performance.now();
          let hidden = await runner.embed(b.ids, b.batch, b.seq);
          for (const l of spec.layers) {
            const out = await runner.runLayer(l.index, hidden);
            const f1 = performance.now();
            timings.forward_s += (f1 - f0) / 1000;
            addLayer(l.index, out.taps, b.batch, b.seq);
            hidden = out.hidden;
            f0 = performance.now();
            timings.aggregation_s += (f0 - f1) / 1000;
          }
        }
        collector.endBatch(b.batch, b.seq);
        await save({ cursor: b.cursor });
        hooks.onProgress?.({ phase: 'scores', done: collector.rows, total: totalRows, unit: 'rows', tokens: collector.tokens });
      }
      await save({ scoresDone: true });
    }

    // ---- depth KL: the full model against the model without layer n ----
    let kl: Float32Array | undefined;
    if (s.depth === 'kl') {
      await runner.release();
      runner = await ForwardRunner.create(ckpt, { mode: 'streamed', device: s.device, threads: s.threads, log: hooks.log });
      const L = spec.numLayers;
      const klRows = Math.min(s.depthSamples, totalRows);
      const acc = state?.kl ? state.kl.layers.map((x, n) => MeanAccumulator.fromJSON(x, `depth.kl layer ${n}`)) : spec.layers.map((l) => new MeanAccumulator(`depth.kl layer ${l.index}`));
      let rowsDone = state?.kl?.rowsDone ?? 0;
      const klDs = await openModelDataset(ckpt.dir, spec, { ...s, samples: klRows });
      datasets.push(klDs);
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
          hooks.onProgress?.({ phase: 'depth-kl', done: rowsDone * L + (n + 1) * b.batch, total: klRows * L, unit: 'layer-rows' });
        }
        rowsDone += b.batch;
        timings.depth_kl_s += (performance.now() - k0) / 1000;
        await save({ kl: { layers: acc.map((a) => a.toJSON()), rowsDone, cursor: b.cursor } });
      }
      kl = Float32Array.from(acc.map((a) => a.mean()));
    }

    // ---- output ----
    const scores = await collector.scores((name) => ckpt.readFloat32(name));
    if (kl) scores.set('depth.kl', kl);
    const metadata: Record<string, string> = {
      format: IMPORTANCE_FORMAT,
      fingerprint: fingerprint.id,
      model: ckpt.dir,
      data: s.data,
      rows: String(collector.rows),
      seq_len: String(s.seqLen),
      tokens: String(collector.tokens),
      device: runner.ep,
      depth: s.depth,
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
      ep: runner.ep,
      fingerprint: fingerprint.id,
      timings: { ...timings, total_s },
      tokensPerS: collector.tokens / Math.max(1e-9, timings.forward_s + timings.aggregation_s),
      resumedFromRow,
    };
    await writeFile(result.summary, writeCalibrationSummary(spec, scores, { ...metadata, dataReport: describeDataReport(ds.report) }, result));
    return result;
  } finally {
    for (const d of datasets) await d.close();
    await runner?.release();
    await ckpt.close();
  }
}

function shapeOf(name: string, v: Float32Array, spec: import('../arch/spec').HybridModelSpec): number[] {
  if (name.endsWith('.mamba.activations')) return [spec.mamba!.numHeads, spec.mamba!.headDim];
  return [v.length];
}
