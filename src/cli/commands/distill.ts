// `hybrid-compress distill` (forward-KL knowledge distillation from a teacher) and `train` (cross-entropy
// training from scratch or continued): one training loop in the worker, a run folder at --out with
// metrics.jsonl, checkpoints/ and final/.

import { resolve } from 'node:path';
import type { Command, CommandContext } from '../command';
import { optEnum, optInt, optNumber, optString, parseCommandArgs, type OptionSpec } from '../args';
import { createProgressRenderer } from '../progress';
import { HybridCompressError } from '../../core/errors';
import { launchTraining } from '../../core/jobs/launch';
import type { TrainSettings } from '../../core/distill/trainer';
import { trainSettings, type TrainKind } from '../../core/distill/settings';
import { LOSS_KINDS, type LossKind } from '../../core/distill/loss-graph';
import { DATA_OPTIONS, readDataOptions } from '../job-options';

const TRAIN_OPTIONS: OptionSpec = {
  ...DATA_OPTIONS,
  out: { type: 'string' },
  steps: { type: 'string' },
  lr: { type: 'string' },
  'min-lr': { type: 'string' },
  'warmup-steps': { type: 'string' },
  'weight-decay': { type: 'string' },
  'grad-accum': { type: 'string' },
  clip: { type: 'string' },
  'eval-data': { type: 'string' },
  'eval-every': { type: 'string' },
  'eval-samples': { type: 'string' },
  'save-every': { type: 'string' },
  resume: { type: 'boolean' },
  'no-shuffle': { type: 'boolean' },
};

const COMMON_USAGE =
  '--data <file> --out <run_dir> [--steps 200] [--batch 4] [--seq-len 256] [--packing concat|none] [--lr 1e-4] [--min-lr 1e-5] [--warmup-steps 60] ' +
  '[--weight-decay 0.01] [--grad-accum K] [--clip 1.0] [--eval-data F] [--eval-every N] [--eval-samples 64] [--save-every N] [--seed S] [--no-shuffle] [--resume] ' +
  '[--device auto|cpu|webgpu|webgpu-f16|cuda] [--threads N] [--json]';

export function readTrainSettings(values: Record<string, unknown>, kind: TrainKind, student: string, teacher: string | undefined, loss: LossKind): TrainSettings {
  const data = readDataOptions(values, { seqLen: 256, batch: 4 });
  const out = optString(values, 'out');
  if (!out) throw new HybridCompressError('OPTION_INVALID', '--out <run_dir> is required (the run folder: metrics.jsonl, checkpoints/, final/)', { option: 'out' });
  const evalData = optString(values, 'eval-data');
  const steps = optInt(values, 'steps', 200, { min: 1 });
  const d = trainSettings(kind, { student, data: data.data, out, steps, evalData });
  const num = (name: string, def: number, o: { min?: number; max?: number } = { min: 0 }) => optNumber(values, name, def, o);
  const int = (name: string, def: number, min = 0) => optInt(values, name, def, { min });
  return trainSettings(kind, {
    student: resolve(student),
    teacher: teacher ? resolve(teacher) : undefined,
    data: resolve(data.data),
    evalData: evalData ? resolve(evalData) : undefined,
    out: resolve(out),
    steps,
    batch: data.batch,
    seqLen: data.seqLen,
    packing: data.packing,
    shuffle: values['no-shuffle'] !== true,
    seed: data.seed,
    lr: num('lr', d.lr),
    minLr: num('min-lr', d.minLr),
    warmupSteps: int('warmup-steps', d.warmupSteps),
    weightDecay: num('weight-decay', d.weightDecay),
    gradAccum: int('grad-accum', d.gradAccum, 1),
    clip: num('clip', d.clip),
    loss,
    alpha: num('alpha', d.alpha, { min: 0, max: 1 }),
    temperature: num('temperature', d.temperature, { min: 1e-6 }),
    evalEvery: int('eval-every', d.evalEvery),
    evalSamples: int('eval-samples', d.evalSamples, 1),
    saveEvery: int('save-every', d.saveEvery),
    resume: values['resume'] === true,
    device: data.device,
    threads: data.threads,
  });
}

async function runTraining(ctx: CommandContext, kind: TrainKind, s: TrainSettings, json: boolean): Promise<number> {
  const r = createProgressRenderer(ctx, { json });
  const { result } = await launchTraining(ctx.cwd, kind, s, { ...r.handlers, signal: ctx.signal }).finally(() => r.finish());
  if (json) ctx.stdout.write(JSON.stringify({ event: 'result', result }) + '\n');
  else {
    ctx.stdout.write(
      [
        `${kind === 'distill' ? 'distilled' : 'trained'} ${result.steps} steps${result.resumedFrom !== undefined ? ` (resumed from step ${result.resumedFrom})` : ''}: loss ${result.firstLoss.toFixed(4)} → ${result.lastLoss.toFixed(4)}${result.lastValLoss !== undefined ? `, val loss ${result.lastValLoss.toFixed(4)} (ppl ${Math.exp(result.lastValLoss).toFixed(2)})` : ''}`,
        `${result.msPerStep.toFixed(0)} ms/step, ${result.tokensPerS.toFixed(0)} tokens/s, ${result.seconds.toFixed(1)} s in all`,
        `final model: ${result.final}`,
        `metrics:     ${resolve(s.out, 'metrics.jsonl')}`,
      ].join('\n') + '\n',
    );
  }
  return 0;
}

const distillUsage = `hybrid-compress distill --teacher <dir> --student <dir> ${COMMON_USAGE} [--temperature 1] [--loss kd|ce|kd+ce] [--alpha 0.5]`;

export const distillCommand: Command = {
  name: 'distill',
  usage: distillUsage,
  async run(ctx) {
    const { values } = parseCommandArgs(ctx.argv, { ...TRAIN_OPTIONS, teacher: { type: 'string' }, student: { type: 'string' }, temperature: { type: 'string' }, loss: { type: 'string' }, alpha: { type: 'string' } }, distillUsage);
    const student = optString(values, 'student');
    if (!student) throw new HybridCompressError('OPTION_INVALID', `--student <dir> is required\nusage: ${distillUsage}`, { option: 'student' });
    const loss = optEnum(values, 'loss', LOSS_KINDS, 'kd');
    const teacher = optString(values, 'teacher');
    if (loss !== 'ce' && !teacher) throw new HybridCompressError('OPTION_INVALID', `--teacher <dir> is required for --loss ${loss}`, { option: 'teacher' });
    return runTraining(ctx, 'distill', readTrainSettings(values, 'distill', student, teacher, loss), values['json'] === true);
  },
};

const trainUsage = `hybrid-compress train --model <dir> ${COMMON_USAGE}`;

export const trainCommand: Command = {
  name: 'train',
  usage: trainUsage,
  async run(ctx) {
    const { values } = parseCommandArgs(ctx.argv, { ...TRAIN_OPTIONS, model: { type: 'string' } }, trainUsage);
    const model = optString(values, 'model');
    if (!model) throw new HybridCompressError('OPTION_INVALID', `--model <dir> is required\nusage: ${trainUsage}`, { option: 'model' });
    return runTraining(ctx, 'train', readTrainSettings(values, 'train', model, undefined, 'ce'), values['json'] === true);
  },
};
