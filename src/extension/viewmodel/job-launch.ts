// The parent side of each job for the extension's tasks: task parameters → job settings (the CLI's
// defaults), then the shared launchers of src/core/jobs/launch.ts (run folders) or runJob. No vscode import, and only
// type imports from modules that load the engine, so the extension host never loads onnxruntime-node.

import { join } from 'node:path';
import { runJob, type RunJobOptions } from '../../core/jobs/index';
import { launchCalibration } from '../../core/calibrate/launch';
import { launchTraining } from '../../core/distill/launch';
import { launchPrune, launchSearch, type PipelineLaunch } from '../../core/prune/launch';
import { launchMegatronRecipe } from '../../core/recipes/launch';
import type { PruneJobParams, SearchJobParams } from '../../core/prune/job-params';
import type { MegatronRecipeOptions } from '../../core/recipes/megatron';
import { formatParams } from './model-vm';
import { makeRunId, runsRoot } from '../../core/runs/index';
import { CALIBRATION_DEFAULTS, type CalibrationSettings } from '../../core/calibrate/settings';
import type { TrainSettings } from '../../core/distill/trainer';
import { trainSettings } from '../../core/distill/settings';
import { parseRecipeDataList, type JobRequest } from './task-params';

export interface LaunchOutcome {
  /** The run folder the job wrote (calibrate, prune, search, distill, distill-external). */
  dir?: string;
  result: unknown;
  /** A finished calibration of the same model, data and settings was reused. */
  reused?: boolean;
  /** One line for the terminal. */
  summary: string;
}

type Handlers = Pick<RunJobOptions, 'onProgress' | 'onLog' | 'onMetric' | 'signal'>;

export function calibrationSettings(p: Record<string, unknown>): CalibrationSettings {
  const d = CALIBRATION_DEFAULTS;
  return {
    ...d,
    model: p['model'] as string,
    data: p['data'] as string,
    samples: (p['samples'] as number | undefined) ?? d.samples,
    seqLen: (p['seqLen'] as number | undefined) ?? d.seqLen,
    batch: (p['batch'] as number | undefined) ?? d.batch,
    packing: ((p['packing'] as string | undefined) ?? d.packing) as CalibrationSettings['packing'],
    seed: (p['seed'] as number | undefined) ?? d.seed,
    depth: ((p['depth'] as string | undefined) ?? d.depth) as CalibrationSettings['depth'],
    device: ((p['device'] as string | undefined) ?? d.device) as CalibrationSettings['device'],
  };
}

/** TrainSettings with the CLI's defaults. */
export function distillSettings(p: Record<string, unknown>): TrainSettings {
  const pick = <T>(k: string) => p[k] as T | undefined;
  return trainSettings('distill', {
    student: p['student'] as string,
    teacher: p['teacher'] as string,
    data: p['data'] as string,
    evalData: pick<string>('evalData'),
    out: p['out'] as string,
    steps: pick<number>('steps'),
    batch: pick<number>('batch'),
    seqLen: pick<number>('seqLen'),
    packing: pick<TrainSettings['packing']>('packing'),
    seed: pick<number>('seed'),
    lr: pick<number>('lr'),
    minLr: pick<number>('minLr'),
    warmupSteps: pick<number>('warmupSteps'),
    loss: pick<TrainSettings['loss']>('loss'),
    alpha: pick<number>('alpha'),
    temperature: pick<number>('temperature'),
    evalEvery: pick<number>('evalEvery'),
    resume: p['resume'] === true,
    device: pick<string>('device'),
  });
}

/** Runs the job of a validated task to its end (throws the job's error). */
export async function launchJob(req: JobRequest, h: Handlers): Promise<LaunchOutcome> {
  const p = req.params;
  const workspace = p['workspace'] as string;
  const explicitOut = req.explicitOut;
  switch (req.action) {
    case 'calibrate': {
      const l = await launchCalibration(workspace, calibrationSettings(p), { ...(explicitOut ? { out: p['out'] as string } : {}), force: p['force'] === true }, h);
      if (l.action === 'reuse') {
        return { dir: l.run.dir, result: l.result, reused: true, summary: `reused finished calibration ${l.run.dir} (same model, data and settings; set "force": true to recompute)` };
      }
      const result = l.result;
      return { dir: l.run.dir, result, summary: `${l.action === 'resume' ? 'resumed and finished' : 'calibrated'} ${result.rows} rows (${result.tokens} tokens) on ${result.ep} → ${result.importance}` };
    }
    case 'distill': {
      const { run, result } = await launchTraining(workspace, 'distill', distillSettings(p), h);
      return { dir: run.dir, result, summary: `distilled ${result.steps} steps: loss ${result.firstLoss.toFixed(4)} → ${result.lastLoss.toFixed(4)}; final model ${result.final}` };
    }
    case 'eval': {
      const settings = { model: p['model'], data: p['data'], samples: p['samples'], seqLen: (p['seqLen'] as number | undefined) ?? 512, batch: (p['batch'] as number | undefined) ?? 4, packing: p['packing'] ?? 'concat', shuffle: false, seed: (p['seed'] as number | undefined) ?? 0, device: p['device'] ?? 'auto' };
      const result = await runJob<{ loss: number; perplexity: number; rows: number }>('eval', settings, h);
      return { result, summary: `loss ${result.loss.toFixed(4)}, perplexity ${result.perplexity.toFixed(2)} over ${result.rows} rows` };
    }
    case 'prune':
    case 'search': {
      const params = { ...p };
      delete params['workspace'];
      const l: PipelineLaunch<unknown> =
        req.action === 'prune' ? await launchPrune(workspace, params as unknown as PruneJobParams, h, { runDir: req.runDir }) : await launchSearch(workspace, params as unknown as SearchJobParams, h, { runDir: req.runDir });
      const r = l.run?.record.result as Record<string, unknown> | undefined;
      return { dir: l.run?.dir, result: l.report, summary: pipelineSummary(req.action, r) };
    }
    case 'distill-external': {
      const l = await launchMegatronRecipe(workspace, recipeOptions(p, req.runDir), { force: p['force'] === true });
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

/** distill-external task params → the recipe generator's options (defaults: the recipe data file's). */
export function recipeOptions(p: Record<string, unknown>, runDir: string): MegatronRecipeOptions {
  const num = (k: string) => p[k] as number | undefined;
  const str = (k: string) => p[k] as string | undefined;
  const o: MegatronRecipeOptions = {
    teacher: p['teacher'] as string,
    student: p['student'] as string,
    data: typeof p['data'] === 'string' ? parseRecipeDataList(p['data'] as string) : [],
    mockData: p['mockData'] === true,
    out: runDir,
    steps: p['steps'] as number,
  };
  const opt: Partial<MegatronRecipeOptions> = {
    outputDir: str('outputDir'), modelOptDir: str('modelOptDir'), partition: str('partition'), account: str('account'),
    tp: num('tp'), pp: num('pp'), nodes: num('nodes'), gpusPerNode: num('gpusPerNode'), globalBatch: num('globalBatch'), microBatch: num('microBatch'),
    seqLen: num('seqLen'), lr: num('lr'), minLr: num('minLr'), warmup: num('warmupSteps'), seed: num('seed'),
  };
  for (const [k, v] of Object.entries(opt)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  return o;
}

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

/** Where a task's run folder goes when it names none. */
export function defaultRunDir(workspace: string, action: string, now: Date = new Date()): string {
  return join(runsRoot(workspace), makeRunId(action, now));
}
