// The `search` pipeline: enumerate legal candidates near the parameter target, score each by zero-shot
// LM loss (candidates written one at a time to a work folder and deleted), rank them (ties by tokens/s),
// write search.json, and prune the winner when an output folder is given.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HybridCompressError } from '../errors';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { checkpointFingerprint } from '../checkpoint/fingerprint';
import { applyPlan } from './apply';
import { defaultEvaluator, loadEvalRows } from './evaluate';
import { KD_UNAVAILABLE, SEARCH_FILE, type PipelineContext, type SearchJobParams } from './job-params';
import { formatModelOptConfig, modelOptExportConfig, MODELOPT_CONFIG_FILE } from './modelopt';
import { buildPlan, planDims } from './plan';
import { dimsReport, resolveImportance, type PruneReport } from './prune-job';
import { candidateRow, enumerateCandidates, rankCandidates, scoreCandidates, SEARCH_FORMAT, type ScoredCandidate } from './search';
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
  kd: null;
  candidates: Record<string, unknown>[];
  winner: Record<string, unknown> | null;
  notes: string[];
  output?: PruneReport['output'];
}

export async function runSearch(p: SearchJobParams, ctx: PipelineContext): Promise<SearchReport> {
  if (p.kdSteps !== undefined && p.kdSteps > 0) throw new HybridCompressError('OPTION_INVALID', KD_UNAVAILABLE, { option: 'kd-steps' });
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
    if (p.topK !== undefined) notes.push(`--top-k ${p.topK} has no effect without --kd-steps`);

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
    const ranked = rankCandidates([...scored, ...candidates.slice(limit).map((c) => ({ ...c, loss: null, tokensPerS: null, rank: null }))]);
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
      kd: null,
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
      ctx.log(`pruned the winner (#${winner.id}, ${dimsReport(spec, dims).params.toLocaleString('en-US')} parameters) into ${res.dir}`);
    }
    return report;
  } finally {
    await ckpt.close();
  }
}
