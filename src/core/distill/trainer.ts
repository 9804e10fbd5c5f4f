// The training loop shared by `distill` (forward-KL from a teacher, optionally mixed with CE) and `train`
// (CE only): AdamW with cosine/warmup schedule, gradient accumulation and clipping, live metrics,
// periodic evaluation, atomic checkpoints and bit-for-bit resume. The forward+backward step itself is
// an injected TrainStep (ONNX training graphs on ORT), so this file holds no graph code.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HybridCompressError } from '../errors';
import { openCheckpoint, type Checkpoint } from '../checkpoint/checkpoint';
import { allTensorSpecs, type HybridModelSpec } from '../arch/spec';
import { MetricsWriter } from '../runs/metrics-file';
import { firstNonFiniteIndex, nonFiniteError } from '../checkpoint/finite';
import { repairMetrics } from './resume';
import type { MetricPoint } from '../runs/metric-point';
import type { DataCursor, Packing, RowBatch } from '../data/index';
import { nextTokenNll, openModelDataset } from '../eval/model-data';
import { AdamW, clipGradients, decays, firstNonFinite } from './optimizer';
import { learningRate } from './schedule';
import { loadLatestCheckpoint, saveTrainingCheckpoint, writeModelFolder, type NamedArray } from './train-checkpoint';
import type { LossKind } from './loss-graph';
import { CHECKPOINTS_DIR, FINAL_DIR, METRICS_FILE } from '../runs/layout';

export interface StepResult {
  loss: number;
  kdLoss?: number;
  ceLoss?: number;
  /** One gradient per parameter, in the order the step was created with. */
  grads: Float32Array[];
}

/** Forward + backward of the student on one micro-batch. */
export interface TrainStep {
  run(params: readonly Float32Array[], ids: BigInt64Array, teacherLogits?: Float32Array): Promise<StepResult>;
  release(): Promise<void>;
}

export interface TrainStepOptions {
  batch: number;
  seq: number;
  loss: LossKind;
  alpha: number;
  temperature: number;
  device: string;
  threads?: number;
}

export type TrainStepFactory = (student: Checkpoint, params: readonly { name: string; shape: number[] }[], o: TrainStepOptions) => Promise<TrainStep>;

/** Logits of a model on a batch (teacher forward, student evaluation). */
export interface LogitsSource {
  logits(ids: BigInt64Array, batch: number, seq: number, params?: ReadonlyMap<string, Float32Array>): Promise<Float32Array>;
  readonly ep: string;
  release(): Promise<void>;
}

export interface Engines {
  step: TrainStepFactory;
  /** A forward runner over a checkpoint; `paramsAsInputs` makes every weight a run-time input (student eval). */
  forward: (ckpt: Checkpoint, o: { device: string; threads?: number; paramsAsInputs?: boolean }) => Promise<LogitsSource>;
}

export interface TrainSettings {
  student: string;
  teacher?: string;
  data: string;
  evalData?: string;
  out: string;
  steps: number;
  batch: number;
  seqLen: number;
  packing: Packing;
  shuffle: boolean;
  seed: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  gradAccum: number;
  clip: number;
  loss: LossKind;
  alpha: number;
  temperature: number;
  evalEvery: number;
  evalSamples: number;
  saveEvery: number;
  resume: boolean;
  device: string;
  threads?: number;
}

export interface TrainHooks {
  signal?: AbortSignal;
  log?: (line: string) => void;
  onMetric?: (p: MetricPoint) => void;
  onProgress?: (p: { step: number; steps: number; tokensPerS: number; loss: number }) => void;
  /** Test hook: called after each completed step (e.g. to kill the process at a given step). */
  afterStep?: (step: number) => void | Promise<void>;
}

export interface TrainResult {
  out: string;
  final: string;
  steps: number;
  resumedFrom?: number;
  firstLoss: number;
  lastLoss: number;
  lastValLoss?: number;
  tokens: number;
  seconds: number;
  tokensPerS: number;
  msPerStep: number;
  ep: string;
  params: number;
}

/** The settings that fix the numerical trajectory (canonical: key order does not matter); a resume with other values is refused. */
export function trajectoryKey(s: TrainSettings): string {
  const fixed: Record<string, unknown> = { ...s, out: undefined, resume: undefined, steps: undefined, evalEvery: undefined, evalSamples: undefined, saveEvery: undefined, device: undefined, threads: undefined, evalData: undefined };
  const canonical = Object.keys(fixed)
    .filter((k) => fixed[k] !== undefined)
    .sort()
    .map((k) => [k, fixed[k]]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 24);
}

function tokenizerHash(dir: string): string | undefined {
  const p = join(dir, 'tokenizer.json');
  return existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : undefined;
}

export function checkSameVocabulary(teacher: HybridModelSpec, teacherDir: string, student: HybridModelSpec, studentDir: string): void {
  if (teacher.vocabSize !== student.vocabSize) {
    throw new HybridCompressError('OPTION_INVALID', `teacher ${teacherDir} has vocab_size ${teacher.vocabSize} but student ${studentDir} has ${student.vocabSize}; distillation needs the same tokenizer`, { option: 'teacher' });
  }
  const a = tokenizerHash(teacherDir);
  const b = tokenizerHash(studentDir);
  if (a && b && a !== b) throw new HybridCompressError('OPTION_INVALID', `teacher ${teacherDir} and student ${studentDir} have different tokenizer.json files; distillation needs the same tokenizer`, { option: 'teacher' });
}

function countLines(path: string): number {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).length : 0;
}

export async function train(s: TrainSettings, engines: Engines, hooks: TrainHooks = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const key = trajectoryKey(s);
  await mkdir(s.out, { recursive: true });
  const student = await openCheckpoint(s.student);
  const teacherCkpt = s.loss !== 'ce' ? (s.teacher ? await openCheckpoint(s.teacher) : undefined) : undefined;
  const toRelease: { release(): Promise<void> }[] = [];
  const closers: { close(): Promise<void> }[] = [student, ...(teacherCkpt ? [teacherCkpt] : [])];
  try {
    const spec = student.spec;
    if (s.loss !== 'ce' && !teacherCkpt) throw new HybridCompressError('OPTION_INVALID', `--loss ${s.loss} needs --teacher <dir>`, { option: 'teacher' });
    if (teacherCkpt) checkSameVocabulary(teacherCkpt.spec, teacherCkpt.dir, spec, student.dir);

    // Parameters: every tensor of the student, as float32.
    const specs = allTensorSpecs(spec);
    const params: NamedArray[] = [];
    for (const t of specs) {
      const value = await student.readFloat32(t.name);
      const bad = firstNonFiniteIndex(value);
      // A NaN weight would surface as NaN gradients everywhere: name the tensor it starts from.
      if (bad >= 0) throw new HybridCompressError('NON_FINITE', `student ${student.dir}: weight tensor "${t.name}" holds ${value[bad]} (element ${bad}); the checkpoint is damaged`, { tensor: t.name, file: student.dir });
      params.push({ name: t.name, shape: t.shape, value });
    }
    const opt = new AdamW(
      params.map((p, i) => ({ name: p.name, value: p.value, decay: decays(specs[i]!.role, p.name) })),
      { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: s.weightDecay },
    );

    const metricsPath = join(s.out, METRICS_FILE);
    let startStep = 0;
    let cursor: DataCursor | undefined;
    let elapsedBefore = 0;
    let tokens = 0;
    let resumedFrom: number | undefined;
    const latest = s.resume ? await loadLatestCheckpoint(s.out, hooks.log) : undefined;
    if (s.resume && !latest) {
      hooks.log?.(`--resume: no checkpoint in ${s.out} yet; starting from step 0`);
      // Points of a run that never reached a checkpoint would repeat: the curve starts over.
      await rm(metricsPath, { force: true });
    }
    if (latest) {
      if (latest.state.key !== key) {
        throw new HybridCompressError('OPTION_INVALID', `${latest.dir} was written with other data/optimizer/loss settings; resume with the original options, or use another --out`, { option: 'resume' });
      }
      for (const p of opt.params) {
        const v = latest.params.get(p.name);
        if (!v || v.length !== p.value.length) throw new HybridCompressError('CHECKPOINT_INVALID', `${latest.dir}: tensor "${p.name}" missing or resized`, { file: latest.dir, tensor: p.name });
        p.value.set(v);
        p.m.set(latest.m.get(p.name)!);
        p.v.set(latest.v.get(p.name)!);
      }
      opt.step = latest.optimizerStep;
      startStep = latest.state.step;
      cursor = latest.state.cursor;
      elapsedBefore = latest.state.elapsedS;
      tokens = latest.state.tokens;
      resumedFrom = startStep;
      repairMetrics(metricsPath, startStep, latest.state.metricsLines, (l) => hooks.log?.(l));
      hooks.log?.(`resuming from step ${startStep} (${latest.dir})`);
    } else if (!s.resume) {
      await rm(metricsPath, { force: true });
      await rm(join(s.out, CHECKPOINTS_DIR), { recursive: true, force: true });
    }
    const metrics = new MetricsWriter(metricsPath);
    let metricsLines = countLines(metricsPath);
    const emit = (p: MetricPoint) => {
      metrics.append(p);
      metricsLines++;
      hooks.onMetric?.(p);
    };

    const ds = await openModelDataset(student.dir, spec, { data: s.data, seqLen: s.seqLen, batch: s.batch, packing: s.packing, shuffle: s.shuffle, seed: s.seed, repeat: true });
    closers.push(ds);
    // The data repeats as often as the step count needs (a new permutation each epoch when shuffling);
    // a short last batch of an epoch is skipped so every step sees batch × seq tokens.
    const it = ds.batches(cursor);
    const nextBatch = async (): Promise<RowBatch> => {
      for (;;) {
        const r = await it.next();
        if (r.done) throw new HybridCompressError('DATA_INVALID', `${s.data}: yields no training rows of ${s.seqLen} tokens`, { file: s.data });
        if (r.value.batch === s.batch) return r.value;
      }
    };

    const stepFn = await engines.step(student, params, { batch: s.batch, seq: s.seqLen, loss: s.loss, alpha: s.alpha, temperature: s.temperature, device: s.device, threads: s.threads });
    toRelease.push(stepFn);
    const teacher = teacherCkpt ? await engines.forward(teacherCkpt, { device: s.device, threads: s.threads }) : undefined;
    if (teacher) toRelease.push(teacher);
    let evaluator: LogitsSource | undefined;
    let evalRows: RowBatch[] | undefined;
    const evaluate = async (): Promise<{ val_loss: number; val_ppl: number }> => {
      if (!evalRows) {
        const eds = await openModelDataset(student.dir, spec, { data: s.evalData!, seqLen: s.seqLen, batch: s.batch, packing: s.packing, samples: s.evalSamples });
        evalRows = [];
        for await (const b of eds.batches()) evalRows.push(b);
        await eds.close();
        if (evalRows.length === 0) throw new HybridCompressError('DATA_INVALID', `${s.evalData}: no evaluation rows of ${s.seqLen} tokens`, { file: s.evalData, option: 'eval-data' });
      }
      evaluator ??= await engines.forward(student, { device: s.device, threads: s.threads, paramsAsInputs: true });
      const current = new Map(params.map((p) => [p.name, p.value]));
      let sum = 0;
      let count = 0;
      for (const b of evalRows) {
        const r = nextTokenNll(await evaluator.logits(b.ids, b.batch, b.seq, current), b.ids, b.batch, b.seq, spec.vocabSize);
        sum += r.sum;
        count += r.count;
      }
      return { val_loss: sum / count, val_ppl: Math.exp(sum / count) };
    };

    const schedule = { lr: s.lr, minLr: s.minLr, warmupSteps: s.warmupSteps, totalSteps: s.steps };
    const values = params.map((p) => p.value);
    let firstLoss = NaN;
    let lastLoss = NaN;
    let lastValLoss: number | undefined;
    let lastCursor = cursor;
    const loopStart = performance.now();
    let stepsRun = 0;
    let lastSaved = resumedFrom;
    // Accumulation buffers (only with --grad-accum > 1), allocated once: fresh model-sized arrays every
    // step pay a page fault per 4 KiB on first touch (~40 µs each on the dev VM).
    const acc = s.gradAccum > 1 ? params.map((p) => new Float32Array(p.value.length)) : undefined;
    for (let step = startStep + 1; step <= s.steps; step++) {
      if (hooks.signal?.aborted) throw new HybridCompressError('CANCELLED', `training cancelled at step ${step - 1}; rerun with --resume to continue from the last checkpoint`);
      const st = performance.now();
      if (acc) for (const g of acc) g.fill(0);
      let grads: Float32Array[] = acc ?? [];
      let loss = 0;
      let kd = 0;
      let ce = 0;
      for (let k = 0; k < s.gradAccum; k++) {
        const b = await nextBatch();
        lastCursor = b.cursor;
        const tl = teacher ? await teacher.logits(b.ids, b.batch, b.seq) : undefined;
        if (tl && firstNonFiniteIndex(tl) >= 0) throw await nonFiniteError(teacherCkpt!, 'teacher', `its logits at step ${step}`);
        const r = await stepFn.run(values, b.ids, tl);
        loss += r.loss / s.gradAccum;
        kd += (r.kdLoss ?? 0) / s.gradAccum;
        ce += (r.ceLoss ?? 0) / s.gradAccum;
        if (!acc) grads = r.grads; // one micro-batch: 0 + g / 1 is g (up to the sign of a zero), so no copy
        else {
          for (let i = 0; i < acc.length; i++) {
            const g = acc[i]!;
            const rg = r.grads[i]!;
            for (let j = 0; j < g.length; j++) g[j]! += rg[j]! / s.gradAccum;
          }
        }
        tokens += b.batch * b.seq;
      }
      const bad = firstNonFinite(grads);
      if (!Number.isFinite(loss) || bad >= 0) {
        throw new HybridCompressError(
          'NON_FINITE',
          `step ${step}: ${!Number.isFinite(loss) ? `loss is ${loss}` : 'loss is finite but'}${bad >= 0 ? `; first non-finite gradient: "${params[bad]!.name}"` : ''}; ${lastSaved !== undefined ? `the last good checkpoint (step ${lastSaved}) in ${join(s.out, CHECKPOINTS_DIR)} is intact` : 'no checkpoint was written yet'} (try a lower --lr or --clip)`,
          { tensor: bad >= 0 ? params[bad]!.name : undefined },
        );
      }
      const gradNorm = clipGradients(grads, s.clip);
      const lr = learningRate(schedule, step);
      opt.update(grads, lr);
      stepsRun++;
      if (Number.isNaN(firstLoss)) firstLoss = loss;
      lastLoss = loss;
      const elapsed = elapsedBefore + (performance.now() - loopStart) / 1000;
      const tps = (s.batch * s.seqLen * s.gradAccum) / ((performance.now() - st) / 1000);
      const point: MetricPoint = { step, loss, lr, grad_norm: gradNorm, tokens_per_s: tps, elapsed_s: elapsed };
      if (s.loss !== 'ce') point['kd_loss'] = kd;
      if (s.loss !== 'kd') point['ce_loss'] = ce;
      emit(point);
      hooks.onProgress?.({ step, steps: s.steps, tokensPerS: tps, loss });
      if (s.evalData && s.evalEvery > 0 && (step % s.evalEvery === 0 || step === s.steps)) {
        const ev = await evaluate();
        lastValLoss = ev.val_loss;
        emit({ step, ...ev });
      }
      if (s.saveEvery > 0 && step % s.saveEvery === 0 && step < s.steps) {
        lastSaved = step;
        await saveTrainingCheckpoint(s.out, student, params, { m: opt.params.map((p) => p.m), v: opt.params.map((p) => p.v), step: opt.step }, {
          format: 'hybrid-compress/trainer-state@1',
          step,
          cursor: lastCursor!,
          metricsLines,
          elapsedS: elapsed,
          tokens,
          key,
        });
      }
      await hooks.afterStep?.(step);
    }
    metrics.close();

    // The final student in the source dtypes, as a normal HF checkpoint.
    const finalDir = join(s.out, FINAL_DIR);
    const tmp = join(s.out, `.final.tmp-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await writeModelFolder(tmp, student, params, (name) => student.tensors.get(name)?.dtype ?? 'F32');
    await rm(finalDir, { recursive: true, force: true });
    await rename(tmp, finalDir);
    const seconds = (performance.now() - t0) / 1000;
    const loopS = (performance.now() - loopStart) / 1000;
    return {
      out: s.out,
      final: finalDir,
      steps: s.steps,
      resumedFrom,
      firstLoss,
      lastLoss,
      lastValLoss,
      tokens,
      seconds,
      tokensPerS: stepsRun > 0 ? (stepsRun * s.batch * s.seqLen * s.gradAccum) / loopS : 0,
      msPerStep: stepsRun > 0 ? (loopS * 1000) / stepsRun : 0,
      ep: teacher?.ep ?? s.device,
      params: spec.params.total,
    };
  } finally {
    for (const r of toRelease) await r.release().catch(() => undefined);
    for (const c of closers) await c.close().catch(() => undefined);
  }
}
