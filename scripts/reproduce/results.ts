// The measured numbers of one reproduce run, as plain JSON (results.json next to the report), and the
// input of the report renderer — which is therefore testable on made-up numbers.

import type { ReproduceSettings } from './settings';

/** Section headings, in report order; wall time is booked under the same names (plus SETUP). */
export const SECTIONS = [
  'Mamba heads: group-aware vs global ranking',
  'Mamba heads vs head channels at the same cut',
  'Importance metric: activation vs FLAP vs random (zero-shot)',
  'Width vs depth vs mixed at equal parameters: each side\'s best after the search',
  'KD vs CE-only retraining',
  'Depth: Block Importance vs KL layer ranking',
] as const;

export const SETUP = 'setup (calibration, teacher evaluation)';

export interface Meta {
  command: string;
  date: string;
  teacher: string;
  teacherDesc: string;
  teacherParams: number;
  fingerprint: string;
  /** The code that measured: git commit (when known), whether src/ or scripts/ had uncommitted changes, and the source hash. */
  code: { commit: string; dirty: boolean; hash: string };
  data: { train: string; val: string };
  machine: {
    cpu: string;
    cores: number;
    threads: string;
    node: string;
    ort: string;
    /** How much of the machine the measurements had (absent when nothing was measured). */
    usage?: { cpuPerWall: number; loadMedian: number; loadMax: number };
  };
  quick: boolean;
  settings: ReproduceSettings;
  calibration: { rows: number; tokens: number; depthRows: number; seconds: number };
  totalSeconds: number;
  sectionSeconds: Record<string, number>;
  reused: number;
  measured: number;
  unigramLoss?: number;
}

export interface LossPair {
  zs: number;
  kd: number;
}

export interface GroupRow {
  heads: string;
  params: number;
  group: LossPair & { misgrouped: number };
  global: LossPair & { misgrouped: number; kept: number };
}

export interface AxisResult extends LossPair {
  config: string;
  params: number;
}

export interface HeadsChannelsRow {
  cut: string;
  heads: AxisResult;
  channels: AxisResult;
}

export interface MetricRow {
  axis: 'Mamba heads' | 'FFN neurons' | 'Attention heads' | 'Width-only mix';
  config: string;
  params: number;
  activation: number;
  /** Absent where the project has no FLAP score for the axis (attention heads). */
  flap?: number;
  random: number[];
}

/** FFN neurons scored on the down_proj input after relu² (post, the default) or on X·W₁ᵀ before it (pre, Eq. 26). */
export interface FfnTapRow {
  config: string;
  params: number;
  post: number;
  pre: number;
}

export interface ArchRow {
  name: 'width-only' | 'depth-only' | 'mixed';
  config: string;
  params: number;
  layers: number;
  /** The search's score: zero-shot loss on the calibration rows, and the rank by it among all candidates. */
  searchLoss: number;
  searchRank: number;
  /** Loss on the calibration rows after the search's short KD. */
  shortKd: number;
  /** In the search's top K (else distilled the same way on its own, as the paper added its depth-only models to Table 1). */
  inTopK: boolean;
  /** Held-out loss zero-shot and after the full retraining budget. */
  zs: number;
  kd: number;
  tokensPerS: number;
}

/** The architecture search of section 4 (the product's `search`, run in process). */
export interface SearchSummary {
  /** The budget: the depth-only model's parameters; candidates lie in [lower, budget]. */
  budget: number;
  lower: number;
  depthKept: number[];
  gridSize: number;
  candidates: number;
  byKind: { width: number; depth: number; mixed: number };
  gridSteps: string;
  widthLimits: string;
  depthLimit: number;
  rows: { count: number; seqLen: number };
  kdSteps: number;
  kdLr: number;
  topK: number;
  seconds: number;
}

export interface RetrainResult {
  loss: number;
  firstTrainLoss: number;
  lastTrainLoss: number;
}

export interface LayerRow {
  index: number;
  kind: string;
  bi: number;
  kl: number;
  /** Held-out loss with only this layer removed. */
  dropLoss: number;
}

export interface DropRow {
  metric: 'BI' | 'KL';
  which: 'top-ranked' | 'bottom-ranked';
  layers: number[];
  loss: number;
}

export interface Results {
  meta: Meta;
  teacher: { loss: number; params: number; tokensPerS: number };
  groupAware: GroupRow[];
  headsVsChannels: HeadsChannelsRow[];
  metrics: MetricRow[];
  ffnTap: FfnTapRow[];
  widthDepth: { search: SearchSummary; rows: ArchRow[]; depthNote: string };
  kdVsCe: { config: string; params: number; zeroShot: number; kd: RetrainResult; ce: RetrainResult; msPerStep: { kd: number; ce: number } };
  depth: { layers: LayerRow[]; drops: DropRow[] };
}
