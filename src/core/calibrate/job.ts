// Job kind "calibrate". The engine modules load on first use, so the worker starts (and reports the
// kinds it has) even where onnxruntime-node cannot be resolved.
import type { JobHandler } from '../jobs/registry';
import { HybridCompressError } from '../errors';
import { checkValues } from '../util/option-schema';
import { CALIBRATE_SCHEMA } from './settings';
import type { CalibrationResult, CalibrationSettings } from './calibrate';

export interface CalibrateJobParams {
  settings: CalibrationSettings;
  runDir: string;
  key: string;
  /** The checkpoint's fingerprint id (from the parent's calibrationKey: the worker does not hash again). */
  fingerprint?: string;
}

export const calibrateJob: JobHandler<CalibrationResult> = async (params, ctx) => {
  const p = params as CalibrateJobParams;
  if (!p || typeof p.runDir !== 'string' || typeof p.key !== 'string' || !p.settings || typeof p.settings.model !== 'string') {
    throw new HybridCompressError('OPTION_INVALID', 'calibrate job needs {settings, runDir, key}');
  }
  checkValues(CALIBRATE_SCHEMA, p.settings as unknown as Record<string, unknown>, 'calibrate setting');
  const { runCalibration } = await import('./calibrate');
  return runCalibration(
    p.settings,
    p.runDir,
    p.key,
    {
      signal: ctx.signal,
      log: (l) => ctx.log(l),
      onProgress: (pr) => ctx.progress({ phase: pr.phase, done: pr.done, total: pr.total, unit: pr.unit }),
    },
    typeof p.fingerprint === 'string' ? p.fingerprint : undefined,
  );
};
