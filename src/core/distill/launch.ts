// The parent side of `distill` and `train` (CLI and extension): the run folder is `settings.out`,
// created anew or, with settings.resume, reopened. Loads no engine code.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { HybridCompressError } from '../errors';
import { runJob } from '../jobs/client';
import { launch, launchIn, openRun, type JobHandlers, type Launched } from '../jobs/launcher';
import { CHECKPOINTS_DIR, RUN_FILE } from '../runs/layout';
import { checkOutput } from '../runs/output-guard';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { withoutHugePages } from '../util/malloc-tunables';
import { recomputePlan } from './recompute-plan';
import type { TrainResult, TrainSettings } from './train-types';
import type { TrainKind } from './settings';

/**
 * The worker's environment: the layer-recompute step's worker starts without glibc's huge pages
 * (malloc-tunables.ts). The step is chosen by the same rule the worker applies (recompute-plan.ts); a
 * checkpoint that cannot be read leaves the environment as it is and the error to the worker.
 */
async function trainingWorkerEnv(s: TrainSettings): Promise<Record<string, string> | undefined> {
  const spec = async (dir: string | undefined) => {
    if (!dir) return undefined;
    const c = await openCheckpoint(dir);
    await c.close();
    return c.spec;
  };
  try {
    const student = await spec(s.student);
    if (!student || recomputePlan(student, s, s.loss !== 'ce' ? await spec(s.teacher) : undefined).mode !== 'layers') return undefined;
  } catch {
    return undefined;
  }
  return withoutHugePages();
}

/** Runs `distill` / `train` into the run folder `settings.out` (resuming it with settings.resume). */
export async function launchTraining(workspace: string, kind: TrainKind, s: TrainSettings, h: JobHandlers): Promise<Launched<TrainResult>> {
  if (!s.resume && existsSync(resolve(s.out, CHECKPOINTS_DIR))) {
    throw new HybridCompressError('OPTION_INVALID', `${s.out} already holds a training run; add --resume to continue it, or choose another --out`, { option: 'out' });
  }
  const env = await trainingWorkerEnv(s);
  const work = () => runJob<TrainResult>('train', s, { ...h, env });
  const figures = (v: TrainResult) => ({ result: { final: v.final, steps: v.steps, loss: v.lastLoss, val_loss: v.lastValLoss, params: v.params, ms_per_step: v.msPerStep } });
  const sources = [s.student, s.teacher, s.data, s.evalData];
  checkOutput(s.out, { option: 'out', force: false, kind: 'run', allowExistingRun: true, sources });
  if (s.resume && existsSync(resolve(s.out, RUN_FILE))) return launchIn(await openRun(s.out), work, { figures });
  return launch(workspace, { kind, dir: s.out, inputs: { student: s.student, teacher: s.teacher, data: s.data, evalData: s.evalData }, settings: { ...s } }, work, { figures, sources });
}
