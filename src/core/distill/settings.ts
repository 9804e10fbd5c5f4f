// Training settings with the CLI's defaults, shared by `distill`/`train` and the extension's tasks.
// Loads no engine code.

import { HybridCompressError } from '../errors';
import { dataFields, JSON_FIELD } from '../data/options';
import { ENGINE_FIELDS } from '../runtime/devices';
import type { ActionSchema, OptionField, OptionValues } from '../util/option-schema';
import { LOSS_KINDS, type LossKind } from './loss-graph';
import { RECOMPUTE_MODES, type RecomputeMode, type TrainSettings } from './train-types';

export type TrainKind = 'distill' | 'train';

/**
 * Defaults per kind: distillation recovers a pruned student gently; training from scratch uses a larger LR.
 * Distill follows Minitron-SSM §5: peak 1.6e-4, 60 warm-up steps, cosine decay (ModelOpt's distill.py:
 * 1e-4 → 1e-5, 50 warm-up steps). The paper's final LR ("decaying to 8e-4", above the peak) is a typo, so
 * the floor is ModelOpt's 1e-5.
 */
export const TRAIN_DEFAULTS: Record<TrainKind, { lr: number; minLr: number; warmup: number; loss: LossKind }> = {
  distill: { lr: 1.6e-4, minLr: 1e-5, warmup: 60, loss: 'kd' },
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
    recompute: 'auto',
    ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)),
    steps,
  } as TrainSettings;
}

// ---- the options of `distill` and `train` (CLI flags and the "distill" task's properties) -----------

const TRAIN_FIELDS: readonly OptionField[] = [
  ...dataFields({ seqLen: 256, batch: 4, shuffle: false }),
  { key: 'noShuffle', type: 'boolean', help: 'read the rows in file order (default: shuffled, seeded by --seed)' },
  { key: 'out', type: 'path', required: true, placeholder: 'run_dir', help: 'the run folder: metrics.jsonl, checkpoints/, final/' },
  { key: 'steps', type: 'integer', min: 1, default: 200, placeholder: 'N', help: 'optimizer steps' },
  { key: 'lr', type: 'number', min: 0, placeholder: 'X', help: 'peak learning rate (default: distill 1.6e-4, the paper\'s (ModelOpt: 1e-4); train 1e-3)' },
  { key: 'minLr', type: 'number', min: 0, placeholder: 'X', help: 'learning rate at the end of the cosine decay (default: distill 1e-5, ModelOpt\'s, as the paper\'s "8e-4" is a typo; train 1e-4)' },
  { key: 'warmupSteps', type: 'integer', min: 0, placeholder: 'N', help: 'linear warmup steps (default: 60 for distill, the paper\'s (ModelOpt: 50); 100 for train; at most a tenth of --steps)' },
  { key: 'weightDecay', type: 'number', min: 0, placeholder: 'X', help: 'AdamW decoupled weight decay (default 0.01; norms, biases and SSM scalars are not decayed)' },
  { key: 'gradAccum', type: 'integer', min: 1, placeholder: 'K', help: 'micro-batches per optimizer step (default 1)' },
  { key: 'clip', type: 'number', min: 0, placeholder: 'X', help: 'global gradient-norm clip (default 1.0; 0 = none)' },
  { key: 'evalData', type: 'path', placeholder: 'file', help: 'held-out data for val_loss (never trained on)' },
  { key: 'evalEvery', type: 'integer', min: 0, placeholder: 'N', help: 'steps between evaluations (default: a tenth of --steps with --eval-data)' },
  { key: 'evalSamples', type: 'integer', min: 1, placeholder: 'N', help: 'rows per evaluation (default 64)' },
  { key: 'saveEvery', type: 'integer', min: 0, placeholder: 'N', help: 'steps between checkpoints (default: a quarter of --steps)' },
  { key: 'resume', type: 'boolean', help: 'continue the run in --out from its last checkpoint (bit for bit)' },
  { key: 'recompute', type: 'string', choices: RECOMPUTE_MODES, default: 'auto', help: 'none: one graph per step (fastest); layers: keep only each layer\'s input and recompute the layer in the backward pass (about a third more compute, a fraction of the memory: ~16 bytes/param plus one layer\'s activations); auto: layers when the one-graph step would not fit the memory available' },
  ...ENGINE_FIELDS,
  JSON_FIELD,
];

export const DISTILL_SCHEMA: ActionSchema = {
  command: 'distill',
  fields: [
    { key: 'teacher', type: 'path', placeholder: 'dir', help: 'teacher checkpoint (the source model); required unless --loss ce' },
    { key: 'student', type: 'path', required: true, placeholder: 'dir', help: 'student checkpoint (the pruned model)' },
    ...TRAIN_FIELDS,
    { key: 'loss', type: 'string', choices: LOSS_KINDS, default: 'kd', help: 'kd: forward KL to the teacher (the paper); ce: next-token cross-entropy; kd+ce: α·kd + (1−α)·ce' },
    { key: 'temperature', type: 'number', min: 1e-6, placeholder: 'T', help: 'softmax temperature of the KD loss (default 1)' },
    { key: 'alpha', type: 'number', min: 0, max: 1, placeholder: 'α', help: 'weight of the KD term in kd+ce (default 0.5)' },
  ],
};

export const TRAIN_SCHEMA: ActionSchema = {
  command: 'train',
  fields: [{ key: 'model', type: 'path', required: true, placeholder: 'dir', help: 'the model to train (its weights are the starting point)' }, ...TRAIN_FIELDS],
};

/** TrainSettings of a parsed `distill`/`train` command line or task (computed defaults from trainSettings). */
export function trainSettingsFrom(kind: TrainKind, v: OptionValues): TrainSettings {
  const loss = kind === 'train' ? 'ce' : (v['loss'] as LossKind);
  if (kind === 'distill' && loss !== 'ce' && v['teacher'] === undefined) {
    throw new HybridCompressError('OPTION_INVALID', `--teacher <dir> is required for --loss ${loss}`, { option: 'teacher' });
  }
  const pick = (k: string) => (v[k] === undefined ? {} : { [k]: v[k] });
  return trainSettings(kind, {
    student: (kind === 'train' ? v['model'] : v['student']) as string,
    teacher: kind === 'distill' ? (v['teacher'] as string | undefined) : undefined,
    data: v['data'] as string,
    out: v['out'] as string,
    steps: v['steps'] as number,
    batch: v['batch'] as number,
    seqLen: v['seqLen'] as number,
    packing: v['packing'] as TrainSettings['packing'],
    shuffle: v['noShuffle'] !== true,
    seed: v['seed'] as number,
    loss,
    resume: v['resume'] === true,
    device: v['device'] as string,
    recompute: v['recompute'] as RecomputeMode,
    ...pick('evalData'),
    ...pick('lr'),
    ...pick('minLr'),
    ...pick('warmupSteps'),
    ...pick('weightDecay'),
    ...pick('gradAccum'),
    ...pick('clip'),
    ...pick('evalEvery'),
    ...pick('evalSamples'),
    ...pick('saveEvery'),
    ...pick('temperature'),
    ...pick('alpha'),
    ...pick('threads'),
  });
}
