// The parent side of `calibrate` (CLI and extension): reuse a finished identical run, resume an
// interrupted one, or run anew in the worker. Loads no engine code.

import { runJob } from '../jobs/client';
import { launchIn, type JobHandlers } from '../jobs/launcher';
import type { Run } from '../runs/index';
import { checkOutput } from '../runs/output-guard';
import { acquireRunLock } from '../runs/lock';
import { calibrationKey, checkCalibrationInputs, chooseCalibrationRun } from './calibration-run';
import { ProgressMeter } from '../jobs/progress-meter';
import { memoryHint } from '../runtime/execution-plan';
import { memoryInfo } from '../util/memory';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { fitCalibrationSeqLen } from './seq-len';
import type { CalibrationSettings } from './settings';
import type { CalibrationResult } from './calibrate';
import type { CalibrateJobParams } from './job';

export interface CalibrationLaunch {
  run: Run;
  action: 'reuse' | 'resume' | 'new';
  result: CalibrationResult;
}

/** Reuses a finished run of the same model + data + settings, resumes an interrupted one, or runs anew. */
export async function launchCalibration(workspace: string, asked: CalibrationSettings, o: { out?: string; force?: boolean }, h: JobHandlers): Promise<CalibrationLaunch> {
  if (o.out !== undefined) checkOutput(o.out, { option: 'out', force: false, kind: 'run', allowExistingRun: true, sources: [asked.model, asked.data] });
  // The default row length is the paper's where the memory allows (seq-len.ts), fixed before the key.
  const settings = { ...asked };
  if (settings.seqLenAuto) {
    const ckpt = await openCheckpoint(settings.model);
    const spec = ckpt.spec;
    await ckpt.close();
    const fit = fitCalibrationSeqLen(spec, settings, memoryInfo().available);
    settings.seqLen = fit.seqLen;
    if (fit.note) h.onLog?.({ level: 'warn', text: fit.note, source: 'job' });
  }
  delete settings.seqLenAuto;
  // Cheap checks of every input first, then the fingerprint (with progress), which the worker reuses.
  const { spec } = await checkCalibrationInputs(settings, o);
  const meter = new ProgressMeter('fingerprint', 0, 'tensors');
  const { key, fingerprint } = await calibrationKey(settings, { onProgress: (p) => h.onProgress?.(meter.update(p.done, { total: p.total })) });
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
  const memory = memoryHint(spec, { batch: settings.batch, seqLen: settings.seqLen, mode: settings.mode });
  const { result } = await launchIn(choice.run, () => runJob<CalibrationResult>('calibrate', params, { ...h, memoryHint: memory }), { heldLock: outLock, figures: (r) => ({ result: r, patch: { ep: r.ep, timings: r.timings } }) });
  return { run: choice.run, action: choice.action, result };
}
