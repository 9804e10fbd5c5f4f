// One line per run for the Runs tree: kind and model, status, duration and the key figure of its result
// (final loss for training, parameters before → after and zero-shot loss for prune/search, GPUs and
// tokens for a cluster recipe). No vscode import (unit-tested).

import type { ListedRun } from '../../core/runs/index';
import { formatParams } from './model-vm';
import { REPORT_FILE, RUN_FILE, SUMMARY_FILE } from '../../core/runs/layout';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m ${Math.round(seconds - m * 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

const LOSS_KEYS = ['final_loss', 'finalLoss', 'val_loss', 'loss', 'kd_loss'];
const PARAM_KEYS = ['params', 'parameters', 'total_params', 'paramsAfter', 'params_after'];

/** prune/search (launchPrune, launchSearch): "2.1M params (52.3%) · loss 5.1234". */
function pipelineFigure(r: Record<string, unknown>): string | undefined {
  const after = r['params_after'];
  if (typeof after !== 'number') return undefined;
  const ratio = typeof r['params_ratio'] === 'number' ? ` (${(100 * r['params_ratio']).toFixed(1)}%)` : '';
  const loss = typeof r['loss_after_kd'] === 'number' ? ` · loss after KD ${r['loss_after_kd'].toFixed(4)}` : typeof r['loss_after'] === 'number' ? ` · loss ${r['loss_after'].toFixed(4)}` : '';
  return `${formatParams(after)} params${ratio}${loss}`;
}

/** distill-external (launchMegatronRecipe): "recipe · 32 GPUs · 80.0B tokens". */
function recipeFigure(r: Record<string, unknown>): string | undefined {
  if (typeof r['world_size'] !== 'number' || typeof r['total_tokens'] !== 'number') return undefined;
  return `recipe · ${r['world_size']} GPU${r['world_size'] === 1 ? '' : 's'} · ${formatParams(r['total_tokens'])} tokens`;
}

/** The key figure of a run's result: its final loss or its parameter count, when the result has one. */
export function keyFigure(result: unknown, kind?: string): string | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Record<string, unknown>;
  if (kind === 'prune' || kind === 'search') return pipelineFigure(r) ?? keyFigure(r);
  if (kind === 'distill-external') return recipeFigure(r);
  for (const k of LOSS_KEYS) if (typeof r[k] === 'number') return `${k.replace(/_/g, ' ').replace('finalLoss', 'final loss')} ${(r[k] as number).toFixed(4)}`;
  for (const k of PARAM_KEYS) if (typeof r[k] === 'number') return `${formatParams(r[k] as number)} params`;
  return undefined;
}

function subject(run: ListedRun): string | undefined {
  const i = run.inputs;
  const p = (i['model'] ?? i['student'] ?? i['model_dir']) as unknown;
  return typeof p === 'string' ? p.split(/[\\/]/).filter(Boolean).pop() : undefined;
}

export function runSummary(run: ListedRun, now: number = Date.now()): { label: string; description: string; tooltip: string } {
  const who = subject(run);
  const label = `${run.kind}${who ? ` · ${who}` : ''}`;
  const seconds = run.timings['total'] ?? (run.status === 'running' ? (now - Date.parse(run.created)) / 1000 : undefined);
  const parts: string[] = [run.status];
  if (seconds !== undefined) parts.push(formatDuration(seconds));
  const fig = keyFigure(run.result, run.kind);
  if (fig) parts.push(fig);
  const tooltip = [`${run.id} — ${run.status}`, run.dir, run.error ? `${run.error.code}: ${run.error.message}` : ''].filter(Boolean).join('\n');
  return { label, description: parts.join(' · '), tooltip };
}

/**
 * The folder whose curves a run shows, if any: a training run's own folder; a cluster recipe's Megatron
 * output folder (tb_logs/, logs/), which fills once the user starts it; any run with a metrics.jsonl.
 */
export function curvesPathOf(run: Pick<ListedRun, 'kind' | 'dir' | 'result' | 'settings'>, hasMetrics: boolean): string | undefined {
  if (run.kind === 'distill' || run.kind === 'train') return run.dir;
  if (run.kind === 'distill-external') {
    const r = run.result as Record<string, unknown> | undefined;
    const out = typeof r?.['output_dir'] === 'string' ? r['output_dir'] : run.settings['outputDir'];
    return typeof out === 'string' ? out : run.dir;
  }
  return hasMetrics ? run.dir : undefined;
}

/** The files "Open Run Report" opens, the first that exists: a summary, a recipe's README, a prune/search report.json, run.json. */
export const REPORT_FILES = [SUMMARY_FILE, 'report.md', 'README.md', REPORT_FILE, RUN_FILE] as const;
