// Training settings with the CLI's defaults, shared by `distill`/`train` and the extension's tasks.
// Loads no engine code.

import type { LossKind } from './loss-graph';
import type { TrainSettings } from './trainer';

export type TrainKind = 'distill' | 'train';

/** Defaults per kind: distillation recovers a pruned student gently; training from scratch uses a larger LR. */
export const TRAIN_DEFAULTS: Record<TrainKind, { lr: number; minLr: number; warmup: number; loss: LossKind }> = {
  distill: { lr: 1e-4, minLr: 1e-5, warmup: 60, loss: 'kd' },
  train: { lr: 1e-3, minLr: 1e-4, warmup: 100, loss: 'ce' },
};

export type TrainInput = Pick<TrainSettings, 'student' | 'data' | 'out'> & Partial<TrainSettings>;

export function trainSettings(kind: TrainKind, p: TrainInput): TrainSettings {
  const d = TRAIN_DEFAULTS[kind];
  const steps = p.steps ?? 200;
  return {
    teacher: undefined,
    evalData: undefined,
    batch: 4,
    seqLen: 256,
    packing: 'concat',
    shuffle: true,
    seed: 0,
    lr: d.lr,
    minLr: d.minLr,
    warmupSteps: Math.min(d.warmup, Math.floor(steps / 10)),
    weightDecay: 0.01,
    gradAccum: 1,
    clip: 1.0,
    loss: d.loss,
    alpha: 0.5,
    temperature: 1,
    evalEvery: p.evalData ? Math.max(1, Math.floor(steps / 10)) : 0,
    evalSamples: 64,
    saveEvery: Math.max(1, Math.floor(steps / 4)),
    resume: false,
    device: 'auto',
    ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)),
    steps,
  } as TrainSettings;
}
