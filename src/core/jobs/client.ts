// The parent side of the job protocol, shared by the CLI and the extension: runJob() forks a fresh
// worker process per job (worker-process.ts), relays its progress/log/metric messages, and settles
// with the job's result or a JobError. This module must stay light: it never imports the registry's
// handlers (they load onnxruntime-node).

import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describeError, type ErrorCode, type ErrorContext } from '../errors';
import { PROTOCOL_VERSION, parseWorkerMessage, type LogLevel, type MetricPoint, type ParentMessage, type ProgressInfo, type WorkerMessage } from './protocol';
import { memoryInfo, oomKillCount } from '../util/memory';
import { JobError } from './job-error';
import { describeWorkerDeath, PeakMemorySampler } from './worker-death';
import { defaultWorkerPath, forkWorker, type WorkerSpawnOptions } from './worker-process';

export interface JobLogEntry {
  level: LogLevel;
  text: string;
  /** 'job' = ctx.log() in the handler; 'stdout'/'stderr' = a line the worker process printed (e.g. onnxruntime warnings). */
  source: 'job' | 'stdout' | 'stderr';
}

export interface RunJobOptions extends WorkerSpawnOptions {
  onProgress?: (info: ProgressInfo) => void;
  onLog?: (entry: JobLogEntry) => void;
  onMetric?: (point: MetricPoint) => void;
  /** Aborting cancels the job: the handler's signal fires, and the worker is killed if it has not answered within cancelGraceMs. */
  signal?: AbortSignal;
  /** Worker entry: defaults to dist/worker.js next to the running bundle, or pipeline/worker-main.ts when running from sources. */
  workerPath?: string;
  /** How long a cancelled handler may take to return before the worker is killed (default 500 ms). */
  cancelGraceMs?: number;
  /** How long the worker may take to load and announce itself (default 60 s). */
  readyTimeoutMs?: number;
  /** Called with the worker's pid once it is forked. */
  onSpawn?: (pid: number) => void;
  /** What would fit, said when the worker runs out of memory (e.g. "layer-streamed execution needs about 2 GB (--mode streamed)"). */
  memoryHint?: string;
  /** The kernel's OOM-kill counter (default: /proc/vmstat oom_kill); tests inject one. */
  oomKills?: () => number | undefined;
}

const STDERR_TAIL_LINES = 20;

/** Runs one job of `kind` in a fresh worker process; resolves with the handler's result. */
export function runJob<R = unknown>(kind: string, params: unknown, options: RunJobOptions = {}): Promise<R> {
  const jobId = `${kind}-${randomUUID().slice(0, 8)}`;
  if (options.signal?.aborted) return Promise.reject(new JobError('CANCELLED', `job "${kind}" was cancelled before it started`, {}, kind, jobId));
  const workerPath = options.workerPath ?? defaultWorkerPath();
  if (!existsSync(workerPath)) {
    return Promise.reject(new JobError('IO_ERROR', `worker entry ${workerPath} does not exist; build it with \`npm run build\``, { file: workerPath }, kind, jobId));
  }
  return new Promise<R>((resolve, reject) => {
    new JobRun(kind, jobId, params, workerPath, options, (r) => ('value' in r ? resolve(r.value as R) : reject(r.error)));
  });
}

type Outcome = { value: unknown } | { error: JobError };

/** One job's worker, from fork to verdict: every event of the process and the protocol ends in exactly one settle(). */
class JobRun {
  private settled = false;
  private ready = false;
  private cancelRequested = false;
  private exited = false;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly stderrTail: string[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly child: ChildProcess | undefined;
  private readonly memory: PeakMemorySampler | undefined;
  private readonly readOom: () => number | undefined;
  private readonly oomBefore: number | undefined;
  private readonly memoryAtStart = memoryInfo();
  private readonly kill = () => {
    if (!this.exited) this.child?.kill('SIGKILL');
  };
  private readonly onAbort = () => this.cancel();

  constructor(
    private readonly kind: string,
    private readonly jobId: string,
    private readonly params: unknown,
    private readonly workerPath: string,
    private readonly o: RunJobOptions,
    private readonly done: (outcome: Outcome) => void,
  ) {
    this.readOom = o.oomKills ?? oomKillCount;
    this.oomBefore = this.readOom();
    try {
      this.child = forkWorker(workerPath, o);
    } catch (e) {
      this.settle({ error: this.fail('IO_ERROR', `could not start the worker ${workerPath}: ${describeError(e)}`, { file: workerPath }) });
      return;
    }
    const child = this.child;
    this.memory = new PeakMemorySampler(() => (this.exited ? undefined : child.pid));
    // A parent that exits (process.exit, end of CLI) must not leave a busy worker behind.
    process.on('exit', this.kill);
    o.signal?.addEventListener('abort', this.onAbort);
    const readyMs = o.readyTimeoutMs ?? 60000;
    this.timers.push(
      setTimeout(() => {
        if (this.ready) return;
        this.kill();
        this.settle({ error: this.fail('RUNTIME_ERROR', `the worker for job "${kind}" did not start within ${readyMs} ms`) });
      }, readyMs),
    );
    this.lines(child.stdout, 'stdout');
    this.lines(child.stderr, 'stderr');
    child.on('spawn', () => {
      if (child.pid !== undefined && o.onSpawn) this.safely(() => o.onSpawn!(child.pid!));
    });
    child.on('error', (e) => {
      this.kill();
      this.settle({ error: this.fail('IO_ERROR', `the worker process for job "${kind}" failed: ${describeError(e)}`, { file: workerPath }) });
    });
    child.on('message', (raw: unknown) => this.onMessage(raw));
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitInfo = { code, signal };
      // 'close' normally follows once stdio and IPC are drained; a grandchild holding the pipes must not delay the verdict.
      setTimeout(() => this.onGone(), 1000).unref();
    });
    child.on('close', () => this.onGone());
  }

  private fail(code: ErrorCode, message: string, context: ErrorContext = {}, details: JobError['details'] = {}): JobError {
    return new JobError(code, message, context, this.kind, this.jobId, details);
  }

  private settle(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    for (const t of this.timers) clearTimeout(t);
    this.memory?.stop();
    this.o.signal?.removeEventListener('abort', this.onAbort);
    // Let the worker exit by itself (it exits when the IPC channel closes); kill it if it does not.
    if (this.child?.connected) this.child.disconnect();
    setTimeout(this.kill, 2000).unref();
    this.done(outcome);
  }

  /** Runs a caller's callback; one that throws must not become an uncaught exception in the host. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.kill();
      this.settle({ error: this.fail('RUNTIME_ERROR', `job "${this.kind}": a progress/log/metric callback threw: ${describeError(e)}`) });
    }
  }

  private send(msg: ParentMessage): boolean {
    if (!this.child?.connected) return false;
    try {
      this.child.send(msg);
      return true;
    } catch (e) {
      this.kill();
      this.settle({ error: this.fail('OPTION_INVALID', `job "${this.kind}": its parameters cannot be sent to the worker: ${describeError(e)}`) });
      return false;
    }
  }

  private cancel(): void {
    if (this.settled || this.cancelRequested) return;
    this.cancelRequested = true;
    const cancelled = () => this.fail('CANCELLED', `job "${this.kind}" was cancelled`);
    if (!this.ready || !this.send({ type: 'cancel', jobId: this.jobId })) {
      this.kill();
      this.settle({ error: cancelled() });
      return;
    }
    this.timers.push(
      setTimeout(() => {
        // The handler ignored its signal (busy loop, a long native call): end it the hard way.
        this.kill();
        this.settle({ error: cancelled() });
      }, this.o.cancelGraceMs ?? 500),
    );
  }

  private lines(stream: NodeJS.ReadableStream | null, source: 'stdout' | 'stderr'): void {
    if (!stream) return;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (text) => {
      if (source === 'stderr') {
        this.stderrTail.push(text);
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      }
      if (!this.settled && this.o.onLog) this.safely(() => this.o.onLog!({ level: source === 'stderr' ? 'warn' : 'info', text, source }));
    });
  }

  private onMessage(raw: unknown): void {
    if (this.settled) return;
    let m: WorkerMessage;
    try {
      m = parseWorkerMessage(raw);
      if (m.type !== 'ready' && m.type !== 'error' && m.jobId !== this.jobId) throw new Error(`message for job ${m.jobId}, expected ${this.jobId}`);
    } catch (e) {
      this.kill();
      this.settle({ error: this.fail('RUNTIME_ERROR', `job "${this.kind}": the worker broke the protocol: ${describeError(e)}`, { rule: 'protocol' }) });
      return;
    }
    const o = this.o;
    switch (m.type) {
      case 'ready':
        if (m.protocol !== PROTOCOL_VERSION) {
          this.kill();
          this.settle({ error: this.fail('RUNTIME_ERROR', `the worker ${this.workerPath} speaks job protocol ${m.protocol}, this client ${PROTOCOL_VERSION}; rebuild with \`npm run build\``, { file: this.workerPath, rule: 'protocol' }) });
        } else if (!m.kinds.includes(this.kind)) {
          this.kill();
          this.settle({ error: this.fail('OPTION_INVALID', `unknown job kind "${this.kind}" (the worker runs: ${m.kinds.join(', ') || 'none'})`) });
        } else {
          this.ready = true;
          this.send({ type: 'start', jobId: this.jobId, kind: this.kind, params: this.params });
        }
        return;
      case 'progress': {
        const { type: _t, jobId: _j, ...info } = m;
        if (o.onProgress) this.safely(() => o.onProgress!(info));
        return;
      }
      case 'log':
        if (o.onLog) this.safely(() => o.onLog!({ level: m.level, text: m.text, source: 'job' }));
        return;
      case 'metric':
        if (o.onMetric) this.safely(() => o.onMetric!(m.point));
        return;
      case 'result':
        this.settle({ value: m.value });
        return;
      case 'error': {
        const code = this.cancelRequested ? 'CANCELLED' : m.code;
        const message = this.cancelRequested ? `job "${this.kind}" was cancelled` : m.message;
        this.settle({ error: this.fail(code, message, m.context, { workerStack: m.stack }) });
        return;
      }
    }
  }

  private onGone(): void {
    process.off('exit', this.kill);
    if (this.settled) return;
    if (this.cancelRequested) return this.settle({ error: this.fail('CANCELLED', `job "${this.kind}" was cancelled`) });
    const lastErr = [...this.stderrTail].reverse().find((l) => l.trim() !== '');
    const peakRss = this.memory?.peak;
    const death = describeWorkerDeath({
      kind: this.kind,
      signal: this.exitInfo?.signal ?? null,
      exitCode: this.exitInfo?.code ?? null,
      peakRss,
      oomKillsBefore: this.oomBefore,
      oomKillsAfter: this.oomBefore !== undefined ? this.readOom() : undefined,
      memory: this.memoryAtStart,
      hint: this.o.memoryHint,
      lastStderr: lastErr?.trim(),
    });
    this.settle({
      error: this.fail('RUNTIME_ERROR', death.message, { rule: death.outOfMemory ? 'out-of-memory' : 'worker-crashed' }, {
        exitCode: this.exitInfo?.code ?? null,
        exitSignal: this.exitInfo?.signal ?? null,
        stderrTail: [...this.stderrTail],
        peakRss,
        outOfMemory: death.outOfMemory,
      }),
    });
  }
}
