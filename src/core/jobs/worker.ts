// The worker side of the job protocol: receives one `start`, runs the registered handler with a
// context that forwards progress/log/metric messages, and answers with `result` or `error`.
// One job per worker process: the parent forks a fresh worker per job, so memory held by native
// sessions is returned to the OS when the job ends and a native crash only loses that job.

import { HybridCompressError, describeError, isHybridCompressError } from '../errors';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  parseMetricPoint,
  parseParentMessage,
  parseProgressInfo,
  type ErrorMessage,
  type LogLevel,
  type ProgressInfo,
  type WorkerMessage,
} from './protocol';
import type { JobContext, JobRegistry } from './registry';

/** The IPC side of `process` that the worker needs (process itself when forked with an IPC channel). */
export interface WorkerPort {
  send(message: WorkerMessage, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
}

/** Coalesce progress bursts: at most one message per this many ms unless the phase changes or the job completes a phase. */
const PROGRESS_INTERVAL_MS = 50;
/** jobId used for errors that happen before any job started (bad registration module, bad first message). */
export const NO_JOB_ID = '-';

export function cancellationError(): HybridCompressError {
  return new HybridCompressError('CANCELLED', 'the job was cancelled');
}

export function errorToMessage(jobId: string, e: unknown): ErrorMessage {
  const msg: ErrorMessage = isHybridCompressError(e)
    ? { type: 'error', jobId, code: e.code, message: e.message, context: { ...e.context } }
    : {
        type: 'error',
        jobId,
        code: 'RUNTIME_ERROR',
        message: e instanceof Error && e.name !== 'Error' ? `${e.name}: ${describeError(e)}` : describeError(e),
        context: {},
      };
  if (e instanceof Error && e.stack) msg.stack = e.stack;
  return msg;
}

export class WorkerRuntime {
  #jobId: string | undefined;
  #controller: AbortController | undefined;
  #finished = false;
  #lastProgressAt = 0;
  #lastPhase: string | undefined;
  #pendingProgress: ProgressInfo | undefined;
  #progressTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: JobRegistry,
    private readonly port: WorkerPort,
  ) {}

  /** Listens on the port and announces readiness. */
  start(): void {
    this.port.on('message', (m) => this.#onMessage(m));
    this.#send({ type: 'ready', protocol: PROTOCOL_VERSION, pid: process.pid, kinds: this.registry.kinds() });
  }

  /** jobId of the running job, or NO_JOB_ID. */
  get currentJobId(): string {
    return this.#jobId ?? NO_JOB_ID;
  }

  /** Reports an error for the current job (used for uncaught exceptions); sends nothing once the job has answered. */
  reportFatal(e: unknown, callback: () => void): void {
    if (this.#finished) return callback();
    this.#finished = true;
    this.#flushProgress();
    this.#send(errorToMessage(this.currentJobId, e), callback);
  }

  #send(msg: WorkerMessage, callback?: () => void): void {
    try {
      // Errors here mean the parent is gone; the worker exits on 'disconnect'.
      this.port.send(msg, () => callback?.());
    } catch (e) {
      // Structured clone refused the payload (e.g. a result holding a function).
      if (msg.type === 'result' || msg.type === 'metric' || msg.type === 'log' || msg.type === 'progress') {
        const err = new HybridCompressError('RUNTIME_ERROR', `the job's ${msg.type} message could not be sent to the parent: ${describeError(e)}`);
        this.port.send(errorToMessage(msg.jobId, err), () => callback?.());
      } else {
        callback?.();
      }
    }
  }

  #onMessage(raw: unknown): void {
    let m;
    try {
      m = parseParentMessage(raw);
    } catch (e) {
      this.#send(errorToMessage(this.currentJobId, e));
      return;
    }
    if (m.type === 'cancel') {
      if (m.jobId === this.#jobId) this.#controller?.abort(cancellationError());
      return;
    }
    if (this.#jobId !== undefined) {
      this.#send(errorToMessage(m.jobId, new ProtocolError(`this worker already runs job ${this.#jobId}; fork one worker per job`)));
      return;
    }
    this.#jobId = m.jobId;
    void this.#run(m.jobId, m.kind, m.params);
  }

  async #run(jobId: string, kind: string, params: unknown): Promise<void> {
    const handler = this.registry.get(kind);
    if (!handler) {
      this.#finish(
        errorToMessage(jobId, new HybridCompressError('OPTION_INVALID', `unknown job kind "${kind}" (this worker runs: ${this.registry.kinds().join(', ') || 'none'})`)),
      );
      return;
    }
    const controller = new AbortController();
    this.#controller = controller;
    const ctx: JobContext = {
      jobId,
      signal: controller.signal,
      progress: (info) => this.#progress(jobId, info),
      log: (text, level: LogLevel = 'info') => {
        if (this.#finished) return;
        this.#flushProgress();
        this.#send({ type: 'log', jobId, level, text: String(text) });
      },
      metric: (point) => {
        if (this.#finished) return;
        this.#send({ type: 'metric', jobId, point: parseMetricPoint(point) });
      },
      throwIfCancelled: () => controller.signal.throwIfAborted(),
    };
    try {
      const value = await handler(params, ctx);
      this.#finish({ type: 'result', jobId, value });
    } catch (e) {
      // Whatever the handler threw after a cancel (AbortError, its own wrapper) means "cancelled".
      this.#finish(errorToMessage(jobId, controller.signal.aborted ? cancellationError() : e));
    }
  }

  #finish(msg: WorkerMessage): void {
    if (this.#finished) return;
    this.#flushProgress();
    this.#finished = true;
    this.#send(msg);
  }

  #progress(jobId: string, info: ProgressInfo): void {
    if (this.#finished) return;
    // Validate at the source so a handler bug points at the handler, not at the parent.
    const checked = parseProgressInfo(info as unknown as Record<string, unknown>);
    const now = Date.now();
    const urgent = checked.phase !== this.#lastPhase || (checked.total > 0 && checked.done >= checked.total);
    if (urgent || now - this.#lastProgressAt >= PROGRESS_INTERVAL_MS) {
      this.#pendingProgress = undefined;
      this.#sendProgress(jobId, checked, now);
      return;
    }
    this.#pendingProgress = checked;
    this.#progressTimer ??= setTimeout(() => {
      this.#progressTimer = undefined;
      this.#flushProgress();
    }, PROGRESS_INTERVAL_MS - (now - this.#lastProgressAt));
  }

  #sendProgress(jobId: string, info: ProgressInfo, now: number): void {
    this.#lastProgressAt = now;
    this.#lastPhase = info.phase;
    this.#send({ type: 'progress', jobId, ...info });
  }

  #flushProgress(): void {
    if (this.#progressTimer) clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
    const p = this.#pendingProgress;
    this.#pendingProgress = undefined;
    if (p && this.#jobId !== undefined && !this.#finished) this.#sendProgress(this.#jobId, p, Date.now());
  }
}
