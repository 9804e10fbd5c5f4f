// The `search` pipeline: enumerate legal candidates near the parameter target, score each by zero-shot
// LM loss (candidates written one at a time to a work folder and deleted), rank them (ties by tokens/s),
// optionally give the top K a short KD from the source and rank those by their loss after it (the paper's
// "critical for getting a reliable ranking"), write search.json, and prune the winner when an output
// folder is given. The winner is written with its pruned weights, not the KD'd ones: the short KD only
// ranks, and the user distills the winner properly afterwards.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HybridCompressError } from '../errors';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { checkpointFingerprint } from '../checkpoint/fingerprint';
import { applyPlan } from './apply';
import { defaultEvaluator, loadEvalRows } from './evaluate';
import { KD_NEEDS_DATA, SEARCH_FILE, SEARCH_KD_DEFAULTS, type PipelineContext, type SearchJobParams } from './job-params';
import { formatModelOptConfig, modelOptExportConfig, MODELOPT_CONFIG_FILE } from './modelopt';
import { buildPlan, planDims } from './plan';
import { dimsReport, resolveImportance, type PruneReport } from './prune-job';
import { candidateRow, distillCandidates, enumerateCandidates, rankAfterKd, rankCandidates, scoreCandidates, SEARCH_FORMAT, type KdSettings, type ScoredCandidate, type TrainFn } from './search';
import { parseTargetParams } from './targets';

const GRID_KEYS = { hidden: 'hidden_size', ffn: 'ffn_hidden_size', mambaHeads: 'mamba_num_heads', mambaHeadDim: 'mamba_head_dim', layers: 'num_layers' } as const;

export interface SearchReport {
  format: typeof SEARCH_FORMAT;
  source: { dir: string; fingerprint: string; params: number; loss: number | null };
  importance: string;
  target_params: number;
  tolerance: number;
  max_width_pruning: number;
  max_depth_pruning: number;
  grid: Record<string, number[]>;
  grid_size: number;
  within_tolerance: number;
  scored: number;
  rows: { count: number; seq_len: number; data: string };
  engine: string | null;
  /** The short KD of the top candidates, or null when --kd-steps was not given. */
  kd: SearchKdReport | null;
  candidates: Record<string, unknown>[];
  winner: Record<string, unknown> | null;
  notes: string[];
  output?: PruneReport['output'];
}

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

/** The trainer and its ORT engines, loaded on first use (importing this module must not load onnxruntime). */
async function loadTrain(): Promise<TrainFn> {
  const [{ train }, { ortTrainStep }, { forwardLogitsSource }] = await Promise.all([import('../distill/trainer'), import('../distill/ort-train-step'), import('../distill/forward-source')]);
  return (s, hooks) => train(s, { step: ortTrainStep, forward: forwardLogitsSource }, hooks);
}

export async function runSearch(p: SearchJobParams, ctx: PipelineContext): Promise<SearchReport> {
  const kdSteps = p.kdSteps ?? 0;
  if (kdSteps > 0 && !p.data) throw new HybridCompressError('OPTION_INVALID', KD_NEEDS_DATA, { option: 'data' });
  const notes: string[] = [];
  const ckpt = await openCheckpoint(p.model);
  try {
    const spec = ckpt.spec;
    const target = parseTargetParams(p.targetParams, spec.params.total);
    const bounds = { targetParams: target, tolerance: p.tolerance ?? 0.05, maxWidthPruning: p.maxWidthPruning ?? 0.4, maxDepthPruning: p.maxDepthPruning ?? 0.2 };
    const fp = await checkpointFingerprint(ckpt);
    const scores = await resolveImportance(p, spec, fp, notes);
    const { grid, gridSize, candidates } = enumerateCandidates(spec, scores, bounds);
    ctx.log(`${gridSize} grid points, ${candidates.length} within ${(bounds.tolerance * 100).toFixed(1)}% of ${target.toLocaleString('en-US')} parameters`);
    if (candidates.length === 0) {
      throw new HybridCompressError(
        'OPTION_INVALID',
        `--target-params ${p.targetParams}: none of the ${gridSize} grid candidates lies within ${(bounds.tolerance * 100).toFixed(1)}% of ${target.toLocaleString('en-US')} parameters; widen --tolerance or --max-width-pruning / --max-depth-pruning`,
        { option: 'target-params' },
      );
    }
    const limit = p.maxCandidates ?? 20;
    const chosen = candidates.slice(0, limit);
    if (candidates.length > limit) notes.push(`scored the ${limit} candidates closest to the target of ${candidates.length} (raise --max-candidates to score more)`);
    if (p.topK !== undefined && kdSteps === 0) notes.push(`--top-k ${p.topK} has no effect without --kd-steps`);

    const rows = await loadEvalRows(ckpt.dir, spec, { data: p.data, rows: p.rows ?? 8, seqLen: p.seqLen ?? 128, seed: p.seed });
    if (rows.random) notes.push('no --data: candidates are scored on random tokens, which ranks nothing useful; give calibration data');
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
    const planOptions = { mambaHeadRanking: p.mambaHeadRanking, metric: p.metric, sortByImportance: p.sortByImportance };
    const scored: ScoredCandidate[] = await scoreCandidates(ckpt, scores, chosen, evaluate, {
      plan: planOptions,
      fingerprint: fp.id,
      workDir: p.workDir,
      signal: ctx.signal,
      onCandidate: (done, total, c) => {
        ctx.progress({ phase: 'score', done, total, unit: 'candidates', message: c.loss !== null ? `#${c.id} loss ${c.loss.toFixed(4)}` : `#${c.id} failed` });
        if (c.error) ctx.log(`candidate #${c.id} failed: ${c.error}`, 'warn');
      },
    });
    let ranked = rankCandidates([...scored, ...candidates.slice(limit).map((c) => ({ ...c, loss: null, tokensPerS: null, rank: null }))]);
    let kdReport: SearchKdReport | null = null;
    if (kdSteps > 0) {
      const topK = p.topK ?? SEARCH_KD_DEFAULTS.topK;
      const top = ranked.filter((c) => c.rank !== null).slice(0, topK);
      if (top.length < topK) notes.push(`--top-k ${topK}: only ${top.length} candidates were scored, so only those were distilled`);
      const lr = p.kdLr ?? SEARCH_KD_DEFAULTS.lr;
      const kd: KdSettings = {
        teacher: ckpt.dir,
        data: p.data!,
        steps: kdSteps,
        batch: SEARCH_KD_DEFAULTS.batch,
        seqLen: rows.ids[0]!.length,
        lr,
        minLr: lr * SEARCH_KD_DEFAULTS.minLrRatio,
        warmupSteps: Math.floor(kdSteps / 10),
        seed: p.seed ?? 0,
        device: p.device ?? 'auto',
      };
      ctx.log(`short KD of the top ${top.length}: ${kdSteps} steps each, batch ${kd.batch} × ${kd.seqLen} tokens, lr ${lr} → ${kd.minLr} (cosine, warmup ${kd.warmupSteps}), teacher ${ckpt.dir}`);
      const t0 = performance.now();
      await distillCandidates(ckpt, scores, top, evaluate, {
        plan: planOptions,
        fingerprint: fp.id,
        workDir: p.workDir,
        signal: ctx.signal,
        kd,
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
      kdReport = {
        steps: kdSteps,
        top_k: topK,
        distilled: top.length - failed,
        failed,
        teacher: ckpt.dir,
        data: p.data!,
        settings: { loss: 'forward KL (τ = 1)', batch: kd.batch, seq_len: kd.seqLen, lr: kd.lr, min_lr: kd.minLr, schedule: 'cosine', warmup_steps: kd.warmupSteps, weight_decay: 0.01, clip: 1, seed: kd.seed },
        seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
        ranking: 'distilled candidates by loss_after_kd (ties by tokens/s), then the rest by zero-shot loss',
        out_weights: 'pruned (before KD)',
      };
      if (p.out) notes.push(`--out holds the winner's pruned weights, not the ones after its ${kdSteps}-step KD (that KD only ranks); distill it properly: hybrid-compress distill --teacher ${ckpt.dir} --student ${p.out} --data ${p.data} --out <run_dir>`);
    }
    const winner = ranked[0]?.rank === 1 ? ranked[0] : undefined;
    const report: SearchReport = {
      format: SEARCH_FORMAT,
      source: { dir: ckpt.dir, fingerprint: fp.id, params: spec.params.total, loss: sourceLoss },
      importance: scores.source,
      target_params: target,
      tolerance: bounds.tolerance,
      max_width_pruning: bounds.maxWidthPruning,
      max_depth_pruning: bounds.maxDepthPruning,
      grid: Object.fromEntries(Object.entries(grid).map(([k, v]) => [GRID_KEYS[k as keyof typeof GRID_KEYS], v as number[]])),
      grid_size: gridSize,
      within_tolerance: candidates.length,
      scored: scored.filter((c) => c.loss !== null).length,
      rows: { count: rows.ids.length, seq_len: rows.ids[0]!.length, data: rows.source },
      engine,
      kd: kdReport,
      candidates: ranked.map((c) => candidateRow(spec, c)),
      winner: winner ? candidateRow(spec, winner) : null,
      notes,
    };
    if (!winner) throw new HybridCompressError('RUNTIME_ERROR', `no candidate could be scored (first error: ${scored.find((c) => c.error)?.error ?? 'unknown'})`);
    const text = JSON.stringify(report, null, 2) + '\n';
    if (p.report) {
      await mkdir(dirname(p.report), { recursive: true });
      await writeFile(p.report, text);
    }
    if (p.out) {
      const plan = buildPlan(spec, scores, winner.targets, fp.id, planOptions);
      const dims = planDims(spec, plan);
      const extra: Record<string, string> = { [SEARCH_FILE]: text };
      if (p.emitModelOptConfig) extra[MODELOPT_CONFIG_FILE] = formatModelOptConfig(modelOptExportConfig(spec, dims));
      const res = await applyPlan(ckpt, plan, {
        out: p.out,
        force: p.force,
        signal: ctx.signal,
        extraFiles: extra,
        onProgress: (x) => ctx.progress({ phase: 'write', done: x.done, total: x.total, unit: 'tensors', message: x.tensor }),
      });
      report.output = { dir: res.dir, files: res.files, bytes: res.bytesTotal, seconds: res.seconds, shape_only: res.shapeOnly, copied_files: res.copiedFiles, dropped_tensors: res.droppedTensors };
      ctx.log(`pruned the winner (#${winner.id}, ${dimsReport(spec, dims).params.toLocaleString('en-US')} parameters) into ${res.dir}${kdReport ? ' (its pruned weights, before the ranking KD)' : ''}`);
    }
    return report;
  } finally {
    await ckpt.close();
  }
}
