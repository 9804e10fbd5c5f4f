// The options of `recipe megatron` (CLI flags and the "distill-external" task's properties). Loads no
// engine code.

import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { HybridCompressError } from '../errors';
import { JSON_FIELD } from '../data/options';
import type { ActionSchema, OptionField, OptionValues } from '../util/option-schema';
import type { DataSource, MegatronRecipeOptions } from './megatron';

const int = (key: string, help: string, flag?: string): OptionField => ({ key, type: 'integer', min: 1, placeholder: 'N', help, ...(flag ? { flag } : {}) });
const num = (key: string, help: string): OptionField => ({ key, type: 'number', min: 0, placeholder: 'X', help });
const str = (key: string, help: string, extra: Partial<OptionField> = {}): OptionField => ({ key, type: 'string', placeholder: 'X', help, ...extra });

export const RECIPE_SCHEMA: ActionSchema = {
  command: 'recipe megatron',
  fields: [
    str('teacher', 'teacher: a local Hugging Face checkpoint folder, or a Hub id (org/name)', { required: true, placeholder: 'dir|hub_id' }),
    { key: 'student', type: 'path', required: true, placeholder: 'dir', help: 'the pruned student checkpoint folder' },
    str('data', 'Megatron dataset prefix (path without .bin/.idx), optionally "weight:prefix"; repeat (tasks: comma-separated)', { multiple: true, placeholder: '[weight:]prefix' }),
    { key: 'mockData', type: 'boolean', help: "Megatron's mock dataset instead of --data (smoke tests)" },
    { key: 'out', type: 'path', required: true, placeholder: 'dir', help: 'the recipe run folder (scripts, recipe.json, README)' },
    { key: 'outputDir', type: 'path', placeholder: 'cluster dir', help: "Megatron's --output_dir on the cluster (default: --out)" },
    int('steps', 'training iterations (tokens = steps × global batch × sequence length)'),
    int('tp', 'tensor-parallel size'),
    int('pp', 'pipeline-parallel size'),
    int('nodes', 'nodes'),
    int('gpusPerNode', 'GPUs per node'),
    int('globalBatch', 'global batch (sequences)'),
    int('microBatch', 'micro batch (sequences)'),
    int('seqLen', 'sequence length'),
    num('lr', 'peak learning rate'),
    num('minLr', 'final learning rate'),
    { key: 'warmupSteps', flag: 'warmup', type: 'integer', min: 0, placeholder: 'N', help: 'warmup iterations' },
    int('evalInterval', 'iterations between validations'),
    int('evalIters', 'validation iterations'),
    int('logInterval', 'iterations between log lines'),
    num('kdLossScale', 'scale of the KD loss'),
    { key: 'lmLoss', type: 'boolean', help: "add the student's LM loss to the KD loss (ModelOpt's --no_skip_lm_loss)" },
    { key: 'seed', type: 'integer', min: 0, placeholder: 'S', help: 'seed' },
    { key: 'noHfExport', type: 'boolean', help: 'do not export the final student as a Hugging Face checkpoint' },
    { key: 'modelOptDir', flag: 'modelopt-dir', type: 'path', placeholder: 'dir', help: 'host path of a Model-Optimizer checkout (mounted into the container)' },
    str('container', 'container image of the sbatch script (pyxis)', { placeholder: 'image' }),
    { key: 'noContainer', type: 'boolean', help: 'srun without a container' },
    str('partition', 'Slurm partition'),
    str('account', 'Slurm account'),
    str('time', 'Slurm time limit'),
    str('jobName', 'Slurm job name'),
    { key: 'plan', type: 'path', placeholder: 'pruning_plan.json', help: "the plan to read config_changes from (default: the student's own)" },
    int('prunePp', 'pipeline-parallel size of the prune replay'),
    { key: 'recipeData', type: 'path', placeholder: 'file', help: 'the recipe data file (defaults, container, environment)' },
    { key: 'force', type: 'boolean', help: 'replace a recipe this tool wrote before in --out' },
    JSON_FIELD,
  ],
};

const HUB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** "0.3:/data/a_text_document" → weight 0.3; a plain prefix → weight 1 (relative prefixes resolve against `base`). */
export function parseDataSource(v: string, base: string): DataSource {
  const m = /^([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?):(.+)$/.exec(v.trim());
  const weight = m ? Number(m[1]) : 1;
  const prefix = (m ? m[2]! : v).trim();
  if (!(weight > 0)) throw new HybridCompressError('OPTION_INVALID', `--data weight of ${JSON.stringify(v)} must be a positive number`, { option: 'data' });
  if (prefix === '') throw new HybridCompressError('OPTION_INVALID', `--data ${JSON.stringify(v)} has no dataset prefix`, { option: 'data' });
  return { weight, prefix: isAbsolute(prefix) ? prefix : resolve(base, prefix) };
}

/** The recipe generator's options from a parsed command line or task; `base` anchors relative paths. */
export function recipeOptionsFrom(v: OptionValues, base: string): MegatronRecipeOptions {
  if (v['steps'] === undefined) {
    throw new HybridCompressError('OPTION_INVALID', '--steps is required: the number of training iterations (ModelOpt suggests 80-100B tokens in total for a 30-50% prune, i.e. steps ≈ tokens / (global batch × sequence length))', { option: 'steps' });
  }
  if (v['container'] !== undefined && v['noContainer'] === true) throw new HybridCompressError('OPTION_INVALID', '--container and --no-container exclude each other', { option: 'container' });
  const data = (v['data'] as string[] | undefined) ?? [];
  if (v['mockData'] === true && data.length > 0) throw new HybridCompressError('OPTION_INVALID', '--mock-data cannot be combined with --data (mock data replaces the datasets)', { option: 'mock-data' });
  const teacher = v['teacher'] as string;
  const o: MegatronRecipeOptions = {
    // A teacher that is not a local path may be a Hugging Face Hub id: then it is kept as given.
    teacher: existsSync(resolve(base, teacher)) || !HUB_ID_RE.test(teacher) ? resolve(base, teacher) : teacher,
    student: v['student'] as string,
    data: data.map((d) => parseDataSource(d, base)),
    mockData: v['mockData'] === true,
    out: v['out'] as string,
    steps: v['steps'] as number,
    hfExport: v['noHfExport'] !== true,
  };
  if (v['noContainer'] === true) o.container = null;
  const copy: [keyof MegatronRecipeOptions, string][] = [
    ['outputDir', 'outputDir'], ['tp', 'tp'], ['pp', 'pp'], ['nodes', 'nodes'], ['gpusPerNode', 'gpusPerNode'], ['globalBatch', 'globalBatch'],
    ['microBatch', 'microBatch'], ['seqLen', 'seqLen'], ['lr', 'lr'], ['minLr', 'minLr'], ['warmup', 'warmupSteps'], ['evalInterval', 'evalInterval'],
    ['evalIters', 'evalIters'], ['logInterval', 'logInterval'], ['kdLossScale', 'kdLossScale'], ['lmLoss', 'lmLoss'], ['seed', 'seed'],
    ['modelOptDir', 'modelOptDir'], ['container', 'container'], ['partition', 'partition'], ['account', 'account'], ['time', 'time'],
    ['jobName', 'jobName'], ['planFile', 'plan'], ['prunePp', 'prunePp'],
  ];
  for (const [to, from] of copy) if (v[from] !== undefined) (o as unknown as Record<string, unknown>)[to] = v[from];
  return o;
}
