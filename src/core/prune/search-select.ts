// The search's selection (Minitron-SSM §4), shared by `search` and `prune --target-params`: enumerate the
// legal candidates within the tolerance of the budget (search-space.ts), score every one by zero-shot LM
// loss on the calibration rows, rank them (ties broken by measured tokens/s), and with --kd-steps give the
// top K a short KD from the source and rank those by their loss after it.

import { existsSync } from 'node:fs';
import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import type { Checkpoint } from '../checkpoint/checkpoint';
import type { ImportanceScores } from '../calibrate/importance-file';
import type { Packing } from '../data/index';
import { TRAIN_DEFAULTS } from '../distill/settings';
import { defaultEvaluator, loadEvalRows, type EvalRows } from './evaluate';
import { defaultTopK, KD_NEEDS_DATA, SEARCH_KD_DEFAULTS, type CommonPruneParams, type PipelineContext, type SearchSpaceParams } from './job-params';
import type { PlanOptions } from './plan';
import { distillCandidates, rankAfterKd, rankCandidates, scoreCandidates, type KdSettings, type ScoredCandidate, type TrainFn } from './search';
import { enumerateCandidates, formatWidthLimits, PAPER_DEPTH_LIMIT, PAPER_WIDTH_LIMITS, parseGridSteps, parseWidthLimits, SEARCH_TOLERANCE, type Enumeration, type SearchBounds } from './search-space';
import { parseTargetParams } from './targets';

export interface SearchKdReport {
  steps: number;
  top_k: number;
  /** How many candidates were distilled (top_k, or fewer when fewer were scored). */
  distilled: number;
  failed: number;
  teacher: string;
  data: string;
  settings: { loss: string; batch: number; seq_len: number; lr: number; min_lr: number; schedule: string; warmup_steps: number; weight_decay: number; clip: number; seed: number };
  seconds: number;
  ranking: string;
  /** What --out holds. */
  out_weights: 'pruned (before KD)';
}

/** The bounds of a search from its options (defaults: the paper's space, search-space.ts). */
export function searchBounds(p: SearchSpaceParams & { targetParams: string }, spec: HybridModelSpec): SearchBounds {
  return {
    targetParams: parseTargetParams(p.targetParams, spec.params.total),
    tolerance: p.tolerance ?? SEARCH_TOLERANCE,
    widthLimits: p.maxWidthPruning !== undefined ? parseWidthLimits(p.maxWidthPruning) : PAPER_WIDTH_LIMITS,
    depthLimit: p.maxDepthPruning ?? PAPER_DEPTH_LIMIT,
    steps: p.gridSteps !== undefined ? parseGridSteps(p.gridSteps) : undefined,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The candidates within the tolerance; refuses a budget no grid point meets, saying what the grid spans. */
export function searchCandidates(spec: HybridModelSpec, scores: ImportanceScores, p: SearchSpaceParams & { targetParams: string }, notes: string[]): { bounds: SearchBounds; enumeration: Enumeration } {
  const bounds = searchBounds(p, spec);
  const enumeration = enumerateCandidates(spec, scores, bounds);
  notes.push(...enumeration.notes);
  if (enumeration.candidates.length === 0) {
    const { min, max } = enumeration.range;
    throw new HybridCompressError(
      'OPTION_INVALID',
      `--target-params ${p.targetParams}: none of the ${fmt(enumeration.gridSize)} grid candidates lies within ${(bounds.tolerance * 100).toFixed(1)}% of ${fmt(bounds.targetParams)} parameters (the grid spans ${fmt(min)} … ${fmt(max)} with --max-width-pruning ${formatWidthLimits(bounds.widthLimits)} --max-depth-pruning ${bounds.depthLimit}); widen --tolerance or the pruning limits, or give the dimensions`,
      { option: 'target-params' },
    );
  }
  return { bounds, enumeration };
}

/**
 * The rows candidates are scored on: --data (with --rows / --seq-len), else the calibration's own rows
 * (its data file read as calibrate read it: the paper scores every candidate on its calibration set),
 * else seeded random tokens.
 */
export async function searchRows(ckpt: Checkpoint, scores: ImportanceScores, p: Pick<CommonPruneParams, 'data' | 'rows' | 'seqLen' | 'seed'>, notes: string[]): Promise<EvalRows> {
  const m = scores.isRandom ? {} : scores.metadata;
  const calData = m['data'] !== undefined && existsSync(m['data']) ? m['data'] : undefined;
  const data = p.data ?? calData;
  const same = data !== undefined && data === calData;
  const num = (k: string) => (same && m[k] !== undefined && Number.isInteger(Number(m[k])) ? Number(m[k]) : undefined);
  const rows = await loadEvalRows(ckpt.dir, ckpt.spec, {
    data,
    rows: p.rows ?? num('rows') ?? 8,
    seqLen: p.seqLen ?? num('seq_len') ?? 128,
    seed: p.seed,
    ...(same ? { packing: m['packing'] as Packing | undefined, shuffle: m['shuffle'] === 'true', dataSeed: num('seed') } : {}),
  });
  if (same && p.data === undefined) notes.push(`candidates scored on the calibration rows (${rows.ids.length} × ${rows.ids[0]!.length} tokens of ${data}, as calibrate read them)`);
  if (rows.random) notes.push('no --data and no calibration data: candidates are scored on random tokens, which ranks nothing useful; give calibration data');
  return rows;
}

export interface SearchSelection {
  bounds: SearchBounds;
  enumeration: Enumeration;
  /** Every candidate, best first (unscored ones last, rank null). */
  ranked: ScoredCandidate[];
  winner: ScoredCandidate;
  rows: EvalRows;
  engine: string | null;
  sourceLoss: number | null;
  scored: number;
  kd: SearchKdReport | null;
}

/** The trainer and its ORT engines, loaded on first use (importing this module must not load onnxruntime). */
export async function loadTrain(): Promise<TrainFn> {
  const [{ train }, { ortTrainStep }, { forwardLogitsSource }] = await Promise.all([import('../distill/trainer'), import('../distill/ort-train-step'), import('../distill/forward-source')]);
  return (s, hooks) => train(s, { step: ortTrainStep, forward: forwardLogitsSource }, hooks);
}

/** The short KD of a candidate: `kdSteps` steps from the source on the rows' data file, at the search's defaults. */
export function searchKdSettings(teacher: string, rows: EvalRows, p: Pick<CommonPruneParams, 'seed' | 'device'> & { kdSteps: number; kdLr?: number }): KdSettings {
  const lr = p.kdLr ?? TRAIN_DEFAULTS.distill.lr;
  return {
    teacher,
    data: rows.source,
    steps: p.kdSteps,
    batch: SEARCH_KD_DEFAULTS.batch,
    seqLen: rows.ids[0]!.length,
    lr,
    minLr: lr * SEARCH_KD_DEFAULTS.minLrRatio,
    warmupSteps: Math.floor(p.kdSteps / 10),
    seed: p.seed ?? 0,
    device: p.device ?? 'auto',
  };
}

/** Scores every candidate within the tolerance (or the --max-candidates closest), then the optional short KD. */
export async function selectArchitecture(
  ckpt: Checkpoint,
  scores: ImportanceScores,
  fingerprint: string,
  p: CommonPruneParams & SearchSpaceParams & { targetParams: string },
  plan: PlanOptions,
  ctx: PipelineContext,
  notes: string[],
): Promise<SearchSelection> {
  const kdSteps = p.kdSteps ?? 0;
  const { bounds, enumeration } = searchCandidates(ckpt.spec, scores, p, notes);
  const { candidates } = enumeration;
  const rows = await searchRows(ckpt, scores, p, notes);
  if (kdSteps > 0 && rows.random) throw new HybridCompressError('OPTION_INVALID', KD_NEEDS_DATA, { option: 'data' });
  const limit = p.maxCandidates ?? candidates.length;
  const chosen = candidates.slice(0, limit);
  ctx.log(`${fmt(enumeration.gridSize)} grid points, ${fmt(candidates.length)} within ${(bounds.tolerance * 100).toFixed(1)}% of ${fmt(bounds.targetParams)} parameters; scoring ${fmt(chosen.length)} on ${rows.ids.length} rows × ${rows.ids[0]!.length} tokens`);
  if (candidates.length > limit) notes.push(`scored the ${limit} candidates closest to the target of ${candidates.length} (--max-candidates); the paper scores all of them`);
  if (p.topK !== undefined && kdSteps === 0) notes.push(`--top-k ${p.topK} has no effect without --kd-steps`);

  const evaluate = await defaultEvaluator(rows, { device: p.device, log: (l) => ctx.log(l) });
  let sourceLoss: number | null = null;
  let engine: string | null = null;
  try {
    const r = await evaluate(ckpt.dir);
    sourceLoss = r.loss;
    engine = r.engine;
  } catch (e) {
    throw new HybridCompressError('RUNTIME_ERROR', `cannot score candidates: ${(e as Error).message}`);
  }
  const scored = await scoreCandidates(ckpt, scores, chosen, evaluate, {
    plan,
    fingerprint,
    workDir: p.workDir,
    signal: ctx.signal,
    onCandidate: (done, total, c) => {
      ctx.progress({ phase: 'score', done, total, unit: 'candidates', message: c.loss !== null ? `#${c.id} loss ${c.loss.toFixed(4)}` : `#${c.id} failed` });
      if (c.error) ctx.log(`candidate #${c.id} failed: ${c.error}`, 'warn');
    },
  });
  let ranked = rankCandidates([...scored, ...candidates.slice(limit).map((c) => ({ ...c, loss: null, tokensPerS: null, rank: null }))]);
  const scoredCount = scored.filter((c) => c.loss !== null).length;
  let kd: SearchKdReport | null = null;
  if (kdSteps > 0) {
    const topK = p.topK ?? defaultTopK(scoredCount);
    const top = ranked.filter((c) => c.rank !== null).slice(0, topK);
    if (top.length < topK) notes.push(`--top-k ${topK}: only ${top.length} candidates were scored, so only those were distilled`);
    const settings = searchKdSettings(ckpt.dir, rows, { ...p, kdSteps });
    const lr = settings.lr;
    ctx.log(`short KD of the top ${top.length}${p.topK === undefined ? ` (${Math.round(SEARCH_KD_DEFAULTS.topKFraction * 100)}% of the scored, as the paper's 22 of over a hundred)` : ''}: ${kdSteps} steps each, batch ${settings.batch} × ${settings.seqLen} tokens, lr ${lr} → ${settings.minLr} (cosine, warmup ${settings.warmupSteps}), teacher ${ckpt.dir}`);
    const t0 = performance.now();
    await distillCandidates(ckpt, scores, top, evaluate, {
      plan,
      fingerprint,
      workDir: p.workDir,
      signal: ctx.signal,
      kd: settings,
      train: await loadTrain(),
      onStep: (done, total, c, loss) => ctx.progress({ phase: 'kd', done, total, unit: 'steps', message: `#${c.id} kd loss ${loss.toFixed(4)}` }),
      onCandidate: (_done, _total, c) => {
        if (c.kd?.error) ctx.log(`KD of candidate #${c.id} failed: ${c.kd.error}`, 'warn');
        else ctx.log(`candidate #${c.id}: loss ${c.loss?.toFixed(4)} → ${c.kd?.lossAfter?.toFixed(4)} after ${kdSteps} KD steps (kd loss ${c.kd?.lossFinal?.toFixed(4)})`);
      },
    });
    const failed = top.filter((c) => c.kd?.lossAfter === null || c.kd?.lossAfter === undefined).length;
    if (failed === top.length) notes.push(`the KD failed for every candidate (first error: ${top[0]?.kd?.error ?? 'unknown'}); the ranking is zero-shot only`);
    else if (failed > 0) notes.push(`the KD failed for ${failed} of ${top.length} candidates; they rank after the distilled ones`);
    ranked = rankAfterKd(ranked);
    kd = {
      steps: kdSteps,
      top_k: topK,
      distilled: top.length - failed,
      failed,
      teacher: ckpt.dir,
      data: rows.source,
      settings: { loss: 'forward KL (τ = 1)', batch: settings.batch, seq_len: settings.seqLen, lr: settings.lr, min_lr: settings.minLr, schedule: 'cosine', warmup_steps: settings.warmupSteps, weight_decay: 0.01, clip: 1, seed: settings.seed },
      seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
      ranking: 'distilled candidates by loss_after_kd (ties by tokens/s), then the rest by zero-shot loss',
      out_weights: 'pruned (before KD)',
    };
  }
  const winner = ranked[0]?.rank === 1 ? ranked[0] : undefined;
  if (!winner) throw new HybridCompressError('RUNTIME_ERROR', `no candidate could be scored (first error: ${scored.find((c) => c.error)?.error ?? 'unknown'})`);
  return { bounds, enumeration, ranked, winner, rows, engine, sourceLoss, scored: scoredCount, kd };
}
