// The parent side of the jobs that own a run folder, shared by the CLI and the extension: build the
// run folder (create, reuse or resume it), run the job in the worker, record the outcome. Loads no
// engine code (only types from engine modules). The Megatron launch recipe is written here too (it
// needs no worker): a run folder of kind "distill-external" holding the scripts.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HybridCompressError } from '../errors';
import { runJob, type RunJobOptions } from './index';
import { createRun, openRun, writeFileAtomic, type Run } from '../runs/index';
import { stringifyJson } from '../util/json';
import { loadRecipeData } from '../recipes/data';
import { planMegatronRecipe, writeMegatronRecipe, type MegatronRecipe, type MegatronRecipeOptions } from '../recipes/megatron';
import { calibrationKey, checkCalibrationInputs, chooseCalibrationRun } from '../calibrate/calibration-run';
import { ProgressMeter } from './progress-meter';
import { memoryHint } from '../runtime/execution-plan';
import type { CalibrationSettings } from '../calibrate/settings';
import type { CalibrationResult } from '../calibrate/calibrate';
import type { TrainResult, TrainSettings } from '../distill/trainer';
import type { TrainKind } from '../distill/settings';
import type { PruneJobParams, SearchJobParams } from '../prune/job-params';
import type { PruneReport } from '../prune/prune-job';
import type { SearchReport } from '../prune/search-job';

export type JobHandlers = Pick<RunJobOptions, 'onProgress' | 'onLog' | 'onMetric' | 'signal' | 'cwd'>;

export interface CalibrationLaunch {
  run: Run;
  action: 'reuse' | 'resume' | 'new';
  result: CalibrationResult;
}

/** Reuses a finished run of the same model + data + settings, resumes an interrupted one, or runs anew. */
export async function launchCalibration(workspace: string, settings: CalibrationSettings, o: { out?: string; force?: boolean }, h: JobHandlers): Promise<CalibrationLaunch> {
  // Cheap checks of every input first, then the fingerprint (with progress), which the worker reuses.
  const { spec } = await checkCalibrationInputs(settings, o);
  const meter = new ProgressMeter('fingerprint', 0, 'tensors');
  const { key, fingerprint } = await calibrationKey(settings, { onProgress: (p) => h.onProgress?.(meter.update(p.done, { total: p.total })) });
  const choice = await chooseCalibrationRun(workspace, settings, key, o);
  if (choice.action === 'reuse') return { run: choice.run, action: 'reuse', result: choice.run.record.result as CalibrationResult };
  const memory = memoryHint(spec, { batch: settings.batch, seqLen: settings.seqLen, mode: settings.mode });
  const result = await choice.run.track(runJob<CalibrationResult>('calibrate', { settings, runDir: choice.run.dir, key, fingerprint }, { ...h, memoryHint: memory }));
  await choice.run.update({ ep: result.ep, timings: result.timings });
  return { run: choice.run, action: choice.action, result };
}

/** Runs `distill` / `train` into the run folder `settings.out` (resuming it with settings.resume). */
export async function launchTraining(workspace: string, kind: TrainKind, s: TrainSettings, h: JobHandlers): Promise<{ run: Run; result: TrainResult }> {
  if (!s.resume && existsSync(resolve(s.out, 'checkpoints'))) {
    throw new HybridCompressError('OPTION_INVALID', `${s.out} already holds a training run; add --resume to continue it, or choose another --out`, { option: 'out' });
  }
  const run =
    s.resume && existsSync(resolve(s.out, 'run.json'))
      ? await openRun(s.out)
      : await createRun(workspace, { kind, dir: s.out, inputs: { student: s.student, teacher: s.teacher, data: s.data, evalData: s.evalData }, settings: { ...s } });
  if (run.status !== 'running') await run.resume();
  const result = await run.track(runJob<TrainResult>('train', s, h), (v) => ({ final: v.final, steps: v.steps, loss: v.lastLoss, val_loss: v.lastValLoss, params: v.params, ms_per_step: v.msPerStep }));
  return { run, result };
}

/** A prune or search run: its run folder (none for a dry run, which writes nothing) and the job's full report. */
export interface PipelineLaunch<R> {
  run: Run | undefined;
  report: R;
}

/** The file in a prune/search run folder that holds the job's full report (the CLI's --json value). */
export const PIPELINE_REPORT_FILE = 'report.json';

/** Paths a prune/search job reads, for run.json's inputs. */
function pipelineInputs(p: PruneJobParams | SearchJobParams): Record<string, unknown> {
  const inputs: Record<string, unknown> = { model: p.model, importance: p.importance };
  if (p.data !== undefined) inputs['data'] = p.data;
  if ('plan' in p && p.plan !== undefined) inputs['plan'] = p.plan;
  return inputs;
}

/** Everything else the job was given (targets, budget, output folder, engine options), for run.json's settings. */
function pipelineSettings(p: PruneJobParams | SearchJobParams): Record<string, unknown> {
  const s: Record<string, unknown> = { ...p };
  for (const k of ['model', 'importance', 'data', 'plan']) delete s[k];
  return structuredClone(s);
}

/** Creates the run folder, runs the job, writes report.json and records the outcome with `figures(report)` as the result. */
async function launchPipeline<R>(workspace: string, kind: 'prune' | 'search', params: PruneJobParams | SearchJobParams, h: JobHandlers, runDir: string | undefined, figures: (r: R) => { result: Record<string, unknown>; ep?: string }): Promise<PipelineLaunch<R>> {
  const run = await createRun(workspace, { kind, ...(runDir !== undefined ? { dir: runDir } : {}), inputs: pipelineInputs(params), settings: pipelineSettings(params) });
  let report: R;
  try {
    report = await runJob<R>(kind, params, h);
    await writeFileAtomic(run.path(PIPELINE_REPORT_FILE), stringifyJson(report) + '\n');
  } catch (e) {
    await run.fail(e);
    throw e;
  }
  const f = figures(report);
  await run.complete(f.result, f.ep !== undefined ? { ep: f.ep } : {});
  return { run, report };
}

/** The key figures of a prune for run.json (and the Runs tree): where it wrote, parameters before/after, zero-shot loss. */
export function pruneFigures(r: PruneReport): { result: Record<string, unknown>; ep?: string } {
  const result: Record<string, unknown> = {
    output_dir: r.output?.dir ?? null,
    params_before: r.source.params,
    params_after: r.pruned.params,
    params_ratio: r.pruned.params / r.source.params,
  };
  if (r.dropped_layers.length > 0) result['dropped_layers'] = r.dropped_layers;
  const v = r.verification;
  if (v && !('skipped' in v)) {
    result['loss_before'] = v.loss_before;
    result['loss_after'] = v.loss_after;
    return { result, ep: v.engine };
  }
  if (v) result['verification'] = v.skipped;
  return { result };
}

/** The key figures of a search: the winner's shape and loss, the budget, where the winner was written. */
export function searchFigures(r: SearchReport): { result: Record<string, unknown>; ep?: string } {
  const w = r.winner;
  const result: Record<string, unknown> = {
    output_dir: r.output?.dir ?? null,
    params_before: r.source.params,
    target_params: r.target_params,
    scored: r.scored,
    winner: w,
  };
  if (w && typeof w['params'] === 'number') {
    result['params_after'] = w['params'];
    result['params_ratio'] = (w['params'] as number) / r.source.params;
  }
  if (r.source.loss !== null) result['loss_before'] = r.source.loss;
  if (w && typeof w['loss'] === 'number') result['loss_after'] = w['loss'];
  if (w && typeof w['loss_after_kd'] === 'number') result['loss_after_kd'] = w['loss_after_kd'];
  return r.engine ? { result, ep: r.engine } : { result };
}

/**
 * Runs a `prune` job with a run folder of kind "prune" (`<workspace>/.hybrid-compress/runs/<id>`, or
 * `runDir`): inputs and settings in run.json, the full report in report.json, the key figures as the
 * result; a failure or cancellation is recorded before the error is rethrown. A dry run writes nothing,
 * so it gets no run folder.
 */
export async function launchPrune(workspace: string, params: PruneJobParams, h: JobHandlers, o: { runDir?: string } = {}): Promise<PipelineLaunch<PruneReport>> {
  if (params.dryRun) return { run: undefined, report: await runJob<PruneReport>('prune', params, h) };
  return launchPipeline(workspace, 'prune', params, h, o.runDir, pruneFigures);
}

/** Runs a `search` job with a run folder of kind "search" (as launchPrune). */
export function launchSearch(workspace: string, params: SearchJobParams, h: JobHandlers, o: { runDir?: string } = {}): Promise<PipelineLaunch<SearchReport>> {
  return launchPipeline(workspace, 'search', params, h, o.runDir, searchFigures);
}

export interface RecipeLaunch {
  run: Run;
  recipe: MegatronRecipe;
  /** Absolute paths of the files written. */
  files: string[];
}

/**
 * Writes the Megatron-Bridge distillation recipe into a run folder of kind "distill-external" at `o.out`.
 * Every input is checked first (planMegatronRecipe), so a wrong one creates nothing; an existing recipe
 * there is only replaced with `force`. The run is "done" once the files are written: nothing is started,
 * the user launches the scripts on the cluster. Result: where Megatron will write (output_dir, for the
 * curve view), the files and the run's size (GPUs, parallelism, tokens).
 */
export async function launchMegatronRecipe(workspace: string, o: MegatronRecipeOptions, opts: { force?: boolean; recipeData?: string } = {}): Promise<RecipeLaunch> {
  const recipe = planMegatronRecipe(o, loadRecipeData(opts.recipeData));
  const dir = resolve(o.out);
  const clash = recipe.files.filter((f) => existsSync(join(dir, f.name))).map((f) => f.name);
  if (clash.length > 0 && !opts.force) {
    throw new HybridCompressError('OPTION_INVALID', `${dir} already has ${clash.join(', ')}; set "force": true (--force) to overwrite, or choose another folder`, { option: 'out', file: dir });
  }
  const s = recipe.settings;
  const run = await createRun(workspace, {
    kind: 'distill-external',
    dir,
    inputs: { teacher: recipe.teacher.path, student: recipe.student.path, data: o.mockData ? 'mock' : o.data.map((d) => ({ ...d })) },
    settings: { ...s },
  });
  let files: string[];
  try {
    files = writeMegatronRecipe(dir, recipe, { force: true });
  } catch (e) {
    await run.fail(e);
    throw e;
  }
  await run.complete({
    output_dir: s.outputDir,
    files: recipe.files.map((f) => f.name),
    nodes: s.nodes,
    gpus_per_node: s.gpusPerNode,
    world_size: s.worldSize,
    tp: s.tp,
    pp: s.pp,
    dp: s.dp,
    steps: s.steps,
    total_tokens: s.totalTokens,
    export_config: recipe.exportConfig?.exportConfig ?? null,
    warnings: recipe.warnings,
  });
  return { run, recipe, files };
}
