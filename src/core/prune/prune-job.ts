// The `prune` pipeline: checkpoint + importance + targets (or a saved plan) → plan → streamed write →
// verification (re-open, then zero-shot LM loss before/after). Runs in the job worker (the loss uses the
// inference engine) and returns a JSON-able report.

import { readFileSync } from 'node:fs';
import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import { openCheckpoint, type Checkpoint } from '../checkpoint/checkpoint';
import { checkpointFingerprint, type Fingerprint } from '../checkpoint/fingerprint';
import { nonFiniteError } from '../checkpoint/finite';
import { applyPlan } from './apply';
import { ProgressMeter } from '../jobs/progress-meter';
import { prunedParams, sourceDims, type PrunedDims } from './config';
import { defaultEvaluator, loadEvalRows } from './evaluate';
import { checkImportanceFingerprint, loadImportance, randomImportance, type ImportanceScores } from '../calibrate/importance-file';
import type { PipelineContext, PruneJobParams } from './job-params';
import { formatModelOptConfig, modelOptExportConfig, MODELOPT_CONFIG_FILE, type ModelOptExportConfig } from './modelopt';
import { buildPlan, planDims, type PruningPlan } from './plan';
import { checkPlan, parsePlan } from './plan-check';
import { candidateRow } from './search';
import { selectArchitecture } from './search-select';
import { SEARCH_TOLERANCE } from './search-space';
import { applyPruneAxis, parseTargetParams, TARGET_OPTIONS, type PruneTargets } from './targets';

export interface DimsReport {
  hidden_size: number;
  ffn_hidden_size?: number;
  mamba_num_heads?: number;
  mamba_head_dim?: number;
  num_attention_heads?: number;
  num_layers: number;
  params: number;
}

export interface PruneReport {
  source: { dir: string; fingerprint: string } & DimsReport;
  pruned: DimsReport;
  importance: string;
  dropped_layers: number[];
  config_changes: Record<string, unknown>;
  modelopt_export_config: ModelOptExportConfig;
  notes: string[];
  /** With --target-params and no dimensions: how the search chose the architecture. */
  search?: PruneSearchReport;
  output?: { dir: string; files: string[]; bytes: number; seconds: number; shape_only: boolean; copied_files: string[]; dropped_tensors: string[] };
  verification?: { rows: number; seq_len: number; data: string; loss_before: number; loss_after: number; engine: string } | { skipped: string };
}

export function dimsReport(spec: HybridModelSpec, d: PrunedDims): DimsReport {
  const kinds = new Set(spec.pattern);
  const r: DimsReport = { hidden_size: d.hiddenSize, num_layers: d.keptLayers.length, params: prunedParams(spec, d) };
  if (kinds.has('-')) r.ffn_hidden_size = d.intermediateSize;
  if (kinds.has('M')) {
    r.mamba_num_heads = d.mambaNumHeads;
    r.mamba_head_dim = d.mambaHeadDim;
  }
  if (kinds.has('*')) r.num_attention_heads = d.numAttentionHeads;
  return r;
}

/** The scores of --importance; `fingerprint` (needed unless random) is the model's, checked against the file's. */
export async function resolveImportance(p: { importance: string; seed?: number; allowFingerprintMismatch?: boolean }, spec: HybridModelSpec, fingerprint: Fingerprint | undefined, notes: string[]): Promise<ImportanceScores> {
  if (p.importance === 'random') return randomImportance(spec, p.seed ?? 0);
  if (!fingerprint) throw new Error('resolveImportance: an importance file needs the model fingerprint');
  const scores = await loadImportance(p.importance);
  const warning = checkImportanceFingerprint(scores, fingerprint, p.allowFingerprintMismatch ?? false);
  if (warning) notes.push(warning);
  return scores;
}

const hasWidthOrDepth = (t: PruneTargets) => Object.values(t).some((v) => v !== undefined);

/** What `prune --target-params` chose: the search's winner (search-select.ts) and how it was ranked. */
export interface PruneSearchReport {
  ranking: 'zero-shot loss' | 'loss after the short KD';
  within_tolerance: number;
  scored: number;
  rows: { count: number; seq_len: number; data: string };
  kd_steps: number;
  winner: Record<string, unknown>;
  /** The next best candidates (up to 5), for comparison. */
  runners_up: Record<string, unknown>[];
}

/** Targets after --prune-axis and --target-params (the search's winner when no dimension is given). */
async function resolveTargets(p: PruneJobParams, ckpt: Checkpoint, scores: ImportanceScores, fingerprint: string, ctx: PipelineContext, notes: string[]): Promise<{ targets: PruneTargets; search?: PruneSearchReport }> {
  const spec = ckpt.spec;
  let targets = { ...p.targets };
  if (p.pruneAxis) {
    const r = applyPruneAxis(spec, targets, p.pruneAxis);
    targets = r.targets;
    notes.push(r.note);
  }
  if (p.targetParams === undefined) return { targets };
  const target = parseTargetParams(p.targetParams, spec.params.total);
  const tolerance = p.tolerance ?? SEARCH_TOLERANCE;
  if (hasWidthOrDepth(p.targets)) {
    // Explicit targets: --target-params is a guard on what they give.
    const plan = buildPlan(spec, scores, targets, 'check', {});
    const params = prunedParams(spec, planDims(spec, plan));
    if (Math.abs(params - target) > tolerance * target) {
      throw new HybridCompressError(
        'OPTION_INVALID',
        `--target-params ${p.targetParams}: the given targets give ${params.toLocaleString('en-US')} parameters, more than ${(tolerance * 100).toFixed(1)}% away from ${target.toLocaleString('en-US')}; adjust the targets, drop --target-params, or widen --tolerance`,
        { option: 'target-params' },
      );
    }
    return { targets };
  }
  const plan = { mambaHeadRanking: p.mambaHeadRanking, metric: p.metric, sortByImportance: p.sortByImportance };
  const sel = await selectArchitecture(ckpt, scores, fingerprint, { ...p, targetParams: p.targetParams }, plan, ctx, notes);
  const ranking = sel.kd ? 'loss after the short KD' : 'zero-shot loss';
  const w = sel.winner;
  const loss = sel.kd ? w.kd?.lossAfter : w.loss;
  notes.push(
    `--target-params ${p.targetParams}: pruned to the search's winner, #${w.id} of ${sel.enumeration.candidates.length} candidates within ${(sel.bounds.tolerance * 100).toFixed(1)}% (${w.params.toLocaleString('en-US')} parameters), ranked by ${ranking}${loss !== null && loss !== undefined ? ` ${loss.toFixed(4)}` : ''} on ${sel.rows.ids.length} rows × ${sel.rows.ids[0]!.length} tokens${sel.kd ? ` after ${sel.kd.steps} KD steps of the top ${sel.kd.top_k}` : '; zero-shot only (--kd-steps N adds the paper\'s short KD of the top candidates)'}`,
  );
  const search: PruneSearchReport = {
    ranking,
    within_tolerance: sel.enumeration.candidates.length,
    scored: sel.scored,
    rows: { count: sel.rows.ids.length, seq_len: sel.rows.ids[0]!.length, data: sel.rows.source },
    kd_steps: sel.kd?.steps ?? 0,
    winner: candidateRow(spec, w),
    runners_up: sel.ranked.slice(1, 6).filter((c) => c.rank !== null).map((c) => candidateRow(spec, c)),
  };
  return { targets: w.targets, search };
}

async function planFromFile(p: PruneJobParams, ckpt: Checkpoint, fingerprint: string, notes: string[]): Promise<PruningPlan> {
  const file = p.plan!;
  const given = Object.entries(p.targets).filter(([, v]) => v !== undefined).map(([k]) => (k === 'dropLayers' ? 'drop-layers' : TARGET_OPTIONS[k as keyof typeof TARGET_OPTIONS]));
  if (given.length > 0 || p.targetParams !== undefined || p.pruneAxis !== undefined) {
    throw new HybridCompressError('OPTION_INVALID', `--plan applies a saved plan as it is; drop --${[...given, ...(p.targetParams ? ['target-params'] : []), ...(p.pruneAxis ? ['prune-axis'] : [])].join(', --')}`, { option: 'plan' });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new HybridCompressError('OPTION_INVALID', `--plan ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { option: 'plan', file });
  }
  const plan = parsePlan(text, file);
  checkPlan(ckpt.spec, plan, file);
  if (plan.source !== fingerprint) {
    const msg = `${file} was made for model ${plan.source}, but this model is ${fingerprint}`;
    if (!p.allowFingerprintMismatch) throw new HybridCompressError('DATA_INVALID', `${msg}; pass --allow-fingerprint-mismatch to apply it anyway`, { file, option: 'plan' });
    notes.push(msg);
  }
  return { ...plan, source: fingerprint };
}

export async function runPrune(p: PruneJobParams, ctx: PipelineContext): Promise<PruneReport> {
  const notes: string[] = [];
  const ckpt = await openCheckpoint(p.model);
  try {
    const spec = ckpt.spec;
    ctx.progress({ phase: 'fingerprint', done: 0, total: 1, unit: 'model' });
    const fp = await checkpointFingerprint(ckpt);
    ctx.progress({ phase: 'fingerprint', done: 1, total: 1, unit: 'model' });
    let plan: PruningPlan;
    let importance: string;
    let search: PruneSearchReport | undefined;
    if (p.plan) {
      plan = await planFromFile(p, ckpt, fp.id, notes);
      importance = `plan ${p.plan}`;
    } else {
      const scores = await resolveImportance(p, spec, fp, notes);
      importance = scores.source;
      const resolved = await resolveTargets(p, ckpt, scores, fp.id, ctx, notes);
      search = resolved.search;
      plan = buildPlan(spec, scores, resolved.targets, fp.id, { mambaHeadRanking: p.mambaHeadRanking, metric: p.metric, sortByImportance: p.sortByImportance });
    }
    const dims = planDims(spec, plan);
    const modelopt = modelOptExportConfig(spec, dims);
    if (plan.dropped_layers.length > 0 && p.emitModelOptConfig) notes.push('ModelOpt chooses the dropped layers by its own depth ranking; its num_layers gives the same depth, not necessarily the same layers');
    const report: PruneReport = {
      source: { dir: ckpt.dir, fingerprint: fp.id, ...dimsReport(spec, sourceDims(spec)) },
      pruned: dimsReport(spec, dims),
      importance,
      dropped_layers: plan.dropped_layers,
      config_changes: plan.config_changes,
      modelopt_export_config: modelopt,
      notes,
    };
    if (search) report.search = search;
    for (const n of notes) ctx.log(n, 'warn');
    ctx.log(`plan: ${report.source.params.toLocaleString('en-US')} → ${report.pruned.params.toLocaleString('en-US')} parameters`);
    if (p.dryRun) return report;

    // The check's rows (data file vs tokenizer) are read before the write, so a bad --data fails in seconds.
    const verify = p.verify !== false;
    const rows = verify ? await loadEvalRows(ckpt.dir, spec, { data: p.data, rows: p.rows ?? 4, seqLen: p.seqLen ?? 64, seed: p.seed }) : undefined;
    const writeMeter = new ProgressMeter('write', 0, 'MB');
    const res = await applyPlan(ckpt, plan, {
      out: p.out!,
      force: p.force,
      signal: ctx.signal,
      extraFiles: p.emitModelOptConfig ? { [MODELOPT_CONFIG_FILE]: formatModelOptConfig(modelopt) } : undefined,
      onProgress: (x) => ctx.progress({ ...writeMeter.update(Math.round(x.bytesWritten / 1e6), { total: Math.round(x.bytesTotal / 1e6) }), message: x.tensor }),
      log: (l) => ctx.log(l),
    });
    report.output = {
      dir: res.dir,
      files: res.files,
      bytes: res.bytesTotal,
      seconds: res.seconds,
      shape_only: res.shapeOnly,
      copied_files: res.copiedFiles,
      dropped_tensors: res.droppedTensors,
    };
    if (res.droppedTensors.length > 0) {
      notes.push(`not carried over (not described by config.json): ${res.droppedTensors.slice(0, 3).join(', ')}${res.droppedTensors.length > 3 ? ', …' : ''}`);
      ctx.log(notes.at(-1)!, 'warn');
    }

    if (!rows) report.verification = { skipped: 'disabled (--no-verify)' };
    else if (res.shapeOnly) report.verification = { skipped: 'shape-only checkpoint (no weights to run)' };
    else {
      // Layer-streamed models report each layer (with an ETA); whole models one step per model.
      const meters = { before: new ProgressMeter('verify', 0, 'steps'), after: new ProgressMeter('verify', 0, 'steps') };
      let which: keyof typeof meters = 'before';
      const message = () => `zero-shot loss ${which} pruning`;
      const evaluate = await defaultEvaluator(rows, { device: p.device, log: (l) => ctx.log(l), onStep: (done, total) => ctx.progress({ ...meters[which].update(done, { total }), message: message() }) });
      try {
        ctx.progress({ phase: 'verify', done: 0, total: 2, unit: 'models', message: message() });
        const before = await evaluate(ckpt.dir);
        if (!Number.isFinite(before.loss)) throw await nonFiniteError(ckpt, 'source', `its zero-shot loss (${before.loss}) on ${rows.source}`);
        which = 'after';
        ctx.progress({ phase: 'verify', done: 1, total: 2, unit: 'models', message: message() });
        const after = await evaluate(res.dir);
        ctx.progress({ phase: 'verify', done: 2, total: 2, unit: 'models' });
        if (!Number.isFinite(after.loss)) throw new HybridCompressError('NON_FINITE', `the pruned model's zero-shot loss is ${after.loss} on ${rows.source}: the output at ${res.dir} does not run correctly`);
        report.verification = { rows: rows.ids.length, seq_len: rows.ids[0]!.length, data: rows.source, loss_before: before.loss, loss_after: after.loss, engine: after.engine };
      } catch (e) {
        if (e instanceof HybridCompressError && e.code === 'NON_FINITE') throw e;
        report.verification = { skipped: `forward check not run: ${(e as Error).message}` };
      }
    }
    return report;
  } finally {
    await ckpt.close();
  }
}
