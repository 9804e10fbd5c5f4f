import type { Command } from '../command';
import { optInt, optNumber, optString, parseCommandArgs, requirePositional } from '../args';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { HybridCompressError } from '../../core/errors';
import type { DataSource } from '../../core/recipes/megatron';
import { launchMegatronRecipe } from '../../core/recipes/launch';

const usage =
  'hybrid-compress recipe megatron --teacher <dir|hub_id> --student <dir> --data [<weight>:]<prefix> [--data ...] --out <dir> --steps N ' +
  '[--tp N] [--pp N] [--nodes N] [--gpus-per-node N] [--global-batch N] [--micro-batch N] [--seq-len N] [--lr X] [--min-lr X] [--warmup N] ' +
  '[--eval-interval N] [--eval-iters N] [--log-interval N] [--kd-loss-scale X] [--lm-loss] [--seed N] [--no-hf-export] [--output-dir <cluster dir>] ' +
  '[--modelopt-dir <dir>] [--container <image> | --no-container] [--partition P] [--account A] [--time T] [--job-name N] [--plan <pruning_plan.json>] ' +
  '[--prune-pp N] [--mock-data] [--recipe-data <file>] [--force] [--json]';

const HUB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** "0.3:/data/a_text_document" → weight 0.3; a plain path → weight 1. */
export function parseDataArg(v: string): DataSource {
  const m = /^([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?):(.+)$/.exec(v);
  if (m) return { weight: Number(m[1]), prefix: m[2]! };
  if (v.trim() === '') throw new HybridCompressError('OPTION_INVALID', '--data must not be empty', { option: 'data' });
  return { weight: 1, prefix: v };
}

export const recipeCommand: Command = {
  name: 'recipe',
  usage,
  async run(ctx) {
    const str = { type: 'string' } as const;
    const bool = { type: 'boolean' } as const;
    const { values, positionals } = parseCommandArgs(
      ctx.argv,
      {
        teacher: str, student: str, data: { type: 'string', multiple: true }, out: str, steps: str, tp: str, pp: str, nodes: str, 'gpus-per-node': str,
        'global-batch': str, 'micro-batch': str, 'seq-len': str, lr: str, 'min-lr': str, warmup: str, 'eval-interval': str, 'eval-iters': str,
        'log-interval': str, 'kd-loss-scale': str, 'lm-loss': bool, seed: str, 'no-hf-export': bool, 'output-dir': str, 'modelopt-dir': str,
        container: str, 'no-container': bool, partition: str, account: str, time: str, 'job-name': str, plan: str, 'prune-pp': str,
        'mock-data': bool, 'recipe-data': str, force: bool, json: bool,
      },
      usage,
    );
    const target = requirePositional(positionals, 0, 'recipe kind (megatron)', usage);
    if (target !== 'megatron') throw new HybridCompressError('OPTION_INVALID', `unknown recipe kind "${target}" (valid: megatron)\nusage: ${usage}`);
    const need = (name: string): string => {
      const v = optString(values, name);
      if (v === undefined) throw new HybridCompressError('OPTION_INVALID', `--${name} is required\nusage: ${usage}`, { option: name });
      return v;
    };
    if (values['container'] !== undefined && values['no-container']) throw new HybridCompressError('OPTION_INVALID', '--container and --no-container exclude each other', { option: 'container' });
    if (values['steps'] === undefined) throw new HybridCompressError('OPTION_INVALID', `--steps is required: the number of training iterations (ModelOpt suggests 80-100B tokens in total for a 30-50% prune, i.e. steps ≈ tokens / (global batch × sequence length))`, { option: 'steps' });
    const num = (name: string) => (values[name] !== undefined ? optNumber(values, name, 0) : undefined);
    const int = (name: string) => (values[name] !== undefined ? optInt(values, name, 0) : undefined);
    const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(ctx.cwd, p));
    const teacherArg = need('teacher');
    const out = abs(need('out'))!;
    const { recipe, files: written } = await launchMegatronRecipe(
      ctx.cwd,
      {
        // A teacher that is not a local path may be a Hugging Face Hub id: then it is kept as given.
        teacher: existsSync(resolve(ctx.cwd, teacherArg)) || !HUB_ID_RE.test(teacherArg) ? abs(teacherArg)! : teacherArg,
        student: abs(need('student'))!,
        data: ((values['data'] as string[] | undefined) ?? []).map(parseDataArg).map((d) => ({ ...d, prefix: abs(d.prefix)! })),
        mockData: values['mock-data'] === true,
        out,
        outputDir: abs(optString(values, 'output-dir')),
        steps: optInt(values, 'steps', 0, { min: 1 }),
        tp: int('tp'), pp: int('pp'), nodes: int('nodes'), gpusPerNode: int('gpus-per-node'),
        globalBatch: int('global-batch'), microBatch: int('micro-batch'), seqLen: int('seq-len'),
        lr: num('lr'), minLr: num('min-lr'), warmup: int('warmup'),
        evalInterval: int('eval-interval'), evalIters: int('eval-iters'), logInterval: int('log-interval'),
        kdLossScale: num('kd-loss-scale'), lmLoss: values['lm-loss'] === true, seed: int('seed'),
        hfExport: values['no-hf-export'] !== true,
        modelOptDir: abs(optString(values, 'modelopt-dir')),
        container: values['no-container'] ? null : optString(values, 'container'),
        partition: optString(values, 'partition'), account: optString(values, 'account'), time: optString(values, 'time'), jobName: optString(values, 'job-name'),
        planFile: abs(optString(values, 'plan')),
        prunePp: int('prune-pp'),
      },
      { force: values['force'] === true, recipeData: abs(optString(values, 'recipe-data')) },
    );
    if (values['json']) {
      ctx.stdout.write(JSON.stringify({ out, files: written, settings: recipe.settings, export_config: recipe.exportConfig ?? null, warnings: recipe.warnings }) + '\n');
    } else {
      const s = recipe.settings;
      ctx.stdout.write(`recipe written to ${out}\n`);
      for (const f of written) ctx.stdout.write(`  ${f}\n`);
      ctx.stdout.write(`${s.nodes}×${s.gpusPerNode} GPUs (TP ${s.tp}, PP ${s.pp}, DP ${s.dp}); ${s.steps} steps × ${s.globalBatch} × ${s.seqLen} = ${(s.totalTokens / 1e9).toFixed(3)}B tokens\n`);
      if (recipe.exportConfig) ctx.stdout.write(`ModelOpt export_config (${recipe.exportConfig.source}): ${JSON.stringify(recipe.exportConfig.exportConfig)}\n`);
      ctx.stdout.write('Nothing has been run: review the scripts, then start distill_torchrun.sh or sbatch distill_slurm.sbatch.\n');
      for (const w of recipe.warnings) ctx.stderr.write(`warning: ${w}\n`);
      for (const n of recipe.exportConfig?.notes ?? []) ctx.stderr.write(`note: ${n}\n`);
    }
    return 0;
  },
};
