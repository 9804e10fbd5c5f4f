// `hybrid-compress search`: the Minitron-SSM architecture search under a parameter budget. Every legal
// candidate within the tolerance (search-space.ts) is scored by zero-shot LM loss in a "search" job;
// search.json lists them ranked, and the winner is pruned into --out when given. With --kd-steps N the top
// --top-k K first get an N-step KD from the source and are ranked by their loss after it; --out still gets
// the winner's pruned (not KD'd) weights, to be distilled properly with `hybrid-compress distill`. Each
// search is recorded as a run folder under <cwd>/.hybrid-compress/runs (launchSearch).
// --candidates-only lists the candidates with their parameter counts, in this process (no worker, no run
// folder: it loads no engine and writes nothing).

import type { Command } from '../command';
import { openCheckpoint } from '../../core/checkpoint/checkpoint';
import { checkOutputPath } from '../../core/prune/output-dir';
import { runSearch, type SearchReport } from '../../core/prune/search-job';
import { parseTargetParams } from '../../core/prune/targets';
import { launchSearch } from '../../core/prune/launch';
import { SEARCH_SCHEMA, searchParamsFrom } from '../../core/prune/settings';
import { parseArgv, usageOf } from '../../core/util/option-schema';
import { runPipelineJob } from './prune';

/** Rows of the text listing of --candidates-only (--json emits them all). */
const LISTED = 100;

function shapeCells(c: Record<string, unknown>): string {
  const mamba = c['mamba_num_heads'] !== undefined ? `${c['mamba_num_heads']}×${c['mamba_head_dim']}` : '-';
  return `${String(c['hidden_size']).padEnd(6)}  ${String(c['ffn_hidden_size'] ?? '-').padEnd(6)}  ${mamba.padEnd(7)}  ${String(c['num_attention_heads'] ?? '-').padEnd(4)}  ${String(c['num_layers']).padEnd(6)}  ${(c['params'] as number).toLocaleString('en-US').padEnd(16)}`;
}

const HEAD = 'hidden  ffn     mamba    attn  layers  params          ';

function formatCandidates(r: SearchReport): string {
  const lines = [
    `${r.grid_size.toLocaleString('en-US')} grid points, ${r.within_tolerance.toLocaleString('en-US')} candidates within ${(r.tolerance * 100).toFixed(1)}% of ${r.target_params.toLocaleString('en-US')} parameters (closest first)`,
    `grid: ${Object.entries(r.grid).map(([k, v]) => `${k} ${v.length > 6 ? `${v[0]} … ${v.at(-1)} (${v.length} values)` : v.join('/')}`).join('; ')}`,
    `   id  ${HEAD}`,
  ];
  for (const c of r.candidates.slice(0, LISTED)) lines.push(`${String(c['id']).padStart(5)}  ${shapeCells(c)}`);
  if (r.candidates.length > LISTED) lines.push(`… ${(r.candidates.length - LISTED).toLocaleString('en-US')} more (--json lists them all)`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

export function formatSearchReport(r: SearchReport): string {
  if (!r.rows) return formatCandidates(r);
  const lines = [
    `${r.grid_size.toLocaleString('en-US')} grid points, ${r.within_tolerance.toLocaleString('en-US')} candidates within ${(r.tolerance * 100).toFixed(1)}% of ${r.target_params.toLocaleString('en-US')} parameters, ${r.scored} scored on ${r.rows.count} rows × ${r.rows.seq_len} tokens (${r.rows.data}) [${r.engine}]`,
    `source loss ${r.source.loss?.toFixed(4) ?? '—'}`,
  ];
  if (r.kd) {
    const k = r.kd;
    lines.push(
      `short KD of the top ${k.distilled + k.failed} (${k.steps} steps each, batch ${k.settings.batch} × ${k.settings.seq_len}, lr ${k.settings.lr} → ${k.settings.min_lr} cosine, teacher = source) in ${k.seconds.toFixed(1)} s; ranked by loss after KD`,
    );
  }
  lines.push(`rank  ${HEAD}  loss     ${r.kd ? 'after KD  ' : ''}tok/s`);
  for (const c of r.candidates.filter((x) => x['rank'] !== null).slice(0, 10)) {
    const afterKd = r.kd ? `${(typeof c['loss_after_kd'] === 'number' ? c['loss_after_kd'].toFixed(4) : '—').padEnd(8)}  ` : '';
    lines.push(`${String(c['rank']).padStart(4)}  ${shapeCells(c)}  ${(c['loss'] as number).toFixed(4)}   ${afterKd}${Math.round(c['tokens_per_s'] as number)}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (r.output) lines.push(`pruned the winner into ${r.output.dir} (${(r.output.bytes / 1e9).toFixed(2)} GB, ${r.output.seconds.toFixed(1)} s)${r.kd ? ": its pruned weights, before KD — distill it next" : ''}`);
  return lines.join('\n');
}

export const searchCommand: Command = {
  name: 'search',
  usage: usageOf(SEARCH_SCHEMA),
  schema: SEARCH_SCHEMA,
  async run(ctx) {
    const values = parseArgv(SEARCH_SCHEMA, ctx.argv, ctx.cwd);
    const params = searchParamsFrom(values, ctx.cwd);
    if (params.candidatesOnly) {
      const r = await runSearch(params, { signal: ctx.signal, progress: () => {}, log: (line) => (values['json'] === true ? undefined : ctx.stderr.write(`${line}\n`)) });
      ctx.stdout.write(values['json'] === true ? JSON.stringify({ type: 'result', value: r }) + '\n' : formatSearchReport(r) + '\n');
      return 0;
    }
    const ckpt = await openCheckpoint(params.model);
    try {
      parseTargetParams(params.targetParams, ckpt.spec.params.total);
      if (params.out) checkOutputPath(ckpt.dir, params.out, params.force ?? false);
    } finally {
      await ckpt.close();
    }
    await runPipelineJob<SearchReport>(ctx, (h) => launchSearch(ctx.cwd, params, h), values['json'] === true, formatSearchReport);
    return 0;
  },
};
