// Architecture search (Minitron-SSM §4; ModelOpt NAS, research/modelopt.md §2.2): enumerate candidates
// on grids of legal values for hidden size, FFN width, Mamba heads, Mamba head dim and depth, bounded by
// the maximum width/depth pruning; keep those within the tolerance of the parameter target; score them by
// zero-shot LM loss; rank (ties broken by measured tokens/s).
//
// Grid steps follow ModelOpt's divisors (hidden 256, FFN 512, head dim 8, layers 2, heads n_groups),
// scaled down proportionally for models smaller than Nemotron-H 8B so tiny models still get a grid.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { HybridModelSpec } from '../arch/spec';
import type { Checkpoint } from '../checkpoint/checkpoint';
import type { PrunedDims } from './config';
import type { ImportanceScores } from '../calibrate/importance-file';
import { buildPlan, selectLayers, type PlanOptions } from './plan';
import { applyPlan } from './apply';
import { countPrunedParams } from './param-count';
import type { Evaluator } from './evaluate';
import { mamba2ExpandOk, type PruneTargets } from './targets';
import type { TrainHooks, TrainResult, TrainSettings } from '../distill/train-types';
import { trainSettings } from '../distill/settings';

export const SEARCH_FORMAT = 'hybrid-compress/search@1';

export interface GridSteps {
  hidden: number;
  ffn: number;
  mambaHeads: number;
  mambaHeadDim: number;
  layers: number;
}

export interface SearchBounds {
  targetParams: number;
  /** Relative: 0.05 keeps candidates within ±5 % of the target. */
  tolerance: number;
  maxWidthPruning: number;
  maxDepthPruning: number;
  steps?: Partial<GridSteps>;
}

export interface SearchGrid {
  hidden: number[];
  ffn?: number[];
  mambaHeads?: number[];
  mambaHeadDim?: number[];
  layers: number[];
}

export interface Candidate {
  id: number;
  targets: PruneTargets;
  dims: PrunedDims;
  params: number;
}

/** ModelOpt's divisor at the 8B reference size, scaled by size/reference below it. */
function scaledStep(size: number, divisor: number, reference: number): number {
  return size >= reference ? divisor : Math.max(1, Math.round((divisor * size) / reference));
}

export function defaultGridSteps(spec: HybridModelSpec): GridSteps {
  return {
    hidden: scaledStep(spec.hiddenSize, 256, 4096),
    ffn: scaledStep(spec.mlp?.intermediateSize ?? 1, 512, 21504),
    mambaHeads: spec.mamba?.nGroups ?? 1,
    mambaHeadDim: scaledStep(spec.mamba?.headDim ?? 1, 8, 64),
    layers: scaledStep(spec.numLayers, 2, 52),
  };
}

/** The source size, then the multiples of `step` below it down to (1 − maxPruning)·size, descending. */
export function axisChoices(size: number, step: number, maxPruning: number, min = 1): number[] {
  const floor = Math.max(min, Math.ceil((1 - maxPruning) * size - 1e-9));
  const out = [size];
  for (let v = Math.floor((size - 1) / step) * step; v >= floor; v -= step) if (v > 0 && v !== size) out.push(v);
  return out;
}

export function searchGrid(spec: HybridModelSpec, b: SearchBounds): SearchGrid {
  const s = { ...defaultGridSteps(spec), ...b.steps };
  const kinds = new Set(spec.pattern);
  const grid: SearchGrid = {
    hidden: axisChoices(spec.hiddenSize, s.hidden, b.maxWidthPruning),
    layers: axisChoices(spec.numLayers, s.layers, b.maxDepthPruning),
  };
  if (spec.mlp && kinds.has('-')) grid.ffn = axisChoices(spec.mlp.intermediateSize, s.ffn, b.maxWidthPruning);
  if (spec.mamba && kinds.has('M')) {
    const G = spec.mamba.nGroups;
    // Heads stay multiples of n_groups whatever the step.
    const step = Math.max(G, Math.round(s.mambaHeads / G) * G);
    grid.mambaHeads = axisChoices(spec.mamba.numHeads, step, b.maxWidthPruning, G).filter((h) => h % G === 0);
    grid.mambaHeadDim = axisChoices(spec.mamba.headDim, s.mambaHeadDim, b.maxWidthPruning);
  }
  return grid;
}

export interface Enumeration {
  grid: SearchGrid;
  /** Size of the full Cartesian product. */
  gridSize: number;
  /** Candidates within the tolerance, closest to the target first. */
  candidates: Candidate[];
}

export function enumerateCandidates(spec: HybridModelSpec, scores: ImportanceScores, b: SearchBounds): Enumeration {
  const grid = searchGrid(spec, b);
  const keptFor = new Map(grid.layers.map((n) => [n, selectLayers(spec, { numLayers: n }, scores).kept]));
  const ffn = grid.ffn ?? [undefined];
  const heads = grid.mambaHeads ?? [undefined];
  const hdim = grid.mambaHeadDim ?? [undefined];
  const out: Candidate[] = [];
  let gridSize = 0;
  for (const hidden of grid.hidden)
    for (const f of ffn)
      for (const h of heads)
        for (const p of hdim)
          for (const n of grid.layers) {
            gridSize++;
            if (spec.family === 'mamba2' && !mamba2ExpandOk(hidden, h ?? spec.mamba!.numHeads, p ?? spec.mamba!.headDim)) continue;
            const dims: PrunedDims = {
              hiddenSize: hidden,
              intermediateSize: f ?? spec.mlp?.intermediateSize,
              mambaNumHeads: h ?? spec.mamba?.numHeads,
              mambaHeadDim: p ?? spec.mamba?.headDim,
              numAttentionHeads: spec.attention?.numHeads,
              keptLayers: keptFor.get(n)!,
            };
            const params = countPrunedParams(spec, dims);
            if (Math.abs(params - b.targetParams) > b.tolerance * b.targetParams) continue;
            const targets: PruneTargets = { hiddenSize: hidden, numLayers: n };
            if (f !== undefined) targets.ffnHiddenSize = f;
            if (h !== undefined) targets.mambaNumHeads = h;
            if (p !== undefined) targets.mambaHeadDim = p;
            out.push({ id: 0, targets, dims, params });
          }
  out.sort((x, y) => Math.abs(x.params - b.targetParams) - Math.abs(y.params - b.targetParams) || y.params - x.params);
  out.forEach((c, i) => (c.id = i + 1));
  return { grid, gridSize, candidates: out };
}

/** The least aggressive candidate: smallest largest-per-axis cut, then closest to the target (prune --target-params). */
export function mostBalanced(spec: HybridModelSpec, candidates: readonly Candidate[], targetParams: number): Candidate | undefined {
  const cut = (c: Candidate) => {
    const d = c.dims;
    const ratios = [d.hiddenSize / spec.hiddenSize, d.keptLayers.length / spec.numLayers];
    if (spec.mlp && d.intermediateSize) ratios.push(d.intermediateSize / spec.mlp.intermediateSize);
    if (spec.mamba && d.mambaNumHeads && d.mambaHeadDim) ratios.push((d.mambaNumHeads * d.mambaHeadDim) / spec.mamba.innerSize);
    return 1 - Math.min(...ratios);
  };
  return [...candidates].sort((a, b) => cut(a) - cut(b) || Math.abs(a.params - targetParams) - Math.abs(b.params - targetParams))[0];
}

/** What the short KD of one candidate gave. */
export interface KdOutcome {
  /** KD loss (forward KL to the teacher) of the last step. */
  lossFinal: number | null;
  /** Zero-shot LM loss on the same rows as before, after the KD. */
  lossAfter: number | null;
  /** Wall time of this candidate's KD (write, train, score). */
  seconds: number;
  error?: string;
}

export interface ScoredCandidate extends Candidate {
  loss: number | null;
  tokensPerS: number | null;
  rank: number | null;
  error?: string;
  /** Set once a KD ranking re-ranked the table: the rank by zero-shot loss. */
  zeroShotRank?: number | null;
  kd?: KdOutcome;
}

/** Losses equal to this many decimals are ties (the paper's 1.380 vs 1.380), broken by tokens/s. */
export const LOSS_TIE_DECIMALS = 3;

/**
 * Ranks scored candidates in place (unscored ones get rank null) and returns them best first.
 * `lossOf` picks the loss ranked by (the zero-shot loss unless told otherwise).
 */
export function rankCandidates(cands: ScoredCandidate[], lossOf: (c: ScoredCandidate) => number | null | undefined = (c) => c.loss): ScoredCandidate[] {
  const loss = (c: ScoredCandidate) => lossOf(c) as number;
  const key = (c: ScoredCandidate) => Number(loss(c).toFixed(LOSS_TIE_DECIMALS));
  const scored = cands.filter((c) => { const l = lossOf(c); return l !== null && l !== undefined && Number.isFinite(l); });
  scored.sort((a, b) => key(a) - key(b) || (b.tokensPerS ?? 0) - (a.tokensPerS ?? 0) || loss(a) - loss(b) || a.id - b.id);
  scored.forEach((c, i) => (c.rank = i + 1));
  const rest = cands.filter((c) => !scored.includes(c));
  for (const c of rest) c.rank = null;
  return [...scored, ...rest];
}

export interface ScoreOptions {
  plan: PlanOptions;
  fingerprint: string;
  /** Where candidate checkpoints are written (one at a time, deleted after scoring). */
  workDir?: string;
  signal?: AbortSignal;
  onCandidate?: (done: number, total: number, c: ScoredCandidate) => void;
}

/** Writes each candidate, scores it with `evaluate`, deletes it. Failures are recorded, not fatal. */
export async function scoreCandidates(ckpt: Checkpoint, scores: ImportanceScores, cands: Candidate[], evaluate: Evaluator, o: ScoreOptions): Promise<ScoredCandidate[]> {
  const out: ScoredCandidate[] = [];
  const work = o.workDir ?? tmpdir();
  for (const [i, c] of cands.entries()) {
    if (o.signal?.aborted) throw o.signal.reason;
    const dir = join(work, `hc-search-${process.pid}-${c.id}`);
    const sc: ScoredCandidate = { ...c, loss: null, tokensPerS: null, rank: null };
    try {
      const plan = buildPlan(ckpt.spec, scores, c.targets, o.fingerprint, o.plan);
      await applyPlan(ckpt, plan, { out: dir, force: true, signal: o.signal, sync: false });
      const r = await evaluate(dir);
      sc.loss = r.loss;
      sc.tokensPerS = r.tokensPerS;
    } catch (e) {
      if (o.signal?.aborted) throw e;
      sc.error = (e as Error).message;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    out.push(sc);
    o.onCandidate?.(i + 1, cands.length, sc);
  }
  return out;
}

/**
 * The ranking after the short KD: candidates with a post-KD loss first, ranked by it (ties by tokens/s,
 * the zero-shot measurement, the same for all), then every other candidate in zero-shot order.
 * The zero-shot rank is kept on each candidate.
 */
export function rankAfterKd(cands: ScoredCandidate[]): ScoredCandidate[] {
  for (const c of cands) c.zeroShotRank = c.rank;
  const distilled = cands.filter((c) => c.kd?.lossAfter !== null && c.kd?.lossAfter !== undefined && Number.isFinite(c.kd.lossAfter));
  const top = rankCandidates(distilled, (c) => c.kd!.lossAfter);
  const rest = rankCandidates(cands.filter((c) => !distilled.includes(c)));
  let r = 0;
  for (const c of [...top, ...rest]) c.rank = c.rank === null ? null : ++r;
  return [...top, ...rest];
}

export interface KdSettings {
  /** The unpruned source: the teacher. */
  teacher: string;
  data: string;
  steps: number;
  batch: number;
  seqLen: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  seed: number;
  device: string;
}

export type TrainFn = (s: TrainSettings, hooks: TrainHooks) => Promise<TrainResult>;

export interface KdOptions extends ScoreOptions {
  kd: KdSettings;
  train: TrainFn;
  onStep?: (doneSteps: number, totalSteps: number, c: ScoredCandidate, loss: number) => void;
  log?: (line: string) => void;
}

/** The TrainSettings of one candidate's short KD: forward KL only (the paper's recovery loss), no checkpoints, no eval. */
export function kdTrainSettings(k: KdSettings, student: string, out: string): TrainSettings {
  const { teacher, data, steps, batch, seqLen, seed, lr, minLr, warmupSteps, device } = k;
  return trainSettings('distill', { student, teacher, data, out, steps, batch, seqLen, seed, lr, minLr, warmupSteps, device, loss: 'kd', evalEvery: 0, evalSamples: 1, saveEvery: 0 });
}

/**
 * Gives each candidate a short KD from the source and scores it again with `evaluate`, one at a time in
 * its own work folder (deleted afterwards, also on failure or cancellation). Candidates get `kd` set in
 * place; a failed KD is recorded, not fatal; cancellation propagates.
 */
export async function distillCandidates(ckpt: Checkpoint, scores: ImportanceScores, cands: ScoredCandidate[], evaluate: Evaluator, o: KdOptions): Promise<void> {
  const work = o.workDir ?? tmpdir();
  const total = cands.length * o.kd.steps;
  for (const [i, c] of cands.entries()) {
    if (o.signal?.aborted) throw o.signal.reason;
    const dir = join(work, `hc-search-kd-${process.pid}-${c.id}`);
    const t0 = performance.now();
    const kd: KdOutcome = { lossFinal: null, lossAfter: null, seconds: 0 };
    try {
      const student = join(dir, 'student');
      const plan = buildPlan(ckpt.spec, scores, c.targets, o.fingerprint, o.plan);
      await applyPlan(ckpt, plan, { out: student, force: true, signal: o.signal, sync: false });
      const r = await o.train(kdTrainSettings(o.kd, student, join(dir, 'run')), {
        signal: o.signal,
        log: o.log,
        onProgress: (p) => o.onStep?.(i * o.kd.steps + p.step, total, c, p.loss),
      });
      kd.lossFinal = r.lastLoss;
      kd.lossAfter = (await evaluate(r.final)).loss;
    } catch (e) {
      if (o.signal?.aborted) throw o.signal.reason ?? e;
      kd.error = (e as Error).message;
    } finally {
      kd.seconds = (performance.now() - t0) / 1000;
      c.kd = kd;
      await rm(dir, { recursive: true, force: true });
    }
    o.onCandidate?.(i + 1, cands.length, c);
  }
}

/** One row of search.json. */
export function candidateRow(spec: HybridModelSpec, c: ScoredCandidate): Record<string, unknown> {
  const d = c.dims;
  const row: Record<string, unknown> = { id: c.id, rank: c.rank, hidden_size: d.hiddenSize };
  if (spec.mlp && spec.pattern.includes('-')) row['ffn_hidden_size'] = d.intermediateSize;
  if (spec.mamba && spec.pattern.includes('M')) {
    row['mamba_num_heads'] = d.mambaNumHeads;
    row['mamba_head_dim'] = d.mambaHeadDim;
  }
  row['num_layers'] = d.keptLayers.length;
  row['params'] = c.params;
  row['loss'] = c.loss;
  row['tokens_per_s'] = c.tokensPerS;
  if (c.zeroShotRank !== undefined) row['zero_shot_rank'] = c.zeroShotRank;
  if (c.kd) {
    row['kd_loss_final'] = c.kd.lossFinal;
    row['loss_after_kd'] = c.kd.lossAfter;
    row['kd_seconds'] = Number(c.kd.seconds.toFixed(3));
    if (c.kd.error) row['kd_error'] = c.kd.error;
  }
  if (c.error) row['error'] = c.error;
  return row;
}
