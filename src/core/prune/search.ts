// Architecture search (Minitron-SSM §4): the candidates of the search space (search-space.ts) are
// scored by zero-shot LM loss, ranked (ties broken by measured tokens/s), and optionally the top K get a
// short KD from the source and are ranked again by their loss after it.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { HybridModelSpec } from '../arch/spec';
import type { Checkpoint } from '../checkpoint/checkpoint';
import type { ImportanceScores } from '../calibrate/importance-file';
import { buildPlan, type PlanOptions } from './plan';
import { applyPlan } from './apply';
import type { Evaluator } from './evaluate';
import type { Candidate } from './search-space';
import type { TrainHooks, TrainResult, TrainSettings } from '../distill/train-types';
import { trainSettings } from '../distill/settings';

export const SEARCH_FORMAT = 'hybrid-compress/search@1';

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

/** The source layers a kept-layer list leaves out, ascending. */
export function droppedLayers(spec: HybridModelSpec, kept: readonly number[]): number[] {
  const k = new Set(kept);
  return spec.layers.map((l) => l.index).filter((i) => !k.has(i));
}

/**
 * One row of search.json. A listing of the candidates (--candidates-only, no score fields) leaves the
 * dropped layers to the report's per-depth table, so half a million rows stay small.
 */
export function candidateRow(spec: HybridModelSpec, c: Candidate | ScoredCandidate): Record<string, unknown> {
  const d = c.dims;
  const scored = 'loss' in c;
  const row: Record<string, unknown> = scored ? { id: c.id, rank: c.rank, hidden_size: d.hiddenSize } : { id: c.id, hidden_size: d.hiddenSize };
  if (spec.mlp && spec.pattern.includes('-')) row['ffn_hidden_size'] = d.intermediateSize;
  if (spec.mamba && spec.pattern.includes('M')) {
    row['mamba_num_heads'] = d.mambaNumHeads;
    row['mamba_head_dim'] = d.mambaHeadDim;
  }
  if (spec.attention && spec.pattern.includes('*')) row['num_attention_heads'] = d.numAttentionHeads;
  row['num_layers'] = d.keptLayers.length;
  if (scored && d.keptLayers.length < spec.numLayers) row['dropped_layers'] = droppedLayers(spec, d.keptLayers);
  row['params'] = c.params;
  if (!scored) return row;
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
