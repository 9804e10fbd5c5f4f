import type { RunJobOptions } from '../../core/jobs/index';
import { launchCalibration } from '../../core/calibrate/launch';
import { calibrationSettingsFrom } from '../../core/calibrate/settings';
import { launchTraining } from '../../core/distill/launch';
import { trainSettingsFrom } from '../../core/distill/settings';
import { launchEval } from '../../core/eval/launch';
import { evalSettingsFrom } from '../../core/eval/settings';
import { launchPrune, launchSearch, type PipelineLaunch } from '../../core/prune/launch';
import { pruneParamsFrom, searchParamsFrom } from '../../core/prune/settings';
import { launchMegatronRecipe } from '../../core/recipes/launch';
import { recipeOptionsFrom } from '../../core/recipes/settings';
import { formatParams } from './model-vm';
import type { JobRequest } from './task-params';

export interface LaunchOutcome {
  /** The run folder the job wrote. */
  dir?: string;
  result: unknown;
  /** A finished calibration of the same model, data and settings was reused. */
  reused?: boolean;
  /** One line for the terminal. */
  summary: string;
}

type Handlers = Pick<RunJobOptions, 'onProgress' | 'onLog' | 'onMetric' | 'signal'>;

/** Runs the job of a validated task to its end (throws the job's error). Settings come from the stage's own settings.ts, as the CLI's do. */
export async function launchJob(req: JobRequest, h: Handlers): Promise<LaunchOutcome> {
  const p = req.params;
  const workspace = req.workspace;
  switch (req.action) {
    case 'calibrate': {
      const l = await launchCalibration(workspace, calibrationSettingsFrom(p), { ...(req.explicitOut ? { out: p['out'] as string } : {}), force: p['force'] === true }, h);
      if (l.action === 'reuse') {
        return { dir: l.run.dir, result: l.result, reused: true, summary: `reused finished calibration ${l.run.dir} (same model, data and settings; set "force": true to recompute)` };
      }
      const result = l.result;
      return { dir: l.run.dir, result, summary: `${l.action === 'resume' ? 'resumed and finished' : 'calibrated'} ${result.rows} rows (${result.tokens} tokens) on ${result.ep} → ${result.importance}` };
    }
    case 'distill': {
      const { run, result } = await launchTraining(workspace, 'distill', trainSettingsFrom('distill', p), h);
      return { dir: run.dir, result, summary: `distilled ${result.steps} steps: loss ${result.firstLoss.toFixed(4)} → ${result.lastLoss.toFixed(4)}; final model ${result.final}` };
    }
    case 'eval': {
      const { run, result } = await launchEval(workspace, evalSettingsFrom(p), { out: req.runDir }, h);
      return { dir: run.dir, result, summary: `loss ${result.loss.toFixed(4)}, perplexity ${result.perplexity.toFixed(2)} over ${result.rows} rows` };
    }
    case 'prune':
    case 'search': {
      const l: PipelineLaunch<unknown> =
        req.action === 'prune' ? await launchPrune(workspace, pruneParamsFrom(p), h, { runDir: req.runDir }) : await launchSearch(workspace, searchParamsFrom(p), h, { runDir: req.runDir });
      const r = l.run?.record.result as Record<string, unknown> | undefined;
      return { dir: l.run?.dir, result: l.report, summary: pipelineSummary(req.action, r) };
    }
    case 'distill-external': {
      const l = await launchMegatronRecipe(workspace, recipeOptionsFrom({ ...p, out: req.runDir }, workspace), { force: p['force'] === true });
      const s = l.recipe.settings;
      const lines = [
        `recipe written to ${l.run.dir}:`,
        ...l.files.map((f) => `  ${f}`),
        `${s.nodes}×${s.gpusPerNode} GPUs (TP ${s.tp}, PP ${s.pp}, DP ${s.dp}); ${s.steps} steps × ${s.globalBatch} × ${s.seqLen} = ${(s.totalTokens / 1e9).toFixed(3)}B tokens`,
        ...l.recipe.warnings.map((w) => `warning: ${w}`),
        NOTHING_RUNS,
      ];
      return { dir: l.run.dir, result: l.run.record.result, summary: lines.join('\n') };
    }
  }
}

/** What the user must hear after a recipe is written (terminal and notification). */
export const NOTHING_RUNS = 'Nothing has been run: review README.md and the scripts, then start distill_torchrun.sh on each node (or sbatch distill_slurm.sbatch) on the cluster. "Follow Cluster Run…" shows its curves.';

function pipelineSummary(action: 'prune' | 'search', r: Record<string, unknown> | undefined): string {
  if (!r) return `${action} finished`;
  const parts: string[] = [];
  if (typeof r['params_before'] === 'number' && typeof r['params_after'] === 'number') {
    parts.push(`${formatParams(r['params_before'])} → ${formatParams(r['params_after'])} parameters (${(100 * (r['params_after'] / r['params_before'])).toFixed(1)}%)`);
  }
  if (typeof r['loss_before'] === 'number' && typeof r['loss_after'] === 'number') parts.push(`zero-shot loss ${r['loss_before'].toFixed(4)} → ${r['loss_after'].toFixed(4)}`);
  if (typeof r['output_dir'] === 'string') parts.push(`→ ${r['output_dir']}`);
  return `${action === 'prune' ? 'pruned' : 'searched'}: ${parts.join(', ')}`;
}
