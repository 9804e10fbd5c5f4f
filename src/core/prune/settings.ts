// The options of `prune` and `search` (CLI flags and the tasks' properties), and the job parameters they
// give. Loads no engine code.

import { join } from 'node:path';
import { HybridCompressError } from '../errors';
import { JSON_FIELD } from '../data/options';
import { DEVICE_FIELD } from '../runtime/devices';
import { checkValues, type ActionSchema, type OptionField, type OptionValues } from '../util/option-schema';
import { PRUNE_AXES } from './axes';
import { KD_NEEDS_DATA, SEARCH_FILE, SEARCH_KD_DEFAULTS, type CommonPruneParams, type PruneJobParams, type SearchJobParams, type SearchSpaceParams } from './job-params';
import { formatWidthLimits, PAPER_DEPTH_LIMIT, PAPER_WIDTH_LIMITS, parseGridSteps, parseWidthLimits, SEARCH_TOLERANCE } from './search-space';
import { TRAIN_DEFAULTS } from '../distill/settings';
import type { PruneTargets } from './targets';

const MODEL: OptionField = { key: 'model', type: 'path', positional: true, required: true, placeholder: 'model_dir', help: 'source checkpoint folder (never modified)' };

/** Options shared by prune and search. */
const COMMON_FIELDS: readonly OptionField[] = [
  { key: 'importance', type: 'path', literal: ['random'], placeholder: 'run_dir|file|random', help: 'a calibrate run folder, its importance.safetensors, or "random" (seeded random scores: the baseline)' },
  { key: 'seed', type: 'integer', min: 0, placeholder: 'S', help: 'seed of --importance random' },
  { key: 'mambaHeadRanking', type: 'string', choices: ['group', 'global'], default: 'group', help: 'group: rank Mamba heads within their B/C group (the paper, Eq. 23); global: one ranking (the naive ablation)' },
  { key: 'metric', type: 'string', choices: ['activation', 'flap'], default: 'activation', help: 'activation (Minitron) or FLAP importance for Mamba heads and FFN neurons' },
  { key: 'sortByImportance', type: 'boolean', help: 'keep kept channels ordered by importance (default: source order)' },
  { key: 'allowFingerprintMismatch', type: 'boolean', help: 'use importance scores computed on a different checkpoint' },
  { key: 'emitModelOptConfig', type: 'boolean', help: "also write ModelOpt's export_config for the same cut" },
  { key: 'targetParams', type: 'string', placeholder: '4.49B|50%', help: 'a parameter budget: an absolute count (4.49B, 900M) or a share of the source (50%); the paper\'s "4B" model has 4,489,223,040 (4.49B), not 4e9' },
  { key: 'tolerance', type: 'fraction', default: SEARCH_TOLERANCE, placeholder: '5%', help: 'candidates within this share of the budget (±5%: Minitron\'s; the Minitron-SSM paper states none, its Table 1 4B candidates lie within −3.6%…+2.2%)' },
  { key: 'maxWidthPruning', type: 'string', default: formatWidthLimits(PAPER_WIDTH_LIMITS), placeholder: '0.4|axis=cut,…', help: 'largest cut per width axis: one fraction for all (ModelOpt: 0.4) or axis=cut entries; default the paper\'s 4B ranges (embedding 3072–4096, FFN 9984–21504, Mamba heads 64–128, head channels 32–64 of Nemotron-H 8B; attention not pruned)' },
  { key: 'maxDepthPruning', type: 'fraction', default: PAPER_DEPTH_LIMIT, placeholder: '0.5', help: 'largest share of layers dropped (the paper: up to 26 of 52; ModelOpt: 0.2)' },
  { key: 'gridSteps', type: 'string', placeholder: 'axis=step,…', help: `grid step per axis, e.g. hidden-size=256,ffn-hidden-size=512 (ModelOpt's divisors); default hidden/16 and FFN/168 (256 and 128 at 8B, the granularity of the paper's Table 1), every legal head count (multiples of n_groups / KV heads), every head_dim and every layer count` },
  { key: 'maxCandidates', type: 'integer', min: 1, placeholder: 'N', help: 'score only the N candidates closest to the budget (default: all within the tolerance, as the paper)' },
  { key: 'kdSteps', type: 'integer', min: 0, default: 0, placeholder: 'N', help: 'short KD of the top --top-k candidates before ranking (the paper\'s step 2; needs data); 0: zero-shot ranking' },
  { key: 'topK', type: 'integer', min: 1, placeholder: 'K', help: `candidates given the short KD (default ${Math.round(SEARCH_KD_DEFAULTS.topKFraction * 100)}% of those scored: the paper distilled 22 of over a hundred)` },
  { key: 'kdLr', type: 'number', min: 0, placeholder: 'X', help: `peak LR of the short KD (default ${TRAIN_DEFAULTS.distill.lr}, the paper's; cosine to a tenth)` },
  { key: 'workDir', type: 'path', placeholder: 'dir', help: 'where candidate checkpoints are written while scored' },
  { key: 'data', type: 'path', placeholder: 'file', help: 'rows for the zero-shot LM loss (default: the calibration\'s own rows when --importance is a calibrate run, else seeded random tokens)' },
  { key: 'rows', type: 'integer', min: 1, placeholder: 'N', help: 'rows of the zero-shot loss (default: the calibration\'s with its data; else search 8, prune\'s check 4)' },
  { key: 'seqLen', type: 'integer', min: 2, placeholder: 'N', help: 'tokens per row of the zero-shot loss (default: the calibration\'s with its data; else search 128, prune\'s check 64)' },
  DEVICE_FIELD,
  { key: 'force', type: 'boolean', help: 'replace an output this tool wrote before (never a source)' },
  JSON_FIELD,
];

export const PRUNE_SCHEMA: ActionSchema = {
  command: 'prune',
  fields: [
    MODEL,
    ...COMMON_FIELDS,
    { key: 'out', type: 'path', placeholder: 'dir', help: 'the pruned checkpoint folder (required unless --dry-run)' },
    ...PRUNE_AXES.map((a): OptionField => ({ key: a.key, flag: a.flag, type: 'integer', min: 1, placeholder: 'N', help: `${a.label} (config.json ${Object.values(a.config).join(' / ')}; ModelOpt ${a.modelopt})` })),
    { key: 'dropLayers', type: 'integer-list', min: 0, placeholder: 'i,j', help: 'drop these layers (source indices) instead of choosing by depth importance' },
    { key: 'pruneAxis', type: 'string', choices: ['heads', 'channels'], help: 'express the Mamba cut on heads or on head channels (the paper, Fig. 7)' },
    { key: 'plan', type: 'path', placeholder: 'pruning_plan.json', help: 'apply this plan (kept indices) instead of planning' },
    { key: 'noVerify', type: 'boolean', help: 'skip the zero-shot loss before/after' },
    { key: 'dryRun', type: 'boolean', help: 'plan and report, write nothing' },
  ],
};

export const SEARCH_SCHEMA: ActionSchema = {
  command: 'search',
  fields: [
    MODEL,
    ...COMMON_FIELDS.map((f) => (f.key === 'targetParams' ? { ...f, required: true } : f)),
    { key: 'candidatesOnly', type: 'boolean', help: 'list the legal candidates within the tolerance with their parameter counts; score nothing' },
    { key: 'report', type: 'path', placeholder: 'search.json', help: 'where the ranked candidates go (default: search.json, or inside --out)' },
    { key: 'out', type: 'path', placeholder: 'dir', help: 'prune the winner into this folder' },
  ],
};

function optionError(option: string, message: string): HybridCompressError {
  return new HybridCompressError('OPTION_INVALID', `--${option} ${message}`, { option });
}

function commonFrom(v: OptionValues): CommonPruneParams {
  const p: CommonPruneParams = {
    model: v['model'] as string,
    importance: (v['importance'] as string | undefined) ?? 'random',
    mambaHeadRanking: v['mambaHeadRanking'] as CommonPruneParams['mambaHeadRanking'],
    metric: v['metric'] as CommonPruneParams['metric'],
    sortByImportance: v['sortByImportance'] === true,
    allowFingerprintMismatch: v['allowFingerprintMismatch'] === true,
    emitModelOptConfig: v['emitModelOptConfig'] === true,
    force: v['force'] === true,
    device: v['device'] as CommonPruneParams['device'],
  };
  if (v['importance'] !== undefined && v['importance'] !== 'random' && v['seed'] !== undefined) throw optionError('seed', 'only applies to --importance random');
  for (const k of ['seed', 'data', 'rows', 'seqLen'] as const) if (v[k] !== undefined) (p as unknown as Record<string, unknown>)[k] = v[k];
  return p;
}

/** The targets of a parsed prune command line or task (the axes table names them). */
export function targetsFrom(v: OptionValues): PruneTargets {
  const t: PruneTargets = {};
  for (const a of PRUNE_AXES) if (v[a.key] !== undefined) t[a.key] = v[a.key] as number;
  if (v['dropLayers'] !== undefined) t.dropLayers = v['dropLayers'] as number[];
  return t;
}

/** The search options of a parsed command line or task (raw texts checked here, parsed again in the job). */
function searchSpaceFrom(v: OptionValues): SearchSpaceParams {
  const kdSteps = (v['kdSteps'] as number | undefined) ?? 0;
  if (v['maxWidthPruning'] !== undefined) parseWidthLimits(v['maxWidthPruning'] as string);
  if (v['gridSteps'] !== undefined) parseGridSteps(v['gridSteps'] as string);
  if (kdSteps > 0 && v['data'] === undefined && (v['importance'] === undefined || v['importance'] === 'random')) throw new HybridCompressError('OPTION_INVALID', KD_NEEDS_DATA, { option: 'data' });
  if (kdSteps === 0 && v['kdLr'] !== undefined) throw optionError('kd-lr', 'only applies with --kd-steps N (N > 0)');
  if (v['kdLr'] !== undefined && !((v['kdLr'] as number) > 0)) throw optionError('kd-lr', `must be a number > 0, got ${JSON.stringify(v['kdLr'])}`);
  const p: SearchSpaceParams = {};
  for (const k of ['targetParams', 'tolerance', 'maxWidthPruning', 'maxDepthPruning', 'gridSteps', 'maxCandidates', 'topK', 'kdLr', 'workDir'] as const) if (v[k] !== undefined) (p as Record<string, unknown>)[k] = v[k];
  if (kdSteps > 0) p.kdSteps = kdSteps;
  return p;
}

export function pruneParamsFrom(v: OptionValues): PruneJobParams {
  if (v['plan'] === undefined && v['importance'] === undefined) throw optionError('importance', 'is required: a calibrate run folder, its importance.safetensors, or "random"');
  const dryRun = v['dryRun'] === true;
  if (!dryRun && v['out'] === undefined) throw optionError('out', 'is required (or --dry-run to only show the plan)');
  const p: PruneJobParams = { ...commonFrom(v), ...searchSpaceFrom(v), targets: targetsFrom(v), dryRun, verify: v['noVerify'] !== true };
  for (const k of ['out', 'plan', 'pruneAxis'] as const) if (v[k] !== undefined) (p as unknown as Record<string, unknown>)[k] = v[k];
  return p;
}

/** Search job parameters; `cwd` places the default search.json when neither --report nor --out is given. */
export function searchParamsFrom(v: OptionValues, cwd?: string): SearchJobParams {
  const candidatesOnly = v['candidatesOnly'] === true;
  // Listing candidates needs layer scores only for depth candidates: random ones do (the job says so).
  if (v['importance'] === undefined && !candidatesOnly) throw optionError('importance', 'is required: a calibrate run folder, its importance.safetensors, or "random"');
  if (candidatesOnly) for (const k of ['kdSteps', 'out'] as const) if (v[k] !== undefined && v[k] !== 0) throw optionError(k === 'kdSteps' ? 'kd-steps' : 'out', 'does not apply to --candidates-only (nothing is scored or written)');
  const p: SearchJobParams = { ...commonFrom(v), ...searchSpaceFrom(v), targetParams: v['targetParams'] as string };
  if (candidatesOnly) p.candidatesOnly = true;
  for (const k of ['out', 'report'] as const) if (v[k] !== undefined) p[k] = v[k] as string;
  if (p.report === undefined && p.out === undefined && cwd !== undefined && !candidatesOnly) p.report = join(cwd, SEARCH_FILE);
  return p;
}

// ---- the worker's checks of the job parameters (structured-cloned, so untrusted), from the same schemas ----

function bad(field: string, what: string): HybridCompressError {
  return new HybridCompressError('OPTION_INVALID', `job parameter "${field}" ${what}`, { option: field });
}

function checkCommon(schema: ActionSchema, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('params', 'must be an object');
  const o = v as Record<string, unknown>;
  for (const k of ['model', 'importance']) if (typeof o[k] !== 'string' || o[k] === '') throw bad(k, 'must be a non-empty string');
  checkValues(schema, o);
  for (const k of ['verify', 'dryRun']) if (o[k] !== undefined && typeof o[k] !== 'boolean') throw bad(k, 'must be true or false');
  return o;
}

export function validatePruneParams(v: unknown): PruneJobParams {
  const o = checkCommon(PRUNE_SCHEMA, v);
  const t = o['targets'];
  if (typeof t !== 'object' || t === null || Array.isArray(t)) throw bad('targets', 'must be an object');
  checkValues({ command: 'prune', fields: PRUNE_SCHEMA.fields.filter((f) => PRUNE_AXES.some((a) => a.key === f.key) || f.key === 'dropLayers') }, t as Record<string, unknown>, 'job parameter targets:');
  if (!o['dryRun'] && o['out'] === undefined) throw bad('out', 'is required (or use a dry run)');
  return o as unknown as PruneJobParams;
}

export function validateSearchParams(v: unknown): SearchJobParams {
  const o = checkCommon(SEARCH_SCHEMA, v);
  if (typeof o['targetParams'] !== 'string' || o['targetParams'] === '') throw bad('targetParams', 'must be a non-empty string');
  if (o['kdLr'] !== undefined && !((o['kdLr'] as number) > 0)) throw bad('kdLr', `must be a number > 0, got ${JSON.stringify(o['kdLr'])}`);
  if ((o['kdSteps'] as number | undefined) && o['data'] === undefined && o['importance'] === 'random') throw new HybridCompressError('OPTION_INVALID', KD_NEEDS_DATA, { option: 'data' });
  return o as unknown as SearchJobParams;
}
