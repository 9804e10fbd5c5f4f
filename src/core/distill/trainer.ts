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
import { allTensorSpecs, numel, type TensorRole } from '../arch/spec';
import { MetricsWriter } from '../runs/metrics-file';
import { firstNonFiniteIndex, nonFiniteError } from '../checkpoint/finite';
import { repairMetrics } from './resume';
import type { MetricPoint } from '../runs/metric-point';
import type { DataCursor, RowBatch } from '../data/index';
import { openModelDataset } from '../eval/model-data';
import { AdamW, clipFactor, decays, firstNonFinite, globalNorm } from './optimizer';
import { OptimizerMemory } from './optimizer-memory';
import { learningRate } from './schedule';
import { loadLatestCheckpoint, saveTrainingCheckpoint, writeModelFolder, type NamedArray } from './train-checkpoint';
import { CHECKPOINTS_DIR, FINAL_DIR, METRICS_FILE } from '../runs/layout';
import { HeldOutEval } from './held-out-eval';
import { checkSameVocabulary } from './vocabulary';
import { recomputePlan } from './recompute-plan';
import type { Engines, TrainHooks, TrainResult, TrainSettings } from './train-types';

/** The settings that fix the numerical trajectory (canonical: key order does not matter); a resume with other values is refused. */
export function trajectoryKey(s: TrainSettings): string {
  const fixed: Record<string, unknown> = { ...s, out: undefined, resume: undefined, steps: undefined, evalEvery: undefined, evalSamples: undefined, saveEvery: undefined, device: undefined, threads: undefined, evalData: undefined, recompute: undefined };
  const canonical = Object.keys(fixed)
    .filter((k) => fixed[k] !== undefined)
    .sort()
    .map((k) => [k, fixed[k]]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 24);
}

function countLines(path: string): number {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).length : 0;
}

/**
 * The student's parameters: every tensor of the checkpoint, as float32, in the optimizer's memory when
 * there is one (its SIMD update path, with a gradient block per tensor that the step writes in place);
 * a NaN weight is named here rather than surfacing later as NaN gradients everywhere.
 */
async function readStudentParams(student: Checkpoint): Promise<{ params: NamedArray[]; roles: TensorRole[]; memory?: OptimizerMemory }> {
  const specs = allTensorSpecs(student.spec);
  // Gradient blocks while they fit the 4 GiB wasm32 memory (~265M parameters), else values and moments only (~350M).
  const sizes = specs.map((t) => numel(t.shape));
  const memory = OptimizerMemory.create(sizes, { gradients: true }) ?? OptimizerMemory.create(sizes);
  const params: NamedArray[] = [];
  const roles: TensorRole[] = [];
  for (const [k, t] of specs.entries()) {
    // Straight into the optimizer's memory when there is one: no model-sized temporaries left for V8 to collect.
    const value = await student.readFloat32(t.name, memory?.value(k));
    const bad = firstNonFiniteIndex(value);
    if (bad >= 0) throw new HybridCompressError('NON_FINITE', `student ${student.dir}: weight tensor "${t.name}" holds ${value[bad]} (element ${bad}); the checkpoint is damaged`, { tensor: t.name, file: student.dir });
    params.push({ name: t.name, shape: t.shape, value });
    roles.push(t.role);
  }
  return { params, roles, memory };
}

/** Where the loop starts: step 0 of a fresh run, or the newest checkpoint of this run with the optimizer restored into `opt`. */
interface StartPoint {
  step: number;
  cursor?: DataCursor;
  elapsedS: number;
  tokens: number;
  resumedFrom?: number;
}

async function startPoint(s: TrainSettings, key: string, opt: AdamW, metricsPath: string, log?: (line: string) => void): Promise<StartPoint> {
  const latest = s.resume ? await loadLatestCheckpoint(s.out, log) : undefined;
  if (!latest) {
    if (s.resume) log?.(`--resume: no checkpoint in ${s.out} yet; starting from step 0`);
    // Points of a run that never reached a checkpoint would repeat: the curve starts over.
    await rm(metricsPath, { force: true });
    if (!s.resume) await rm(join(s.out, CHECKPOINTS_DIR), { recursive: true, force: true });
    return { step: 0, elapsedS: 0, tokens: 0 };
  }
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
  repairMetrics(metricsPath, latest.state.step, latest.state.metricsLines, (l) => log?.(l));
  log?.(`resuming from step ${latest.state.step} (${latest.dir})`);
  return { step: latest.state.step, cursor: latest.state.cursor, elapsedS: latest.state.elapsedS, tokens: latest.state.tokens, resumedFrom: latest.state.step };
}

/** The final student in the source dtypes, as a normal HF checkpoint, appearing atomically as final/. */
async function writeFinal(out: string, student: Checkpoint, params: readonly NamedArray[]): Promise<string> {
  const finalDir = join(out, FINAL_DIR);
  const tmp = join(out, `.final.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await writeModelFolder(tmp, student, params, (name) => student.tensors.get(name)?.dtype ?? 'F32');
  await rm(finalDir, { recursive: true, force: true });
  await rename(tmp, finalDir);
  return finalDir;
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

    const plan = recomputePlan(spec, s, teacherCkpt?.spec);
    hooks.log?.(plan.reason);
    const { params, roles, memory } = await readStudentParams(student);
    const opt = new AdamW(
      params.map((p, i) => ({ name: p.name, value: p.value, decay: decays(roles[i]!, p.name) })),
      { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: s.weightDecay },
      memory,
    );

    const metricsPath = join(s.out, METRICS_FILE);
    const start = await startPoint(s, key, opt, metricsPath, hooks.log);
    let tokens = start.tokens;
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
    const it = ds.batches(start.cursor);
    const nextBatch = async (): Promise<RowBatch> => {
      for (;;) {
        const r = await it.next();
        if (r.done) throw new HybridCompressError('DATA_INVALID', `${s.data}: yields no training rows of ${s.seqLen} tokens`, { file: s.data });
        if (r.value.batch === s.batch) return r.value;
      }
    };

    const gradients = memory?.gradient(0) ? params.map((_, k) => memory.gradient(k)!) : undefined;
    const stepFn = await engines.step(student, params, { batch: s.batch, seq: s.seqLen, loss: s.loss, alpha: s.alpha, temperature: s.temperature, device: s.device, threads: s.threads, recompute: plan.mode, gradients });
    toRelease.push(stepFn);
    const teacher = teacherCkpt ? await engines.forward(teacherCkpt, { device: s.device, threads: s.threads }) : undefined;
    if (teacher) toRelease.push(teacher);
    const heldOut = s.evalData ? new HeldOutEval(student, s, engines) : undefined;
    if (heldOut) toRelease.push(heldOut);

    const schedule = { lr: s.lr, minLr: s.minLr, warmupSteps: s.warmupSteps, totalSteps: s.steps };
    const values = params.map((p) => p.value);
    let firstLoss = NaN;
    let lastLoss = NaN;
    let lastValLoss: number | undefined;
    let lastCursor = start.cursor;
    const loopStart = performance.now();
    let stepsRun = 0;
    let lastSaved = start.resumedFrom;
    // Accumulation buffers (only with --grad-accum > 1), allocated once: fresh model-sized arrays every
    // step pay a page fault per 4 KiB on first touch (~40 µs each on the dev VM).
    const acc = s.gradAccum > 1 ? params.map((p) => new Float32Array(p.value.length)) : undefined;
    for (let step = start.step + 1; step <= s.steps; step++) {
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
        const r = await stepFn.run(values, b.ids, tl);
        // A NaN or ±Inf teacher logit makes the KD term, hence the loss, non-finite (p·log p is NaN at p = 0
        // too), so the teacher's logits (a batch × seq × vocab pass) are searched only when the loss is not finite.
        if (tl && !Number.isFinite(r.loss) && firstNonFiniteIndex(tl) >= 0) throw await nonFiniteError(teacherCkpt!, 'teacher', `its logits at step ${step}`);
        loss += r.loss / s.gradAccum;
        kd += (r.kdLoss ?? 0) / s.gradAccum;
        ce += (r.ceLoss ?? 0) / s.gradAccum;
        if (acc) addDivided(acc, r.grads, s.gradAccum);
        else grads = r.grads; // one micro-batch: 0 + g / 1 is g (up to the sign of a zero), so no copy
        tokens += b.batch * b.seq;
      }
      // The squares' sum is finite exactly when every gradient is (float32 values squared cannot overflow
      // a float64 sum), so the search for the culprit runs only when it is not.
      const gradNorm = globalNorm(grads, memory);
      const bad = Number.isFinite(gradNorm) ? -1 : firstNonFinite(grads);
      if (!Number.isFinite(loss) || bad >= 0) {
        throw new HybridCompressError(
          'NON_FINITE',
          `step ${step}: ${!Number.isFinite(loss) ? `loss is ${loss}` : 'loss is finite but'}${bad >= 0 ? `; first non-finite gradient: "${params[bad]!.name}"` : ''}; ${lastSaved !== undefined ? `the last good checkpoint (step ${lastSaved}) in ${join(s.out, CHECKPOINTS_DIR)} is intact` : 'no checkpoint was written yet'} (try a lower --lr or --clip)`,
          { tensor: bad >= 0 ? params[bad]!.name : undefined },
        );
      }
      const lr = learningRate(schedule, step);
      opt.update(grads, lr, clipFactor(gradNorm, s.clip));
      stepsRun++;
      if (Number.isNaN(firstLoss)) firstLoss = loss;
      lastLoss = loss;
      const elapsed = start.elapsedS + (performance.now() - loopStart) / 1000;
      const tps = (s.batch * s.seqLen * s.gradAccum) / ((performance.now() - st) / 1000);
      const point: MetricPoint = { step, loss, lr, grad_norm: gradNorm, tokens_per_s: tps, elapsed_s: elapsed };
      if (s.loss !== 'ce') point['kd_loss'] = kd;
      if (s.loss !== 'kd') point['ce_loss'] = ce;
      emit(point);
      hooks.onProgress?.({ step, steps: s.steps, tokensPerS: tps, loss });
      if (heldOut && s.evalEvery > 0 && (step % s.evalEvery === 0 || step === s.steps)) {
        const ev = await heldOut.evaluate(params);
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

    const finalDir = await writeFinal(s.out, student, params);
    const seconds = (performance.now() - t0) / 1000;
    const loopS = (performance.now() - loopStart) / 1000;
    return {
      out: s.out,
      final: finalDir,
      steps: s.steps,
      resumedFrom: start.resumedFrom,
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

/** acc[i] += g[i] / n, per parameter (gradient accumulation over n micro-batches). */
function addDivided(acc: Float32Array[], g: readonly Float32Array[], n: number): void {
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    const gi = g[i]!;
    for (let j = 0; j < a.length; j++) a[j]! += gi[j]! / n;
  }
}
