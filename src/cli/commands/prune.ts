// `hybrid-compress prune`: group-aware width/depth pruning of a checkpoint into a new folder. Options are
// checked here against the model's headers first (instant rejection of illegal targets, with the legal
// nearby values), then the work runs as a "prune" job in the worker, recorded as a run folder under
// <cwd>/.hybrid-compress/runs (launchPrune) so the extension's Runs tree lists it.

import type { Command, CommandContext } from '../command';
import { createProgressRenderer } from '../progress';
import { openCheckpoint } from '../../core/checkpoint/checkpoint';
import { launchPrune, type PipelineLaunch } from '../../core/prune/launch';
import type { JobHandlers } from '../../core/jobs/launcher';
import { checkOutputPath } from '../../core/prune/output-dir';
import type { DimsReport, PruneReport } from '../../core/prune/prune-job';
import { PRUNE_SCHEMA, pruneParamsFrom } from '../../core/prune/settings';
import { applyPruneAxis, checkTargets, parseTargetParams } from '../../core/prune/targets';
import { parseArgv, usageOf } from '../../core/util/option-schema';

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
  usage: usageOf(PRUNE_SCHEMA),
  schema: PRUNE_SCHEMA,
  async run(ctx) {
    const values = parseArgv(PRUNE_SCHEMA, ctx.argv, ctx.cwd);
    const params = pruneParamsFrom(values);
    // Instant checks against the headers, before a worker starts or anything is written.
    const ckpt = await openCheckpoint(params.model);
    try {
      const t = params.pruneAxis ? applyPruneAxis(ckpt.spec, params.targets, params.pruneAxis).targets : params.targets;
      checkTargets(ckpt.spec, t);
      if (params.targetParams !== undefined) parseTargetParams(params.targetParams, ckpt.spec.params.total);
      if (params.out) checkOutputPath(ckpt.dir, params.out, params.force ?? false);
    } finally {
      await ckpt.close();
    }
    await runPipelineJob<PruneReport>(ctx, (h) => launchPrune(ctx.cwd, params, h), values['json'] === true, formatPruneReport);
    return 0;
  },
};
