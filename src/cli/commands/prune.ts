// `hybrid-compress prune`: group-aware width/depth pruning of a checkpoint into a new folder. Options are
// checked here against the model's headers first (instant rejection of illegal targets, with the legal
// nearby values), then the work runs as a "prune" job in the worker, recorded as a run folder under
// <cwd>/.hybrid-compress/runs (launchPrune) so the extension's Runs tree lists it.

import { resolve } from 'node:path';
import type { Command, CommandContext } from '../command';
import { optEnum, optInt, optString, parseCommandArgs, requirePositional, type OptionSpec } from '../args';
import { createProgressRenderer } from '../progress';
import { HybridCompressError } from '../../core/errors';
import { openCheckpoint } from '../../core/checkpoint/checkpoint';
import { launchPrune, type PipelineLaunch } from '../../core/prune/launch';
import type { JobHandlers } from '../../core/jobs/launcher';
import { ENGINE_DEVICES, type CommonPruneParams, type PruneJobParams } from '../../core/prune/job-params';
import { checkOutputPath } from '../../core/prune/output-dir';
import type { DimsReport, PruneReport } from '../../core/prune/prune-job';
import { applyPruneAxis, checkTargets, parseTargetParams, type PruneTargets } from '../../core/prune/targets';

const usage =
  'hybrid-compress prune <model_dir> --importance <run_dir_or_file|random> --out <dir> [--seed S] ' +
  '[--hidden-size N] [--ffn-hidden-size N] [--mamba-num-heads N] [--mamba-head-dim N] [--num-attention-heads N] ' +
  '[--num-layers N | --drop-layers i,j] [--target-params X [--tolerance 5%] [--max-width-pruning 0.4] [--max-depth-pruning 0]] ' +
  '[--mamba-head-ranking group|global] [--metric activation|flap] [--prune-axis heads|channels] [--sort-by-importance] ' +
  '[--plan pruning_plan.json] [--emit-modelopt-config] [--allow-fingerprint-mismatch] [--data FILE] [--rows 4] [--seq-len 64] [--device auto|cpu|webgpu|cuda] [--no-verify] ' +
  '[--dry-run] [--force] [--json]';

/** Options shared with `search`. */
export const COMMON_OPTIONS: OptionSpec = {
  importance: { type: 'string' },
  seed: { type: 'string' },
  'mamba-head-ranking': { type: 'string' },
  metric: { type: 'string' },
  'sort-by-importance': { type: 'boolean' },
  'allow-fingerprint-mismatch': { type: 'boolean' },
  'emit-modelopt-config': { type: 'boolean' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  data: { type: 'string' },
  rows: { type: 'string' },
  'seq-len': { type: 'string' },
  device: { type: 'string' },
  out: { type: 'string' },
  tolerance: { type: 'string' },
  'target-params': { type: 'string' },
  'max-width-pruning': { type: 'string' },
  'max-depth-pruning': { type: 'string' },
};

const OPTIONS: OptionSpec = {
  ...COMMON_OPTIONS,
  'hidden-size': { type: 'string' },
  'ffn-hidden-size': { type: 'string' },
  'mamba-num-heads': { type: 'string' },
  'mamba-head-dim': { type: 'string' },
  'num-attention-heads': { type: 'string' },
  'num-layers': { type: 'string' },
  'drop-layers': { type: 'string' },
  'prune-axis': { type: 'string' },
  plan: { type: 'string' },
  'no-verify': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
};

type Values = Record<string, string | boolean | string[] | undefined>;

/** "5%" or "0.05" → 0.05. */
export function parseFraction(values: Values, name: string, def: number): number {
  const v = optString(values, name);
  if (v === undefined) return def;
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(v.trim());
  const n = pct ? Number(pct[1]) / 100 : Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new HybridCompressError('OPTION_INVALID', `--${name} must be a fraction like 0.05 or 5%, between 0 and 1, got ${JSON.stringify(v)}`, { option: name });
  return n;
}

function optPositive(values: Values, name: string): number | undefined {
  return values[name] === undefined ? undefined : optInt(values, name, 0, { min: 1 });
}

export function commonParams(values: Values, model: string, cwd: string): CommonPruneParams {
  const importance = optString(values, 'importance');
  const data = optString(values, 'data');
  const p: CommonPruneParams = {
    model,
    importance: importance === undefined || importance === 'random' ? 'random' : resolve(cwd, importance),
    mambaHeadRanking: optEnum(values, 'mamba-head-ranking', ['group', 'global'] as const, 'group'),
    metric: optEnum(values, 'metric', ['activation', 'flap'] as const, 'activation'),
    sortByImportance: values['sort-by-importance'] === true,
    allowFingerprintMismatch: values['allow-fingerprint-mismatch'] === true,
    emitModelOptConfig: values['emit-modelopt-config'] === true,
    force: values['force'] === true,
    device: optEnum(values, 'device', ENGINE_DEVICES, 'auto'),
  };
  if (values['seed'] !== undefined) p.seed = optInt(values, 'seed', 0, { min: 0 });
  if (data !== undefined) p.data = resolve(cwd, data);
  if (values['rows'] !== undefined) p.rows = optInt(values, 'rows', 4, { min: 1 });
  if (values['seq-len'] !== undefined) p.seqLen = optInt(values, 'seq-len', 64, { min: 2 });
  return p;
}

function parseDropLayers(values: Values): number[] | undefined {
  const v = optString(values, 'drop-layers');
  if (v === undefined) return undefined;
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((s) => !/^\d+$/.test(s))) throw new HybridCompressError('OPTION_INVALID', `--drop-layers must be a comma-separated list of layer indices like 3,7,12, got ${JSON.stringify(v)}`, { option: 'drop-layers' });
  return parts.map(Number);
}

function dimsLine(label: string, d: DimsReport, base?: DimsReport): string {
  const parts = [`hidden ${d.hidden_size}`];
  if (d.ffn_hidden_size !== undefined) parts.push(`ffn ${d.ffn_hidden_size}`);
  if (d.mamba_num_heads !== undefined) parts.push(`mamba ${d.mamba_num_heads}×${d.mamba_head_dim}`);
  if (d.num_attention_heads !== undefined) parts.push(`attn heads ${d.num_attention_heads}`);
  parts.push(`layers ${d.num_layers}`);
  const share = base ? ` (${((100 * d.params) / base.params).toFixed(1)}%)` : '';
  return `${label.padEnd(7)} ${parts.join('  ')}  ${d.params.toLocaleString('en-US')} params${share}`;
}

export function formatPruneReport(r: PruneReport): string {
  const lines = [dimsLine('source', r.source), dimsLine('pruned', r.pruned, r.source)];
  if (r.dropped_layers.length > 0) lines.push(`dropped layers ${r.dropped_layers.join(', ')}`);
  lines.push(`ModelOpt export_config ${JSON.stringify(r.modelopt_export_config)}`);
  if (r.output) {
    lines.push(`wrote ${r.output.dir} (${r.output.files.length} weight file${r.output.files.length > 1 ? 's' : ''}, ${(r.output.bytes / 1e9).toFixed(2)} GB${r.output.shape_only ? ' shape-only' : ''}, ${r.output.seconds.toFixed(1)} s)`);
  } else lines.push('dry run: nothing written');
  const v = r.verification;
  if (v && 'skipped' in v) lines.push(`forward check skipped: ${v.skipped}`);
  else if (v) lines.push(`zero-shot LM loss on ${v.rows} rows × ${v.seq_len} tokens (${v.data}): ${v.loss_before.toFixed(4)} → ${v.loss_after.toFixed(4)} [${v.engine}]`);
  return lines.join('\n');
}

/**
 * Runs a pipeline job with the CLI's progress display through its launcher (which keeps a run folder
 * under <cwd>/.hybrid-compress/runs for the extension's Runs tree); prints the result as text or as one JSON line.
 */
export async function runPipelineJob<R>(ctx: CommandContext, launch: (h: JobHandlers) => Promise<PipelineLaunch<R>>, json: boolean, format: (r: R) => string): Promise<R> {
  const progress = createProgressRenderer(ctx, { json });
  let result: R;
  try {
    result = (await launch({ ...progress.handlers, signal: ctx.signal, cwd: ctx.cwd })).report;
  } finally {
    progress.finish();
  }
  ctx.stdout.write(json ? JSON.stringify({ type: 'result', value: result }) + '\n' : format(result) + '\n');
  return result;
}

export const pruneCommand: Command = {
  name: 'prune',
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, OPTIONS, usage);
    const model = resolve(ctx.cwd, requirePositional(positionals, 0, 'model_dir', usage));
    const planFile = optString(values, 'plan');
    if (!planFile && values['importance'] === undefined) {
      throw new HybridCompressError('OPTION_INVALID', `--importance is required: a calibrate run folder, its importance.safetensors, or "random"\nusage: ${usage}`, { option: 'importance' });
    }
    const dryRun = values['dry-run'] === true;
    const outArg = optString(values, 'out');
    if (!dryRun && outArg === undefined) throw new HybridCompressError('OPTION_INVALID', `--out is required (or --dry-run to only show the plan)\nusage: ${usage}`, { option: 'out' });
    const targets: PruneTargets = {
      hiddenSize: optPositive(values, 'hidden-size'),
      ffnHiddenSize: optPositive(values, 'ffn-hidden-size'),
      mambaNumHeads: optPositive(values, 'mamba-num-heads'),
      mambaHeadDim: optPositive(values, 'mamba-head-dim'),
      numAttentionHeads: optPositive(values, 'num-attention-heads'),
      numLayers: optPositive(values, 'num-layers'),
      dropLayers: parseDropLayers(values),
    };
    for (const k of Object.keys(targets) as (keyof PruneTargets)[]) if (targets[k] === undefined) delete targets[k];
    const params: PruneJobParams = { ...commonParams(values, model, ctx.cwd), targets, dryRun, verify: values['no-verify'] !== true };
    if (outArg !== undefined) params.out = resolve(ctx.cwd, outArg);
    if (planFile) params.plan = resolve(ctx.cwd, planFile);
    const pruneAxis = values['prune-axis'] === undefined ? undefined : optEnum(values, 'prune-axis', ['heads', 'channels'] as const, 'heads');
    if (pruneAxis) params.pruneAxis = pruneAxis;
    const targetParams = optString(values, 'target-params');
    if (targetParams !== undefined) params.targetParams = targetParams;
    if (values['tolerance'] !== undefined) params.tolerance = parseFraction(values, 'tolerance', 0.05);
    if (values['max-width-pruning'] !== undefined) params.maxWidthPruning = parseFraction(values, 'max-width-pruning', 0.4);
    if (values['max-depth-pruning'] !== undefined) params.maxDepthPruning = parseFraction(values, 'max-depth-pruning', 0);
    if (values['importance'] !== undefined && values['importance'] !== 'random' && values['seed'] !== undefined) {
      throw new HybridCompressError('OPTION_INVALID', '--seed only applies to --importance random', { option: 'seed' });
    }

    // Instant checks against the headers, before a worker starts or anything is written.
    const ckpt = await openCheckpoint(model);
    try {
      const t = params.pruneAxis ? applyPruneAxis(ckpt.spec, targets, params.pruneAxis).targets : targets;
      checkTargets(ckpt.spec, t);
      if (targetParams !== undefined) parseTargetParams(targetParams, ckpt.spec.params.total);
      if (params.out) checkOutputPath(ckpt.dir, params.out, params.force ?? false);
    } finally {
      await ckpt.close();
    }
    await runPipelineJob<PruneReport>(ctx, (h) => launchPrune(ctx.cwd, params, h), values['json'] === true, formatPruneReport);
    return 0;
  },
};
