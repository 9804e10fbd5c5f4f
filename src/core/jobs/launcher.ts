// The one launcher every action of both shells goes through: a run folder (run.json with inputs and
// settings), the work (usually a worker job), the full report in report.json where the action has one,
// and the outcome recorded, a failure or cancellation included, before the error is rethrown.

import { createRun, openRun, writeFileAtomic, type CreateRunOptions, type Run, type RunPatch } from '../runs/index';
import { REPORT_FILE } from '../runs/layout';
import { stringifyJson } from '../util/json';
import { checkOutput } from '../runs/output-guard';
import { acquireRunLock, type RunLock } from '../runs/lock';
import type { RunJobOptions } from './client';

export type JobHandlers = Pick<RunJobOptions, 'onProgress' | 'onLog' | 'onMetric' | 'signal' | 'cwd'>;

/** A launched action: its run folder and its typed result. */
export interface Launched<R> {
  run: Run;
  result: R;
}

export interface LaunchOptions<R> {
  /** The action's inputs: a run folder named by the user must not be, hold or sit inside one (runs/output-guard.ts). */
  sources?: readonly (string | undefined)[];
  /** Write the full result to report.json (the CLI's --json value) before completing. */
  report?: boolean;
  /** The run folder's lock when the caller took it already (before creating the folder's run.json). */
  heldLock?: RunLock;
  /** The key figures run.json records (and the Runs tree shows), plus other fields; default: the result itself. */
  figures?: (r: R) => { result: unknown; patch?: RunPatch };
}

/** Runs `work` in the run folder `run` (new or resumed) as its one writer (the folder's lock) and records its outcome. */
export async function launchIn<R>(run: Run, work: (run: Run) => Promise<R>, o: LaunchOptions<R> = {}): Promise<Launched<R>> {
  const lock = o.heldLock ?? acquireRunLock(run.dir, run.record.kind);
  try {
    if (run.status !== 'running') await run.resume();
    let result: R;
    try {
      result = await work(run);
      if (o.report) await writeFileAtomic(run.path(REPORT_FILE), stringifyJson(result) + '\n');
    } catch (e) {
      await run.fail(e);
      throw e;
    }
    const f = o.figures ? o.figures(result) : { result };
    await run.complete(f.result, f.patch ?? {});
    return { run, result };
  } finally {
    lock.release();
  }
}

/** Creates a run folder (`.hybrid-compress/runs/<id>` or `run.dir`) and launches `work` in it. */
export async function launch<R>(workspace: string, run: CreateRunOptions, work: (run: Run) => Promise<R>, o: LaunchOptions<R> = {}): Promise<Launched<R>> {
  if (run.dir === undefined) return launchIn(await createRun(workspace, run), work, o);
  checkOutput(run.dir, { option: 'out', force: false, kind: 'run', allowExistingRun: true, sources: o.sources ?? [] });
  // A named folder is locked before its run.json is written, so a second writer never touches it.
  const lock = o.heldLock ?? acquireRunLock(run.dir, run.kind);
  let created: Run;
  try {
    created = await createRun(workspace, run);
  } catch (e) {
    lock.release();
    throw e;
  }
  return launchIn(created, work, { ...o, heldLock: lock });
}

export { openRun };
