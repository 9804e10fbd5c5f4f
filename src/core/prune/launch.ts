// The parent side of `prune` and `search` (CLI and extension): a run folder of kind "prune"/"search"
// with the full report in report.json. Loads no engine code.

import { runJob } from '../jobs/client';
import { launch, type JobHandlers } from '../jobs/launcher';
import type { Run } from '../runs/index';
import { checkOutput } from '../runs/output-guard';
import type { PruneJobParams, SearchJobParams } from './job-params';
import type { PruneReport } from './prune-job';
import type { SearchReport } from './search-job';

/** A prune or search run: its run folder (none for a dry run, which writes nothing) and the job's full report. */
export interface PipelineLaunch<R> {
  run: Run | undefined;
  report: R;
}

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
  const { run, result } = await launch(workspace, { kind, ...(runDir !== undefined ? { dir: runDir } : {}), inputs: pipelineInputs(params), settings: pipelineSettings(params) }, () => runJob<R>(kind, params, h), {
    report: true,
    figures: (r) => {
      const f = figures(r);
      return { result: f.result, patch: f.ep !== undefined ? { ep: f.ep } : {} };
    },
  });
  return { run, report: result };
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
  if (params.report !== undefined) checkOutput(params.report, { option: 'report', force: params.force === true, kind: 'file', sources: [params.model, params.data, params.importance] });
  return launchPipeline(workspace, 'search', params, h, o.runDir, searchFigures);
}

