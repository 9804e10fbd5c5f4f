// The parent side of each job, as the CLI commands do it (src/cli/commands/{calibrate,distill,prune,
// search,eval}.ts): build the job's parameters from a validated task, own the run folder (create,
// reuse or resume it; record the outcome), then run the job in the worker. No vscode import, and only
// type imports from modules that load the engine, so the extension host never loads onnxruntime-node.

import { join } from 'node:path';
import { runJob, type RunJobOptions } from '../../core/jobs/index';
import { createRun, makeRunId, runsRoot } from '../../core/runs/index';
import { calibrationKey, chooseCalibrationRun } from '../../core/calibrate/calibration-run';
import type { CalibrationResult, CalibrationSettings } from '../../core/calibrate/calibrate';
import type { TrainResult, TrainSettings } from '../../core/distill/trainer';
import type { JobRequest } from './task-params';

/** Same defaults as `hybrid-compress calibrate` (CALIBRATION_DEFAULTS; repeated to avoid importing the engine module). */
const CALIBRATE_DEFAULTS = { samples: 1024, seqLen: 4096, batch: 1, packing: 'concat', shuffle: false, seed: 0, depth: 'bi', depthSamples: 256, device: 'auto', mode: 'auto' } as const;

export interface LaunchOutcome {
  /** The run folder (calibrate, distill) or output folder (prune, search) the job wrote. */
  dir?: string;
  result: unknown;
  /** A finished calibration of the same model, data and settings was reused. */
  reused?: boolean;
  /** One line for the terminal. */
  summary: string;
}

type Handlers = Pick<RunJobOptions, 'onProgress' | 'onLog' | 'onMetric' | 'signal'>;

export function calibrationSettings(p: Record<string, unknown>): CalibrationSettings {
  const d = CALIBRATE_DEFAULTS;
  return {
    model: p['model'] as string,
    data: p['data'] as string,
    samples: (p['samples'] as number | undefined) ?? d.samples,
    seqLen: (p['seqLen'] as number | undefined) ?? d.seqLen,
    batch: (p['batch'] as number | undefined) ?? d.batch,
    packing: ((p['packing'] as string | undefined) ?? d.packing) as CalibrationSettings['packing'],
    shuffle: d.shuffle,
    seed: (p['seed'] as number | undefined) ?? d.seed,
    depth: ((p['depth'] as string | undefined) ?? d.depth) as CalibrationSettings['depth'],
    depthSamples: d.depthSamples,
    device: ((p['device'] as string | undefined) ?? d.device) as CalibrationSettings['device'],
    mode: d.mode,
  };
}

/** TrainSettings with the CLI's defaults (src/cli/commands/distill.ts). */
export function distillSettings(p: Record<string, unknown>): TrainSettings {
  const steps = (p['steps'] as number | undefined) ?? 200;
  const evalData = p['evalData'] as string | undefined;
  return {
    student: p['student'] as string,
    teacher: p['teacher'] as string,
    data: p['data'] as string,
    ...(evalData ? { evalData } : {}),
    out: p['out'] as string,
    steps,
    batch: (p['batch'] as number | undefined) ?? 4,
    seqLen: (p['seqLen'] as number | undefined) ?? 256,
    packing: ((p['packing'] as string | undefined) ?? 'concat') as TrainSettings['packing'],
    shuffle: true,
    seed: (p['seed'] as number | undefined) ?? 0,
    lr: (p['lr'] as number | undefined) ?? 1e-4,
    minLr: (p['minLr'] as number | undefined) ?? 1e-5,
    warmupSteps: (p['warmupSteps'] as number | undefined) ?? Math.min(60, Math.floor(steps / 10)),
    weightDecay: 0.01,
    gradAccum: 1,
    clip: 1.0,
    loss: ((p['loss'] as string | undefined) ?? 'kd') as TrainSettings['loss'],
    alpha: (p['alpha'] as number | undefined) ?? 0.5,
    temperature: (p['temperature'] as number | undefined) ?? 1,
    evalEvery: (p['evalEvery'] as number | undefined) ?? (evalData ? Math.max(1, Math.floor(steps / 10)) : 0),
    evalSamples: 64,
    saveEvery: Math.max(1, Math.floor(steps / 4)),
    resume: p['resume'] === true,
    device: (p['device'] as string | undefined) ?? 'auto',
  };
}

/** Runs the job of a validated task to its end (throws the job's error). */
export async function launchJob(req: JobRequest, h: Handlers): Promise<LaunchOutcome> {
  const p = req.params;
  const workspace = p['workspace'] as string;
  const explicitOut = req.explicitOut;
  switch (req.action) {
    case 'calibrate': {
      const settings = calibrationSettings(p);
      const { key } = await calibrationKey(settings);
      const choice = await chooseCalibrationRun(workspace, settings, key, { ...(explicitOut ? { out: p['out'] as string } : {}), force: p['force'] === true });
      if (choice.action === 'reuse') {
        return { dir: choice.run.dir, result: choice.run.record.result, reused: true, summary: `reused finished calibration ${choice.run.dir} (same model, data and settings; set "force": true to recompute)` };
      }
      const result = await choice.run.track(runJob<CalibrationResult>('calibrate', { settings, runDir: choice.run.dir, key }, h), (v) => v);
      await choice.run.update({ ep: result.ep, timings: result.timings });
      return { dir: choice.run.dir, result, summary: `${choice.action === 'resume' ? 'resumed and finished' : 'calibrated'} ${result.rows} rows (${result.tokens} tokens) on ${result.ep} → ${result.importance}` };
    }
    case 'distill': {
      const s = distillSettings(p);
      const run = await createRun(workspace, { kind: 'distill', dir: s.out, inputs: { student: s.student, teacher: s.teacher, data: s.data, evalData: s.evalData }, settings: { ...s } });
      const result = await run.track(runJob<TrainResult>('train', s, h), (v) => ({ final: v.final, steps: v.steps, loss: v.lastLoss, val_loss: v.lastValLoss, params: v.params, ms_per_step: v.msPerStep }));
      return { dir: run.dir, result, summary: `distilled ${result.steps} steps: loss ${result.firstLoss.toFixed(4)} → ${result.lastLoss.toFixed(4)}; final model ${result.final}` };
    }
    case 'eval': {
      const settings = { model: p['model'], data: p['data'], samples: p['samples'], seqLen: (p['seqLen'] as number | undefined) ?? 512, batch: (p['batch'] as number | undefined) ?? 4, packing: p['packing'] ?? 'concat', shuffle: false, seed: (p['seed'] as number | undefined) ?? 0, device: p['device'] ?? 'auto' };
      const result = await runJob<{ loss: number; perplexity: number; rows: number }>('eval', settings, h);
      return { result, summary: `loss ${result.loss.toFixed(4)}, perplexity ${result.perplexity.toFixed(2)} over ${result.rows} rows` };
    }
    case 'prune':
    case 'search': {
      const result = await runJob(req.kind, p, h);
      return { dir: p['out'] as string, result, summary: `${req.action} finished → ${p['out'] as string}` };
    }
  }
}

/** Where a task's run folder goes when it names none. */
export function defaultRunDir(workspace: string, action: string, now: Date = new Date()): string {
  return join(runsRoot(workspace), makeRunId(action, now));
}
