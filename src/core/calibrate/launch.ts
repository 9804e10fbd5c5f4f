// The parent side of `calibrate` (CLI and extension): reuse a finished identical run, resume an
// interrupted one, or run anew in the worker. Loads no engine code.

import { runJob } from '../jobs/client';
import { launchIn, type JobHandlers } from '../jobs/launcher';
import type { Run } from '../runs/index';
import { checkOutput } from '../runs/output-guard';
import { acquireRunLock } from '../runs/lock';
import { calibrationKey, chooseCalibrationRun } from './calibration-run';
import type { CalibrationSettings } from './settings';
import type { CalibrationResult } from './calibrate';
import type { CalibrateJobParams } from './job';

export interface CalibrationLaunch {
  run: Run;
  action: 'reuse' | 'resume' | 'new';
  result: CalibrationResult;
}

/** Reuses a finished run of the same model + data + settings, resumes an interrupted one, or runs anew. */
export async function launchCalibration(workspace: string, settings: CalibrationSettings, o: { out?: string; force?: boolean }, h: JobHandlers): Promise<CalibrationLaunch> {
  if (o.out !== undefined) checkOutput(o.out, { option: 'out', force: false, kind: 'run', allowExistingRun: true, sources: [settings.model, settings.data] });
  const { key, fingerprint } = await calibrationKey(settings);
  // A named folder is locked before it is chosen (and its run.json written): one writer at a time.
  const outLock = o.out !== undefined ? acquireRunLock(o.out, 'calibrate') : undefined;
  let choice;
  try {
    choice = await chooseCalibrationRun(workspace, settings, key, o);
  } catch (e) {
    outLock?.release();
    throw e;
  }
  if (choice.action === 'reuse') {
    outLock?.release();
    return { run: choice.run, action: 'reuse', result: choice.run.record.result as CalibrationResult };
  }
  const params: CalibrateJobParams = { settings, runDir: choice.run.dir, key, fingerprint };
  const { result } = await launchIn(choice.run, () => runJob<CalibrationResult>('calibrate', params, h), { heldLock: outLock, figures: (r) => ({ result: r, patch: { ep: r.ep, timings: r.timings } }) });
  return { run: choice.run, action: choice.action, result };
}
