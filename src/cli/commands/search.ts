// `hybrid-compress search`: the Minitron-SSM architecture search under a parameter budget. Candidates on
// legal grids are scored by zero-shot LM loss in a "search" job; search.json lists them ranked, and the
// winner is pruned into --out when given. With --kd-steps N the top --top-k K (default 3) first get an
// N-step KD from the source and are ranked by their loss after it; --out still gets the winner's pruned
// (not KD'd) weights, to be distilled properly with `hybrid-compress distill`. Each search is recorded as a
// run folder under <cwd>/.hybrid-compress/runs (launchSearch).

import { join, resolve } from 'node:path';
import type { Command } from '../command';
import { optInt, optNumber, optString, parseCommandArgs, requirePositional, type OptionSpec } from '../args';
import { HybridCompressError } from '../../core/errors';
import { openCheckpoint } from '../../core/checkpoint/checkpoint';
import { KD_NEEDS_DATA, SEARCH_FILE, SEARCH_KD_DEFAULTS, type SearchJobParams } from '../../core/prune/job-params';
import { checkOutputPath } from '../../core/prune/output-dir';
import type { SearchReport } from '../../core/prune/search-job';
import { parseTargetParams } from '../../core/prune/targets';
import { launchSearch } from '../../core/prune/launch';
import { COMMON_OPTIONS, commonParams, parseFraction, runPipelineJob } from './prune';

const usage =
  'hybrid-compress search <model_dir> --target-params X --importance <run_dir_or_file|random> [--tolerance 5%] ' +
  '[--max-width-pruning 0.4] [--max-depth-pruning 0.2] [--max-candidates 20] [--kd-steps N [--top-k 3] [--kd-lr 1e-3]] ' +
  '[--data FILE] [--rows 8] [--seq-len 128] [--device auto|cpu|webgpu|cuda] [--report search.json] [--out DIR [--force] [--emit-modelopt-config]] ' +
  '[--mamba-head-ranking group|global] [--metric activation|flap] [--sort-by-importance] [--seed S] [--work-dir DIR] [--json]';

const OPTIONS: OptionSpec = {
  ...COMMON_OPTIONS,
  'max-candidates': { type: 'string' },
  'top-k': { type: 'string' },
  'kd-steps': { type: 'string' },
  'kd-lr': { type: 'string' },
  report: { type: 'string' },
  'work-dir': { type: 'string' },
};

export function formatSearchReport(r: SearchReport): string {
  const lines = [
    `${r.grid_size} grid candidates, ${r.within_tolerance} within ${(r.tolerance * 100).toFixed(1)}% of ${r.target_params.toLocaleString('en-US')} parameters, ${r.scored} scored on ${r.rows.count} rows × ${r.rows.seq_len} tokens (${r.rows.data}) [${r.engine}]`,
    `source loss ${r.source.loss?.toFixed(4) ?? '—'}`,
  ];
  if (r.kd) {
    const k = r.kd;
    lines.push(
      `short KD of the top ${k.distilled + k.failed} (${k.steps} steps each, batch ${k.settings.batch} × ${k.settings.seq_len}, lr ${k.settings.lr} → ${k.settings.min_lr} cosine, teacher = source) in ${k.seconds.toFixed(1)} s; ranked by loss after KD`,
    );
  }
  lines.push(`rank  hidden  ffn     mamba    layers  params            loss     ${r.kd ? 'after KD  ' : ''}tok/s`);
  for (const c of r.candidates.filter((x) => x['rank'] !== null).slice(0, 10)) {
    const mamba = c['mamba_num_heads'] !== undefined ? `${c['mamba_num_heads']}×${c['mamba_head_dim']}` : '-';
    const afterKd = r.kd ? `${(typeof c['loss_after_kd'] === 'number' ? c['loss_after_kd'].toFixed(4) : '—').padEnd(8)}  ` : '';
    lines.push(
      `${String(c['rank']).padStart(4)}  ${String(c['hidden_size']).padEnd(6)}  ${String(c['ffn_hidden_size'] ?? '-').padEnd(6)}  ${mamba.padEnd(7)}  ${String(c['num_layers']).padEnd(6)}  ${(c['params'] as number).toLocaleString('en-US').padEnd(16)}  ${(c['loss'] as number).toFixed(4)}   ${afterKd}${Math.round(c['tokens_per_s'] as number)}`,
    );
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (r.output) lines.push(`pruned the winner into ${r.output.dir} (${(r.output.bytes / 1e9).toFixed(2)} GB, ${r.output.seconds.toFixed(1)} s)${r.kd ? ": its pruned weights, before KD — distill it next" : ''}`);
  return lines.join('\n');
}

export const searchCommand: Command = {
  name: 'search',
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, OPTIONS, usage);
    const model = resolve(ctx.cwd, requirePositional(positionals, 0, 'model_dir', usage));
    const targetParams = optString(values, 'target-params');
    if (targetParams === undefined) throw new HybridCompressError('OPTION_INVALID', `--target-params is required (e.g. 4e9 or 50%)\nusage: ${usage}`, { option: 'target-params' });
    if (values['importance'] === undefined) {
      throw new HybridCompressError('OPTION_INVALID', `--importance is required: a calibrate run folder, its importance.safetensors, or "random"\nusage: ${usage}`, { option: 'importance' });
    }
    const kdSteps = optInt(values, 'kd-steps', 0, { min: 0 });
    if (kdSteps > 0 && values['data'] === undefined) throw new HybridCompressError('OPTION_INVALID', `${KD_NEEDS_DATA}\nusage: ${usage}`, { option: 'data' });
    if (kdSteps === 0 && values['kd-lr'] !== undefined) throw new HybridCompressError('OPTION_INVALID', '--kd-lr only applies with --kd-steps N (N > 0)', { option: 'kd-lr' });
    const params: SearchJobParams = {
      ...commonParams(values, model, ctx.cwd),
      targetParams,
      tolerance: parseFraction(values, 'tolerance', 0.05),
      maxWidthPruning: parseFraction(values, 'max-width-pruning', 0.4),
      maxDepthPruning: parseFraction(values, 'max-depth-pruning', 0.2),
      maxCandidates: optInt(values, 'max-candidates', 20, { min: 1 }),
    };
    if (values['top-k'] !== undefined) params.topK = optInt(values, 'top-k', 1, { min: 1 });
    if (kdSteps > 0) {
      params.kdSteps = kdSteps;
      params.kdLr = optNumber(values, 'kd-lr', SEARCH_KD_DEFAULTS.lr, { min: 0 });
      if (!(params.kdLr > 0)) throw new HybridCompressError('OPTION_INVALID', `--kd-lr must be a number > 0, got ${JSON.stringify(values['kd-lr'])}`, { option: 'kd-lr' });
    }
    const out = optString(values, 'out');
    if (out !== undefined) params.out = resolve(ctx.cwd, out);
    const report = optString(values, 'report');
    params.report = report !== undefined ? resolve(ctx.cwd, report) : out === undefined ? join(ctx.cwd, SEARCH_FILE) : undefined;
    const work = optString(values, 'work-dir');
    if (work !== undefined) params.workDir = resolve(ctx.cwd, work);

    const ckpt = await openCheckpoint(model);
    try {
      parseTargetParams(targetParams, ckpt.spec.params.total);
      if (params.out) checkOutputPath(ckpt.dir, params.out, params.force ?? false);
    } finally {
      await ckpt.close();
    }
    await runPipelineJob<SearchReport>(ctx, (h) => launchSearch(ctx.cwd, params, h), values['json'] === true, formatSearchReport);
    return 0;
  },
};
