// Job kind "calibrate". The engine modules load on first use, so the worker starts (and reports the
// kinds it has) even where onnxruntime-node cannot be resolved.
import type { JobHandler } from '../registry';
import { HybridCompressError } from '../../errors';
import type { CalibrationResult, CalibrationSettings } from '../../calibrate/calibrate';

export interface CalibrateJobParams {
  settings: CalibrationSettings;
  runDir: string;
  key: string;
  /** The model fingerprint the parent computed for the key (the worker does not compute it again). */
  fingerprint?: string;
}

export const calibrateJob: JobHandler<CalibrationResult> = async (params, ctx) => {
  const p = params as CalibrateJobParams;
  if (!p || typeof p.runDir !== 'string' || typeof p.key !== 'string' || !p.settings || typeof p.settings.model !== 'string') {
    throw new HybridCompressError('OPTION_INVALID', 'calibrate job needs {settings, runDir, key}');
  }
  const { runCalibration } = await import('../../calibrate/calibrate');
  return runCalibration(p.settings, p.runDir, p.key, {
    signal: ctx.signal,
    fingerprint: p.fingerprint,
    log: (l) => ctx.log(l),
    onProgress: (pr) => ctx.progress({ phase: pr.phase, done: pr.done, total: pr.total, unit: pr.unit, tokensPerS: pr.tokensPerS, etaS: pr.etaS }),
  });
};
