// The `prune` pipeline: checkpoint + importance + targets (or a saved plan) → plan → streamed write →
// verification (re-open, then zero-shot LM loss before/after). Runs in the job worker (the loss uses the
// inference engine) and returns a JSON-able report.

import { readFileSync } from 'node:fs';
import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import { openCheckpoint, type Checkpoint } from '../checkpoint/checkpoint';
import { checkpointFingerprint } from '../checkpoint/fingerprint';
import { nonFiniteError } from '../checkpoint/finite';
import { applyPlan } from './apply';
import { prunedParams, sourceDims, type PrunedDims } from './config';
import { defaultEvaluator, loadEvalRows } from './evaluate';
import { checkImportanceFingerprint, loadImportance, randomImportance, type ImportanceScores } from '../calibrate/importance-file';
import type { PipelineContext, PruneJobParams } from './job-params';
import { formatModelOptConfig, modelOptExportConfig, MODELOPT_CONFIG_FILE, type ModelOptExportConfig } from './modelopt';
import { buildPlan, planDims, type PruningPlan } from './plan';
import { checkPlan, parsePlan } from './plan-check';
import { enumerateCandidates, mostBalanced } from './search';
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

export async function resolveImportance(p: { importance: string; seed?: number; allowFingerprintMismatch?: boolean }, spec: HybridModelSpec, fingerprint: Awaited<ReturnType<typeof checkpointFingerprint>>, notes: string[]): Promise<ImportanceScores> {
  if (p.importance === 'random') return randomImportance(spec, p.seed ?? 0);
  const scores = await loadImportance(p.importance);
  const warning = checkImportanceFingerprint(scores, fingerprint, p.allowFingerprintMismatch ?? false);
  if (warning) notes.push(warning);
  return scores;
}

const hasWidthOrDepth = (t: PruneTargets) => Object.values(t).some((v) => v !== undefined);

/** Targets after --prune-axis and --target-params. */
function resolveTargets(p: PruneJobParams, spec: HybridModelSpec, scores: ImportanceScores, notes: string[]): PruneTargets {
  let targets = { ...p.targets };
  if (p.pruneAxis) {
    const r = applyPruneAxis(spec, targets, p.pruneAxis);
    targets = r.targets;
    notes.push(r.note);
  }
  if (p.targetParams === undefined) return targets;
  const target = parseTargetParams(p.targetParams, spec.params.total);
  const tolerance = p.tolerance ?? 0.05;
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
    return targets;
  }
  const bounds = { targetParams: target, tolerance, maxWidthPruning: p.maxWidthPruning ?? 0.4, maxDepthPruning: p.maxDepthPruning ?? 0 };
  const { candidates, grid } = enumerateCandidates(spec, scores, bounds);
  const pick = mostBalanced(spec, candidates, target);
  if (!pick) {
    const smallest = prunedParams(spec, { ...sourceDims(spec), hiddenSize: grid.hidden.at(-1)!, intermediateSize: grid.ffn?.at(-1) ?? spec.mlp?.intermediateSize, mambaNumHeads: grid.mambaHeads?.at(-1) ?? spec.mamba?.numHeads, mambaHeadDim: grid.mambaHeadDim?.at(-1) ?? spec.mamba?.headDim });
    throw new HybridCompressError(
      'OPTION_INVALID',
      `--target-params ${p.targetParams}: no architecture on the grid lies within ${(tolerance * 100).toFixed(1)}% of ${target.toLocaleString('en-US')} (with --max-width-pruning ${bounds.maxWidthPruning} the smallest is ${smallest.toLocaleString('en-US')}); raise --max-width-pruning / --max-depth-pruning or --tolerance, or give the dimensions`,
      { option: 'target-params' },
    );
  }
  notes.push(`--target-params ${p.targetParams}: chose the least aggressive of ${candidates.length} grid candidates within ${(tolerance * 100).toFixed(1)}% (${pick.params.toLocaleString('en-US')} parameters); \`search\` ranks them by loss instead`);
  return pick.targets;
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
    if (p.plan) {
      plan = await planFromFile(p, ckpt, fp.id, notes);
      importance = `plan ${p.plan}`;
    } else {
      const scores = await resolveImportance(p, spec, fp, notes);
      importance = scores.source;
      const targets = resolveTargets(p, spec, scores, notes);
      plan = buildPlan(spec, scores, targets, fp.id, { mambaHeadRanking: p.mambaHeadRanking, metric: p.metric, sortByImportance: p.sortByImportance });
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
    for (const n of notes) ctx.log(n, 'warn');
    ctx.log(`plan: ${report.source.params.toLocaleString('en-US')} → ${report.pruned.params.toLocaleString('en-US')} parameters`);
    if (p.dryRun) return report;

    const res = await applyPlan(ckpt, plan, {
      out: p.out!,
      force: p.force,
      signal: ctx.signal,
      extraFiles: p.emitModelOptConfig ? { [MODELOPT_CONFIG_FILE]: formatModelOptConfig(modelopt) } : undefined,
      onProgress: (x) => ctx.progress({ phase: 'write', done: x.done, total: x.total, unit: 'tensors', message: x.tensor }),
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

    if (p.verify === false) report.verification = { skipped: 'disabled (--no-verify)' };
    else if (res.shapeOnly) report.verification = { skipped: 'shape-only checkpoint (no weights to run)' };
    else {
      ctx.progress({ phase: 'verify', done: 0, total: 2, unit: 'models' });
      const rows = await loadEvalRows(ckpt.dir, spec, { data: p.data, rows: p.rows ?? 4, seqLen: p.seqLen ?? 64, seed: p.seed });
      const evaluate = await defaultEvaluator(rows, { device: p.device, log: (l) => ctx.log(l) });
      try {
        const before = await evaluate(ckpt.dir);
        if (!Number.isFinite(before.loss)) throw await nonFiniteError(ckpt, 'source', `its zero-shot loss (${before.loss}) on ${rows.source}`);
        ctx.progress({ phase: 'verify', done: 1, total: 2, unit: 'models' });
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
