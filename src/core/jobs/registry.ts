// The worker's table of job kinds. Handlers for the real stages register themselves in
// handlers/index.ts; tests add their own kinds through a registration module passed to the
// worker (see worker-main.ts), so production bundles never ship test jobs.

import { HybridCompressError } from '../errors';
import type { LogLevel, MetricPoint, ProgressInfo } from './protocol';

export interface JobContext {
  jobId: string;
  /** Aborted when the parent cancels; `signal.reason` is a HybridCompressError with code CANCELLED. */
  signal: AbortSignal;
  /** Report progress; the worker coalesces bursts (≤ ~20 messages/s), so call it as often as convenient. */
  progress(info: ProgressInfo): void;
  log(text: string, level?: LogLevel): void;
  /** One point of a live training curve (also written to metrics.jsonl by whoever owns the run). */
  metric(point: MetricPoint): void;
  /** Throws the cancellation error if the job was cancelled; call between units of work. */
  throwIfCancelled(): void;
}

/**
 * Runs one job. `params` arrive structured-cloned from the parent: validate them (throw a
 * HybridCompressError naming the bad option) rather than trusting their type.
 * The resolved value goes back to the parent by structured clone (typed arrays are fine; functions
 * and class instances are not).
 */
export type JobHandler<R = unknown> = (params: unknown, ctx: JobContext) => Promise<R>;

const KIND_RE = /^[a-z][a-z0-9-]*$/;

export class JobRegistry {
  readonly #handlers = new Map<string, JobHandler>();

  /** Adds a kind; kinds are lower-case words with dashes ("eval", "distill-external"). */
  register(kind: string, handler: JobHandler): void {
    if (!KIND_RE.test(kind)) {
      throw new HybridCompressError('OPTION_INVALID', `job kind ${JSON.stringify(kind)} is invalid: use lower-case letters, digits and dashes, starting with a letter`);
    }
    if (this.#handlers.has(kind)) throw new HybridCompressError('OPTION_INVALID', `job kind "${kind}" is registered twice`);
    this.#handlers.set(kind, handler);
  }

  get(kind: string): JobHandler | undefined {
    return this.#handlers.get(kind);
  }

  kinds(): string[] {
    return [...this.#handlers.keys()].sort();
  }
}

/** What a registration module (handlers/index.ts, or a test-only file) exports. */
export type RegisterJobs = (registry: JobRegistry) => void | Promise<void>;
