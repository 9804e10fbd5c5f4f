// The parent side of the job protocol, shared by the CLI and the extension: runJob() forks a
// fresh worker process per job, relays its progress/log/metric messages, and settles with the
// job's result or a JobError. A worker is a process (not a worker thread) because a native abort in
// onnxruntime would otherwise take down the extension host. This module must stay light: it never
// imports the registry's handlers (they load onnxruntime-node).

import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { HybridCompressError, describeError, type ErrorCode, type ErrorContext } from '../errors';
import { PROTOCOL_VERSION, parseWorkerMessage, type LogLevel, type MetricPoint, type ParentMessage, type ProgressInfo } from './protocol';

export interface JobLogEntry {
  level: LogLevel;
  text: string;
  /** 'job' = ctx.log() in the handler; 'stdout'/'stderr' = a line the worker process printed (e.g. onnxruntime warnings). */
  source: 'job' | 'stdout' | 'stderr';
}

export interface RunJobOptions {
  onProgress?: (info: ProgressInfo) => void;
  onLog?: (entry: JobLogEntry) => void;
  onMetric?: (point: MetricPoint) => void;
  /** Aborting cancels the job: the handler's signal fires, and the worker is killed if it has not answered within cancelGraceMs. */
  signal?: AbortSignal;
  /** Worker entry: defaults to dist/worker.js next to the running bundle, or pipeline/worker-main.ts when running from sources. */
  workerPath?: string;
  /** Node flags for the worker; default [] for a .js entry and ['--import', <tsx>] for a .ts entry. */
  execArgv?: string[];
  /** Extra registration modules (each exports registerJobs(registry)); used by tests to add test-only job kinds. */
  registerModules?: string[];
  cwd?: string;
  /** Added to the parent's environment. */
  env?: Record<string, string>;
  /** How long a cancelled handler may take to return before the worker is killed (default 500 ms). */
  cancelGraceMs?: number;
  /** How long the worker may take to load and announce itself (default 60 s). */
  readyTimeoutMs?: number;
  /** Called with the worker's pid once it is forked. */
  onSpawn?: (pid: number) => void;
}

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
    } = {},
  ) {
    super(code, message, context);
    this.name = 'JobError';
  }
}

const STDERR_TAIL_LINES = 20;

/** Where the worker entry lives relative to this module, bundled or not. */
export function defaultWorkerPath(): string {
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  for (const candidate of [join(here, 'worker.js'), join(here, '..', 'pipeline', 'worker-main.ts')]) if (existsSync(candidate)) return candidate;
  return join(here, 'worker.js');
}

/** An absolute `--import` specifier for tsx, so a .ts worker starts whatever its cwd. */
function tsxImport(workerPath: string): string {
  try {
    return pathToFileURL(createRequire(workerPath).resolve('tsx')).href;
  } catch {
    return 'tsx';
  }
}

/** Runs one job of `kind` in a fresh worker process; resolves with the handler's result. */
export function runJob<R = unknown>(kind: string, params: unknown, options: RunJobOptions = {}): Promise<R> {
  const jobId = `${kind}-${randomUUID().slice(0, 8)}`;
  const fail = (code: ErrorCode, message: string, context: ErrorContext = {}, details: JobError['details'] = {}) =>
    new JobError(code, message, context, kind, jobId, details);

  if (options.signal?.aborted) return Promise.reject(fail('CANCELLED', `job "${kind}" was cancelled before it started`));
  const workerPath = options.workerPath ?? defaultWorkerPath();
  if (!existsSync(workerPath)) {
    return Promise.reject(fail('IO_ERROR', `worker entry ${workerPath} does not exist; build it with \`npm run build\``, { file: workerPath }));
  }
  const execArgv = options.execArgv ?? (workerPath.endsWith('.ts') ? ['--import', tsxImport(workerPath)] : []);
  const args = (options.registerModules ?? []).flatMap((m) => ['--register', m]);
  const graceMs = options.cancelGraceMs ?? 500;

  return new Promise<R>((resolve, reject) => {
    let settled = false;
    let ready = false;
    let cancelRequested = false;
    let exited = false;
    const stderrTail: string[] = [];
    const timers: NodeJS.Timeout[] = [];

    let child: ChildProcess;
    try {
      child = fork(workerPath, args, {
        execArgv,
        cwd: options.cwd,
        // ELECTRON_RUN_AS_NODE: inside VS Code, process.execPath is Electron; this makes it act as node.
        env: { ...process.env, ...options.env, ELECTRON_RUN_AS_NODE: '1' },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'advanced',
      });
    } catch (e) {
      reject(fail('IO_ERROR', `could not start the worker ${workerPath}: ${describeError(e)}`, { file: workerPath }));
      return;
    }

    const kill = () => {
      if (!exited) child.kill('SIGKILL');
    };
    // A parent that exits (process.exit, end of CLI) must not leave a busy worker behind.
    process.on('exit', kill);

    const settle = (outcome: { value: unknown } | { error: JobError }) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      options.signal?.removeEventListener('abort', onAbort);
      // Let the worker exit by itself (it exits when the IPC channel closes); kill it if it does not.
      if (child.connected) child.disconnect();
      setTimeout(kill, 2000).unref();
      if ('value' in outcome) resolve(outcome.value as R);
      else reject(outcome.error);
    };
    const safely = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        // A throwing callback of the caller must not become an uncaught exception in the host.
        kill();
        settle({ error: fail('RUNTIME_ERROR', `job "${kind}": a progress/log/metric callback threw: ${describeError(e)}`) });
      }
    };
    const send = (msg: ParentMessage): boolean => {
      if (!child.connected) return false;
      try {
        child.send(msg);
        return true;
      } catch (e) {
        kill();
        settle({ error: fail('OPTION_INVALID', `job "${kind}": its parameters cannot be sent to the worker: ${describeError(e)}`) });
        return false;
      }
    };

    const onAbort = () => {
      if (settled || cancelRequested) return;
      cancelRequested = true;
      const cancelled = () => fail('CANCELLED', `job "${kind}" was cancelled`);
      if (!ready || !send({ type: 'cancel', jobId })) {
        kill();
        settle({ error: cancelled() });
        return;
      }
      timers.push(
        setTimeout(() => {
          // The handler ignored its signal (busy loop, a long native call): end it the hard way.
          kill();
          settle({ error: cancelled() });
        }, graceMs),
      );
    };
    options.signal?.addEventListener('abort', onAbort);

    timers.push(
      setTimeout(() => {
        if (ready) return;
        kill();
        settle({ error: fail('RUNTIME_ERROR', `the worker for job "${kind}" did not start within ${options.readyTimeoutMs ?? 60000} ms`) });
      }, options.readyTimeoutMs ?? 60000),
    );

    const lines = (stream: NodeJS.ReadableStream | null, source: 'stdout' | 'stderr') => {
      if (!stream) return;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (text) => {
        if (source === 'stderr') {
          stderrTail.push(text);
          if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
        }
        if (!settled && options.onLog) safely(() => options.onLog!({ level: source === 'stderr' ? 'warn' : 'info', text, source }));
      });
    };
    lines(child.stdout, 'stdout');
    lines(child.stderr, 'stderr');

    child.on('spawn', () => {
      if (child.pid !== undefined && options.onSpawn) safely(() => options.onSpawn!(child.pid!));
    });
    child.on('error', (e) => {
      kill();
      settle({ error: fail('IO_ERROR', `the worker process for job "${kind}" failed: ${describeError(e)}`, { file: workerPath }) });
    });

    child.on('message', (raw: unknown) => {
      if (settled) return;
      let m;
      try {
        m = parseWorkerMessage(raw);
        if (m.type !== 'ready' && m.type !== 'error' && m.jobId !== jobId) throw new Error(`message for job ${m.jobId}, expected ${jobId}`);
      } catch (e) {
        kill();
        settle({ error: fail('RUNTIME_ERROR', `job "${kind}": the worker broke the protocol: ${describeError(e)}`, { rule: 'protocol' }) });
        return;
      }
      switch (m.type) {
        case 'ready':
          if (m.protocol !== PROTOCOL_VERSION) {
            kill();
            settle({ error: fail('RUNTIME_ERROR', `the worker ${workerPath} speaks job protocol ${m.protocol}, this client ${PROTOCOL_VERSION}; rebuild with \`npm run build\``, { file: workerPath, rule: 'protocol' }) });
          } else if (!m.kinds.includes(kind)) {
            kill();
            settle({ error: fail('OPTION_INVALID', `unknown job kind "${kind}" (the worker runs: ${m.kinds.join(', ') || 'none'})`) });
          } else {
            ready = true;
            send({ type: 'start', jobId, kind, params });
          }
          return;
        case 'progress': {
          const { type: _t, jobId: _j, ...info } = m;
          if (options.onProgress) safely(() => options.onProgress!(info));
          return;
        }
        case 'log':
          if (options.onLog) safely(() => options.onLog!({ level: m.level, text: m.text, source: 'job' }));
          return;
        case 'metric':
          if (options.onMetric) safely(() => options.onMetric!(m.point));
          return;
        case 'result':
          settle({ value: m.value });
          return;
        case 'error': {
          const code = cancelRequested ? 'CANCELLED' : m.code;
          const message = cancelRequested ? `job "${kind}" was cancelled` : m.message;
          settle({ error: fail(code, message, m.context, { workerStack: m.stack }) });
          return;
        }
      }
    });

    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const onGone = () => {
      process.off('exit', kill);
      if (settled) return;
      if (cancelRequested) return settle({ error: fail('CANCELLED', `job "${kind}" was cancelled`) });
      const how = exitInfo?.signal ? `was killed by signal ${exitInfo.signal}` : `exited with code ${exitInfo?.code ?? 'unknown'}`;
      const lastErr = [...stderrTail].reverse().find((l) => l.trim() !== '');
      settle({
        error: fail('RUNTIME_ERROR', `the worker for job "${kind}" ${how} before sending a result${lastErr ? ` (last stderr line: ${lastErr.trim()})` : ''}`, { rule: 'worker-crashed' }, {
          exitCode: exitInfo?.code ?? null,
          exitSignal: exitInfo?.signal ?? null,
          stderrTail: [...stderrTail],
        }),
      });
    };
    child.on('exit', (code, signal) => {
      exited = true;
      exitInfo = { code, signal };
      // 'close' normally follows once stdio and IPC are drained; a grandchild holding the pipes must not delay the verdict.
      setTimeout(onGone, 1000).unref();
    });
    child.on('close', onGone);
  });
}
