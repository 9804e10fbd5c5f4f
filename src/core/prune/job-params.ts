// Parameters of the `prune` and `search` jobs as they cross the worker boundary (structured clone):
// the CLI and the extension build them, the worker checks every field before using it.

import { HybridCompressError } from '../errors';
import type { MambaHeadRanking } from '../calibrate/index';
import type { ImportanceMetric } from './plan';
import type { PruneAxis, PruneTargets } from './targets';

/** What a pipeline needs from its host (a JobContext satisfies it). */
export interface PipelineContext {
  signal: AbortSignal;
  progress(info: { phase: string; done: number; total: number; unit: string; message?: string; tokensPerS?: number }): void;
  log(text: string, level?: 'debug' | 'info' | 'warn' | 'error'): void;
}

export const SEARCH_FILE = 'search.json';

/** The lightweight KD of the search trains on real text; random tokens would rank nothing. */
export const KD_NEEDS_DATA = '--kd-steps needs --data <file>: the short distillation of the top candidates trains on it (the same text as the zero-shot rows); give a data file, or drop --kd-steps for the zero-shot ranking alone';

/** Defaults of the search's short KD (Minitron-SSM §4 step 2, scaled down to a ranking aid). */
export const SEARCH_KD_DEFAULTS = { topK: 3, batch: 4, lr: 1e-3, minLrRatio: 0.1 } as const;

export const ENGINE_DEVICES = ['auto', 'cpu', 'webgpu', 'cuda'] as const;

/** Options shared by prune and search. */
export interface CommonPruneParams {
  /** Source checkpoint folder (absolute). */
  model: string;
  /** "random", or a calibrate run folder / importance.safetensors (absolute). */
  importance: string;
  seed?: number;
  mambaHeadRanking?: MambaHeadRanking;
  metric?: ImportanceMetric;
  sortByImportance?: boolean;
  allowFingerprintMismatch?: boolean;
  emitModelOptConfig?: boolean;
  force?: boolean;
  /** Zero-shot loss rows: a data file (absolute), else seeded random tokens. */
  data?: string;
  rows?: number;
  seqLen?: number;
  /** Where the zero-shot forward runs (default auto). */
  device?: (typeof ENGINE_DEVICES)[number];
}

export interface PruneJobParams extends CommonPruneParams {
  out?: string;
  targets: PruneTargets;
  /** Raw --target-params text ("4e9", "50%"). */
  targetParams?: string;
  tolerance?: number;
  maxWidthPruning?: number;
  maxDepthPruning?: number;
  pruneAxis?: PruneAxis;
  /** Apply this pruning_plan.json instead of planning. */
  plan?: string;
  dryRun?: boolean;
  /** Run the zero-shot loss before/after (default true). */
  verify?: boolean;
}

export interface SearchJobParams extends CommonPruneParams {
  targetParams: string;
  tolerance?: number;
  maxWidthPruning?: number;
  maxDepthPruning?: number;
  /** Most candidates scored (closest to the target first). */
  maxCandidates?: number;
  /** How many of the zero-shot best get the short KD (default 3 with kdSteps). */
  topK?: number;
  /** Steps of the short KD per candidate; 0 or absent: zero-shot ranking only. Needs `data`. */
  kdSteps?: number;
  /** Peak LR of the short KD (default 1e-3, cosine to a tenth of it). */
  kdLr?: number;
  /** Where search.json goes (absolute); default <out>/search.json, else none. */
  report?: string;
  /** Prune the winner into this folder. */
  out?: string;
  workDir?: string;
}

type Obj = Record<string, unknown>;

function bad(field: string, what: string): HybridCompressError {
  return new HybridCompressError('OPTION_INVALID', `job parameter "${field}" ${what}`, { option: field });
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const check = {
  str(o: Obj, k: string, required = false): void {
    if (o[k] === undefined && !required) return;
    if (typeof o[k] !== 'string' || o[k] === '') throw bad(k, 'must be a non-empty string');
  },
  num(o: Obj, k: string, opts: { int?: boolean; min?: number; max?: number } = {}): void {
    const v = o[k];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v)) || (opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      throw bad(k, `must be a${opts.int ? 'n integer' : ' number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}, got ${JSON.stringify(v)}`);
    }
  },
  bool(o: Obj, k: string): void {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw bad(k, 'must be true or false');
  },
  oneOf(o: Obj, k: string, values: readonly string[]): void {
    if (o[k] !== undefined && !values.includes(o[k] as string)) throw bad(k, `must be one of ${values.join('|')}, got ${JSON.stringify(o[k])}`);
  },
};

function checkCommon(o: Obj): void {
  check.str(o, 'model', true);
  check.str(o, 'importance', true);
  check.num(o, 'seed', { int: true, min: 0 });
  check.oneOf(o, 'mambaHeadRanking', ['group', 'global']);
  check.oneOf(o, 'metric', ['activation', 'flap']);
  for (const k of ['sortByImportance', 'allowFingerprintMismatch', 'emitModelOptConfig', 'force']) check.bool(o, k);
  check.str(o, 'data');
  check.num(o, 'rows', { int: true, min: 1 });
  check.num(o, 'seqLen', { int: true, min: 2 });
  check.oneOf(o, 'device', ENGINE_DEVICES);
}

export function validatePruneParams(v: unknown): PruneJobParams {
  if (!isObj(v)) throw bad('params', 'must be an object');
  checkCommon(v);
  check.str(v, 'out');
  check.str(v, 'targetParams');
  check.str(v, 'plan');
  check.num(v, 'tolerance', { min: 0, max: 1 });
  check.num(v, 'maxWidthPruning', { min: 0, max: 1 });
  check.num(v, 'maxDepthPruning', { min: 0, max: 1 });
  check.oneOf(v, 'pruneAxis', ['heads', 'channels']);
  check.bool(v, 'dryRun');
  check.bool(v, 'verify');
  const t = v['targets'];
  if (!isObj(t)) throw bad('targets', 'must be an object');
  for (const k of ['hiddenSize', 'ffnHiddenSize', 'mambaNumHeads', 'mambaHeadDim', 'numAttentionHeads', 'numLayers']) check.num(t, k);
  if (t['dropLayers'] !== undefined && (!Array.isArray(t['dropLayers']) || !t['dropLayers'].every((x) => typeof x === 'number'))) throw bad('targets.dropLayers', 'must be a list of layer indices');
  if (!v['dryRun'] && v['out'] === undefined) throw bad('out', 'is required (or use a dry run)');
  return v as unknown as PruneJobParams;
}

export function validateSearchParams(v: unknown): SearchJobParams {
  if (!isObj(v)) throw bad('params', 'must be an object');
  checkCommon(v);
  check.str(v, 'targetParams', true);
  check.num(v, 'tolerance', { min: 0, max: 1 });
  check.num(v, 'maxWidthPruning', { min: 0, max: 1 });
  check.num(v, 'maxDepthPruning', { min: 0, max: 1 });
  check.num(v, 'maxCandidates', { int: true, min: 1 });
  check.num(v, 'topK', { int: true, min: 1 });
  check.num(v, 'kdSteps', { int: true, min: 0 });
  check.num(v, 'kdLr');
  if (v['kdLr'] !== undefined && !((v['kdLr'] as number) > 0)) throw bad('kdLr', `must be a number > 0, got ${JSON.stringify(v['kdLr'])}`);
  for (const k of ['report', 'out', 'workDir']) check.str(v, k);
  if ((v['kdSteps'] as number | undefined) && v['data'] === undefined) throw new HybridCompressError('OPTION_INVALID', KD_NEEDS_DATA, { option: 'data' });
  return v as unknown as SearchJobParams;
}
