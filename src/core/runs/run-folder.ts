// Run folders: `<workspace>/.hybrid-compress/runs/<id>/` with run.json, metrics.jsonl and the
// run's outputs. The CLI and the extension both create and read runs through this module, so the
// layout exists in one place. run.json is replaced atomically on every change, and a run always
// ends in a terminal status (done/failed/cancelled) unless its process dies — which listRuns
// detects from the recorded pid.

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { HybridCompressError, describeError, isHybridCompressError } from '../errors';
import { parseJson, stringifyJson } from '../util/json';
import { writeFileAtomic } from './atomic-write';
import { MetricsWriter } from './metrics-file';
import { METRICS_FILE, RUN_FILE, RUNS_DIR, STATE_DIR } from './layout';
import { checkKind, makeRunId, validateRunRecord, type RunError, type RunRecord, type RunStatus } from './run-record';
import { isProcessAlive } from './process-alive';

export { STATE_DIR } from './layout';

export function runsRoot(workspaceDir: string): string {
  return join(resolve(workspaceDir), STATE_DIR, RUNS_DIR);
}

export interface CreateRunOptions {
  kind: string;
  inputs?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  /** Use this folder instead of `<runsRoot>/<id>` (the CLI's --out DIR). */
  dir?: string;
  /** Process owning the run (default: this one). */
  pid?: number;
  /** Start time (tests). */
  now?: Date;
}

/** The fields a running job may change. Maps (inputs, settings, timings) are merged key by key. */
export interface RunPatch {
  inputs?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  timings?: Record<string, number>;
  ep?: string;
  result?: unknown;
}

export async function readRun(dir: string): Promise<RunRecord> {
  const file = join(dir, RUN_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new HybridCompressError('IO_ERROR', `cannot read ${file}: ${(e as Error).message}`, { file });
  }
  let parsed: unknown;
  try {
    parsed = parseJson(text, { allowNonFinite: true });
  } catch (e) {
    throw new HybridCompressError('DATA_INVALID', `${file}: not valid JSON (${describeError(e)})`, { file, rule: 'run-json' });
  }
  return validateRunRecord(parsed, file);
}

/** Creates the run folder and writes its first run.json (status "running"). */
export async function createRun(workspaceDir: string, options: CreateRunOptions): Promise<Run> {
  checkKind(options.kind);
  const now = options.now ?? new Date();
  const baseId = makeRunId(options.kind, now);
  let id = baseId;
  let dir: string;
  if (options.dir !== undefined) {
    dir = resolve(options.dir);
    await mkdir(dir, { recursive: true });
    if (existsSync(join(dir, RUN_FILE))) {
      const prev = await readRun(dir).catch(() => undefined);
      if (prev && prev.status === 'running' && prev.pid !== undefined && (prev.host === undefined || prev.host === hostname()) && isProcessAlive(prev.pid)) {
        throw new HybridCompressError('OPTION_INVALID', `${dir} is in use by a running ${prev.kind} job (pid ${prev.pid}); choose another --out folder or cancel that job`, { option: 'out', file: dir });
      }
    }
  } else {
    const root = runsRoot(workspaceDir);
    const stateDir = join(resolve(workspaceDir), STATE_DIR);
    const fresh = !existsSync(stateDir);
    await mkdir(root, { recursive: true });
    // Run folders hold checkpoints of gigabytes: keep them out of the user's git by default.
    if (fresh) await writeFile(join(stateDir, '.gitignore'), '# created by hybrid-compress: run folders hold large outputs\n*\n');
    for (let n = 1; ; n++) {
      id = n === 1 ? baseId : `${baseId}-${n}`;
      dir = join(root, id);
      try {
        await mkdir(dir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n > 1000) throw new HybridCompressError('IO_ERROR', `cannot create run folder ${dir}: ${(e as Error).message}`, { file: dir });
      }
    }
  }
  const stamp = now.toISOString();
  const record: RunRecord = {
    id,
    kind: options.kind,
    status: 'running',
    created: stamp,
    updated: stamp,
    inputs: { ...options.inputs },
    settings: { ...options.settings },
    timings: {},
    pid: options.pid ?? process.pid,
    host: hostname(),
  };
  const run = new Run(dir, record);
  await run.flush();
  return run;
}

/** Opens an existing run folder for further updates (e.g. to resume a training run). */
export async function openRun(dir: string): Promise<Run> {
  return new Run(resolve(dir), await readRun(dir));
}

export class Run {
  #record: RunRecord;
  #writes: Promise<void> = Promise.resolve();
  #metrics: MetricsWriter | undefined;

  constructor(
    readonly dir: string,
    record: RunRecord,
  ) {
    this.#record = structuredClone(record);
  }

  get id(): string {
    return this.#record.id;
  }
  get status(): RunStatus {
    return this.#record.status;
  }
  /** A copy of the current record. */
  get record(): RunRecord {
    return structuredClone(this.#record);
  }

  /** Path of a file inside the run folder. */
  path(...names: string[]): string {
    return join(this.dir, ...names);
  }

  /** The run's metrics.jsonl appender (opened on first use, closed when the run ends). */
  metrics(): MetricsWriter {
    this.#metrics ??= new MetricsWriter(this.path(METRICS_FILE));
    return this.#metrics;
  }

  update(patch: RunPatch): Promise<void> {
    const r = this.#record;
    if (patch.inputs) Object.assign(r.inputs, patch.inputs);
    if (patch.settings) Object.assign(r.settings, patch.settings);
    if (patch.timings) Object.assign(r.timings, patch.timings);
    if (patch.ep !== undefined) r.ep = patch.ep;
    if (patch.result !== undefined) r.result = structuredClone(patch.result);
    return this.flush();
  }

  /** Marks the run done, with its key figures. */
  complete(result?: unknown, patch: RunPatch = {}): Promise<void> {
    return this.#end('done', { ...patch, ...(result !== undefined ? { result } : {}) });
  }

  /** Marks the run failed — or cancelled, when the error is a cancellation (code CANCELLED). */
  fail(error: unknown): Promise<void> {
    if (this.#record.status !== 'running') return this.#writes;
    const err: RunError = isHybridCompressError(error)
      ? { code: error.code, message: error.message, ...(Object.keys(error.context).length > 0 ? { context: { ...error.context } } : {}) }
      : { code: 'RUNTIME_ERROR', message: describeError(error) };
    if (err.code === 'CANCELLED') return this.#end('cancelled', {});
    this.#record.error = err;
    return this.#end('failed', {});
  }

  cancel(): Promise<void> {
    return this.#end('cancelled', {});
  }

  /** Marks a finished or interrupted run as running again under this process (resume). */
  resume(): Promise<void> {
    const r = this.#record;
    r.status = 'running';
    delete r.error;
    delete r.timings['total'];
    r.pid = process.pid;
    r.host = hostname();
    return this.flush();
  }

  /**
   * Awaits the job and records its outcome: done (with `toResult(value)` as the result), cancelled
   * or failed. Rethrows the job's error, so callers still see it.
   */
  async track<T>(job: Promise<T>, toResult: (value: T) => unknown = (v) => v): Promise<T> {
    let value: T;
    try {
      value = await job;
    } catch (e) {
      await this.fail(e);
      throw e;
    }
    await this.complete(toResult(value));
    return value;
  }

  /** Writes the current record (atomic replace); writes are serialised in call order. */
  flush(): Promise<void> {
    this.#record.updated = new Date().toISOString();
    const snapshot = stringifyJson(this.#record) + '\n';
    const file = this.path(RUN_FILE);
    const write = this.#writes.then(() => writeFileAtomic(file, snapshot));
    // Keep the queue alive after a failed write; the caller of this flush still sees the error.
    this.#writes = write.catch(() => undefined);
    return write.catch((e) => {
      throw new HybridCompressError('IO_ERROR', `cannot write ${file}: ${describeError(e)}`, { file });
    });
  }

  #end(status: Exclude<RunStatus, 'running'>, patch: RunPatch): Promise<void> {
    // The first outcome sticks: a late "done" must not overwrite "cancelled", nor the reverse.
    if (this.#record.status !== 'running') return this.#writes;
    this.#metrics?.close();
    this.#metrics = undefined;
    this.#record.status = status;
    const r = this.#record;
    r.timings.total ??= Math.max(0, (Date.now() - Date.parse(r.created)) / 1000);
    return this.update(patch);
  }
}
