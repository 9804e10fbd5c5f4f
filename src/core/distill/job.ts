// Job kind "train": `distill` and `train` share the loop; `train` is CE-only without a teacher.
// The engine modules load on first use.
import type { JobHandler } from '../jobs/registry';
import { HybridCompressError } from '../errors';
import { checkValues } from '../util/option-schema';
import { DISTILL_SCHEMA } from './settings';
import type { TrainResult, TrainSettings } from './train-types';

export const trainJob: JobHandler<TrainResult> = async (params, ctx) => {
  const s = params as TrainSettings;
  if (!s || typeof s.student !== 'string' || typeof s.data !== 'string' || typeof s.out !== 'string') throw new HybridCompressError('OPTION_INVALID', 'train job needs {student, data, out, ...}');
  checkValues(DISTILL_SCHEMA, s as unknown as Record<string, unknown>, 'train setting');
  const [{ train }, { ortTrainStep }, { forwardLogitsSource }] = await Promise.all([import('./trainer'), import('./ort-train-step'), import('./forward-source')]);
  return train(
    s,
    { step: ortTrainStep, forward: forwardLogitsSource },
    {
      signal: ctx.signal,
      log: (l) => ctx.log(l),
      onMetric: (p) => ctx.metric(p),
      onProgress: (p) => ctx.progress({ phase: s.loss === 'ce' ? 'train' : 'distill', done: p.step, total: p.steps, unit: 'steps', tokensPerS: p.tokensPerS, message: `loss ${p.loss.toFixed(4)}` }),
    },
  );
};
