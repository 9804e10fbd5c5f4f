// One line per run for the Runs tree: kind and model, status, duration and the key figure of its result
// (final loss for training, parameters for prune/search). No vscode import (unit-tested).

import type { ListedRun } from '../../core/runs/index';
import { formatParams } from './model-vm';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m ${Math.round(seconds - m * 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

const LOSS_KEYS = ['final_loss', 'finalLoss', 'val_loss', 'loss', 'kd_loss'];
const PARAM_KEYS = ['params', 'parameters', 'total_params', 'paramsAfter', 'params_after'];

/** The key figure of a run's result: its final loss or its parameter count, when the result has one. */
export function keyFigure(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Record<string, unknown>;
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
  const fig = keyFigure(run.result);
  if (fig) parts.push(fig);
  const tooltip = [`${run.id} — ${run.status}`, run.dir, run.error ? `${run.error.code}: ${run.error.message}` : ''].filter(Boolean).join('\n');
  return { label, description: parts.join(' · '), tooltip };
}
