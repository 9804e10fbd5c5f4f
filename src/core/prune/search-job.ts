// The `search` pipeline: the search's selection (search-select.ts: every legal candidate within the
// tolerance of the budget scored by zero-shot LM loss, optionally the top K given a short KD), search.json,
// and the winner pruned when an output folder is given. The winner is written with its pruned weights,
// not the KD'd ones: the short KD only ranks, and the user distills the winner properly afterwards.
// --candidates-only lists the candidates with their parameter counts and scores nothing.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { checkpointFingerprint } from '../checkpoint/fingerprint';
import type { HybridModelSpec } from '../arch/spec';
import { applyPlan } from './apply';
import { SEARCH_FILE, type PipelineContext, type SearchJobParams } from './job-params';
import { formatModelOptConfig, modelOptExportConfig, MODELOPT_CONFIG_FILE } from './modelopt';
import { buildPlan, planDims, selectLayers } from './plan';
import { dimsReport, resolveImportance, type PruneReport } from './prune-job';
import { candidateRow, droppedLayers, SEARCH_FORMAT, type ScoredCandidate } from './search';
import { searchCandidates, selectArchitecture, type SearchKdReport } from './search-select';
import { formatWidthLimits, gridReport, type SearchBounds, type Enumeration } from './search-space';

export type { SearchKdReport } from './search-select';

export interface SearchReport {
  format: typeof SEARCH_FORMAT;
  source: { dir: string; fingerprint: string | null; params: number; loss: number | null };
  importance: string;
  target_params: number;
  tolerance: number;
  /** Largest cut per width axis (--max-width-pruning), as option text. */
  max_width_pruning: string;
  max_depth_pruning: number;
  grid: Record<string, number[]>;
  grid_size: number;
  within_tolerance: number;
  /** --candidates-only: the layers each searched depth drops (by the layer scores), keyed by num_layers. */
  dropped_layers?: Record<string, number[]>;
  /** Candidates scored (0 with --candidates-only). */
  scored: number;
  /** The rows they were scored on (null with --candidates-only). */
  rows: { count: number; seq_len: number; data: string } | null;
  engine: string | null;
  /** The short KD of the top candidates, or null when --kd-steps was not given. */
  kd: SearchKdReport | null;
  candidates: Record<string, unknown>[];
  winner: Record<string, unknown> | null;
  notes: string[];
  output?: PruneReport['output'];
}

function reportHead(spec: HybridModelSpec, dir: string, fingerprint: string | null, importance: string, bounds: SearchBounds, e: Enumeration) {
  return {
    format: SEARCH_FORMAT,
    source: { dir, fingerprint, params: spec.params.total, loss: null as number | null },
    importance,
    target_params: bounds.targetParams,
    tolerance: bounds.tolerance,
    max_width_pruning: formatWidthLimits(bounds.widthLimits),
    max_depth_pruning: bounds.depthLimit,
    grid: gridReport(e.grid),
    grid_size: e.gridSize,
    within_tolerance: e.candidates.length,
  } as const;
}

/** --candidates-only: the enumeration alone (no forward pass, no fingerprint unless an importance file needs checking). */
async function listCandidates(p: SearchJobParams, ctx: PipelineContext): Promise<SearchReport> {
  const notes: string[] = [];
  const ckpt = await openCheckpoint(p.model);
  try {
    const spec = ckpt.spec;
    const fp = p.importance === 'random' ? undefined : await checkpointFingerprint(ckpt);
    const scores = await resolveImportance(p, spec, fp, notes);
    if (scores.isRandom && spec.numLayers > 1) notes.push(`layer scores are ${scores.source}: the layers a depth candidate drops (and so its parameter count) follow them; give a calibrate run for the real ones`);
    const t0 = performance.now();
    const { bounds, enumeration } = searchCandidates(spec, scores, p, notes);
    ctx.log(`${enumeration.gridSize.toLocaleString('en-US')} grid points, ${enumeration.candidates.length.toLocaleString('en-US')} within ${(bounds.tolerance * 100).toFixed(1)}% (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
    const rows = enumeration.candidates.map((c) => candidateRow(spec, c));
    const dropped: Record<string, number[]> = {};
    for (const n of enumeration.grid.numLayers) if (n < spec.numLayers) dropped[String(n)] = droppedLayers(spec, selectLayers(spec, { numLayers: n }, scores).kept);
    return { ...reportHead(spec, ckpt.dir, fp?.id ?? null, scores.source, bounds, enumeration), dropped_layers: dropped, scored: 0, rows: null, engine: null, kd: null, candidates: rows, winner: null, notes };
  } finally {
    await ckpt.close();
  }
}

export async function runSearch(p: SearchJobParams, ctx: PipelineContext): Promise<SearchReport> {
  if (p.candidatesOnly) return listCandidates(p, ctx);
  const notes: string[] = [];
  const ckpt = await openCheckpoint(p.model);
  try {
    const spec = ckpt.spec;
    const fp = await checkpointFingerprint(ckpt);
    const scores = await resolveImportance(p, spec, fp, notes);
    const planOptions = { mambaHeadRanking: p.mambaHeadRanking, metric: p.metric, sortByImportance: p.sortByImportance };
    const sel = await selectArchitecture(ckpt, scores, fp.id, p, planOptions, ctx, notes);
    const winner: ScoredCandidate = sel.winner;
    if (sel.kd && p.out) notes.push(`--out holds the winner's pruned weights, not the ones after its ${sel.kd.steps}-step KD (that KD only ranks); distill it properly: hybrid-compress distill --teacher ${ckpt.dir} --student ${p.out} --data ${sel.kd.data} --out <run_dir>`);
    const head = reportHead(spec, ckpt.dir, fp.id, scores.source, sel.bounds, sel.enumeration);
    const report: SearchReport = {
      ...head,
      source: { ...head.source, loss: sel.sourceLoss },
      scored: sel.scored,
      rows: { count: sel.rows.ids.length, seq_len: sel.rows.ids[0]!.length, data: sel.rows.source },
      engine: sel.engine,
      kd: sel.kd,
      candidates: sel.ranked.map((c) => candidateRow(spec, c)),
      winner: candidateRow(spec, winner),
      notes,
    };
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
      ctx.log(`pruned the winner (#${winner.id}, ${dimsReport(spec, dims).params.toLocaleString('en-US')} parameters) into ${res.dir}${sel.kd ? ' (its pruned weights, before the ranking KD)' : ''}`);
    }
    return report;
  } finally {
    await ckpt.close();
  }
}
