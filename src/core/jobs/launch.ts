// The parent side of the jobs that own a run folder, shared by the CLI and the extension: build the
// run folder (create, reuse or resume it), run the job in the worker, record the outcome. Loads no
// engine code (only types from engine modules).

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { HybridCompressError } from '../errors';
import { runJob, type RunJobOptions } from './index';
import { createRun, openRun, type Run } from '../runs/index';
import { calibrationKey, chooseCalibrationRun } from '../calibrate/calibration-run';
import type { CalibrationSettings } from '../calibrate/settings';
import type { CalibrationResult } from '../calibrate/calibrate';
import type { TrainResult, TrainSettings } from '../distill/trainer';
import type { TrainKind } from '../distill/settings';

export type JobHandlers = Pick<RunJobOptions, 'onProgress' | 'onLog' | 'onMetric' | 'signal'>;

export interface CalibrationLaunch {
  run: Run;
  action: 'reuse' | 'resume' | 'new';
  result: CalibrationResult;
}

/** Reuses a finished run of the same model + data + settings, resumes an interrupted one, or runs anew. */
export async function launchCalibration(workspace: string, settings: CalibrationSettings, o: { out?: string; force?: boolean }, h: JobHandlers): Promise<CalibrationLaunch> {
  const { key } = await calibrationKey(settings);
  const choice = await chooseCalibrationRun(workspace, settings, key, o);
  if (choice.action === 'reuse') return { run: choice.run, action: 'reuse', result: choice.run.record.result as CalibrationResult };
  const result = await choice.run.track(runJob<CalibrationResult>('calibrate', { settings, runDir: choice.run.dir, key }, h));
  await choice.run.update({ ep: result.ep, timings: result.timings });
  return { run: choice.run, action: choice.action, result };
}

/** Runs `distill` / `train` into the run folder `settings.out` (resuming it with settings.resume). */
export async function launchTraining(workspace: string, kind: TrainKind, s: TrainSettings, h: JobHandlers): Promise<{ run: Run; result: TrainResult }> {
  if (!s.resume && existsSync(resolve(s.out, 'checkpoints'))) {
    throw new HybridCompressError('OPTION_INVALID', `${s.out} already holds a training run; add --resume to continue it, or choose another --out`, { option: 'out' });
  }
  const run =
    s.resume && existsSync(resolve(s.out, 'run.json'))
      ? await openRun(s.out)
      : await createRun(workspace, { kind, dir: s.out, inputs: { student: s.student, teacher: s.teacher, data: s.data, evalData: s.evalData }, settings: { ...s } });
  if (run.status !== 'running') await run.resume();
  const result = await run.track(runJob<TrainResult>('train', s, h), (v) => ({ final: v.final, steps: v.steps, loss: v.lastLoss, val_loss: v.lastValLoss, params: v.params, ms_per_step: v.msPerStep }));
  return { run, result };
}
