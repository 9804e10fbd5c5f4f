// The one error type of the job protocol's parent side: every way a job can fail, with what the
// worker said (its stack) or how it died (exit code, signal, stderr tail, peak memory).

import { HybridCompressError, type ErrorCode, type ErrorContext } from '../errors';

/** Every way runJob can fail. code CANCELLED = cancelled; a crash has exitCode/signal set. */
export class JobError extends HybridCompressError {
  constructor(
    code: ErrorCode,
    message: string,
    context: ErrorContext,
    readonly kind: string,
    readonly jobId: string,
    readonly details: {
      /** Exit code of a worker that ended without answering (null when killed by a signal). */
      exitCode?: number | null;
      /** Signal that ended the worker, e.g. "SIGABRT", "SIGKILL". */
      exitSignal?: string | null;
      /** Last lines the worker wrote to stderr. */
      stderrTail?: string[];
      /** Stack of the error inside the worker. */
      workerStack?: string;
      /** Highest resident set size of the worker that was observed. */
      peakRss?: number;
      /** The kernel's out-of-memory killer ended the worker. */
      outOfMemory?: boolean;
    } = {},
  ) {
    super(code, message, context);
    this.name = 'JobError';
  }
}
