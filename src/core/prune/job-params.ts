// Parameters of the `prune` and `search` jobs as they cross the worker boundary (structured clone):
// the CLI and the extension build them (settings.ts), the worker checks every field before using it
// (validatePruneParams / validateSearchParams in settings.ts, from the same option schemas).

import type { Device } from '../runtime/devices';
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

/**
 * Defaults of the search's short KD (Minitron-SSM §4 step 2): the paper distilled the top 22 of "over a
 * hundred" candidates, about a fifth, at the recovery LR (1.6e-4 peak, TRAIN_DEFAULTS.distill).
 */
export const SEARCH_KD_DEFAULTS = { topKFraction: 0.2, batch: 4, minLrRatio: 0.1 } as const;

/** K of the short KD when --top-k is not given: the paper's share of the scored candidates, at least one. */
export function defaultTopK(scored: number): number {
  return Math.max(1, Math.ceil(SEARCH_KD_DEFAULTS.topKFraction * scored));
}

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
  /** Zero-shot loss rows: a data file (absolute); search defaults to the calibration's rows, else seeded random tokens. */
  data?: string;
  rows?: number;
  seqLen?: number;
  /** Where the zero-shot forward runs (default auto). */
  device?: Device;
}

/** The architecture search under a parameter budget (`search`, and `prune --target-params`). */
export interface SearchSpaceParams {
  /** Raw --target-params text ("4e9", "50%"). */
  targetParams?: string;
  tolerance?: number;
  /** Raw --max-width-pruning text: a fraction or per-axis entries (search-space.ts parseWidthLimits). */
  maxWidthPruning?: string;
  maxDepthPruning?: number;
  /** Raw --grid-steps text (parseGridSteps). */
  gridSteps?: string;
  /** Most candidates scored (closest to the target first); absent: all within the tolerance. */
  maxCandidates?: number;
  /** Steps of the short KD per candidate; 0 or absent: zero-shot ranking only. Needs data. */
  kdSteps?: number;
  /** How many of the zero-shot best get the short KD (default defaultTopK). */
  topK?: number;
  /** Peak LR of the short KD (default TRAIN_DEFAULTS.distill.lr, cosine to a tenth of it). */
  kdLr?: number;
  /** Where candidate checkpoints are written while scored. */
  workDir?: string;
}

export interface PruneJobParams extends CommonPruneParams, SearchSpaceParams {
  out?: string;
  targets: PruneTargets;
  pruneAxis?: PruneAxis;
  /** Apply this pruning_plan.json instead of planning. */
  plan?: string;
  dryRun?: boolean;
  /** Run the zero-shot loss before/after (default true). */
  verify?: boolean;
}

export interface SearchJobParams extends CommonPruneParams, SearchSpaceParams {
  targetParams: string;
  /** List the candidates with their parameter counts; score nothing. */
  candidatesOnly?: boolean;
  /** Where search.json goes (absolute); default <out>/search.json, else none. */
  report?: string;
  /** Prune the winner into this folder. */
  out?: string;
}
