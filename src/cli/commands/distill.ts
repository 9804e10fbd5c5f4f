// `hybrid-compress distill` (forward-KL knowledge distillation from a teacher) and `train` (cross-entropy
// training from scratch or continued): one training loop in the worker, a run folder at --out with
// metrics.jsonl, checkpoints/ and final/.

import { resolve } from 'node:path';
import type { Command, CommandContext } from '../command';
import { createProgressRenderer } from '../progress';
import { launchTraining } from '../../core/distill/launch';
import type { TrainSettings } from '../../core/distill/train-types';
import { DISTILL_SCHEMA, TRAIN_SCHEMA, trainSettingsFrom, type TrainKind } from '../../core/distill/settings';
import { parseArgv, usageOf } from '../../core/util/option-schema';
import { METRICS_FILE } from '../../core/runs/layout';

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
        `metrics:     ${resolve(s.out, METRICS_FILE)}`,
      ].join('\n') + '\n',
    );
  }
  return 0;
}

export const distillCommand: Command = {
  name: 'distill',
  usage: usageOf(DISTILL_SCHEMA),
  schema: DISTILL_SCHEMA,
  async run(ctx) {
    const values = parseArgv(DISTILL_SCHEMA, ctx.argv, ctx.cwd);
    return runTraining(ctx, 'distill', trainSettingsFrom('distill', values), values['json'] === true);
  },
};

export const trainCommand: Command = {
  name: 'train',
  usage: usageOf(TRAIN_SCHEMA),
  schema: TRAIN_SCHEMA,
  async run(ctx) {
    const values = parseArgv(TRAIN_SCHEMA, ctx.argv, ctx.cwd);
    return runTraining(ctx, 'train', trainSettingsFrom('train', values), values['json'] === true);
  },
};
