// Entry of the compute worker process (bundled to dist/worker.js). Started by runJob() with
// child_process.fork, never run by hand.
//
// argv: `--register <module>` (repeatable) loads an extra registration module exporting
// `registerJobs(registry)`. Tests use it to add their jobs; production passes none, so the
// bundle contains only the handlers listed in handlers/index.ts.

import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { HybridCompressError } from '../errors';
import { registerJobs as registerBuiltinJobs } from './registered-jobs';
import { JobRegistry, type RegisterJobs } from '../jobs/registry';
import { NO_JOB_ID, WorkerRuntime, errorToMessage, type WorkerPort } from '../jobs/worker';

function registerArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--register') {
      const v = argv[++i];
      if (v === undefined) throw new HybridCompressError('OPTION_INVALID', '--register needs a module path', { option: 'register' });
      out.push(v);
    } else if (a.startsWith('--register=')) {
      out.push(a.slice('--register='.length));
    } else {
      throw new HybridCompressError('OPTION_INVALID', `unknown worker argument ${JSON.stringify(a)} (valid: --register <module>)`);
    }
  }
  return out;
}

async function loadRegistration(path: string): Promise<RegisterJobs> {
  const abs = resolve(path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    throw new HybridCompressError('IO_ERROR', `cannot load job registration module ${abs}: ${(e as Error).message}`, { file: abs });
  }
  // A CommonJS module imported from ESM exposes its exports under `default` as well.
  const fn = mod['registerJobs'] ?? (mod['default'] as Record<string, unknown> | undefined)?.['registerJobs'];
  if (typeof fn !== 'function') {
    throw new HybridCompressError('IO_ERROR', `job registration module ${abs} does not export a function registerJobs(registry)`, { file: abs });
  }
  return fn as RegisterJobs;
}

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  let alive = process.ppid === workerData.ppid;
  if (alive) try { process.kill(workerData.ppid, 0); } catch (e) { alive = e.code === 'EPERM'; }
  if (!alive) process.kill(process.pid, 'SIGKILL');
}, 250);
`;

/** A worker thread that kills this process when its parent dies (threads run while the main thread is busy). */
function watchParent(): void {
  const t = new Worker(WATCHDOG, { eval: true, workerData: { ppid: process.ppid } });
  t.unref();
}

async function main(): Promise<void> {
  if (typeof process.send !== 'function') {
    process.stderr.write('this is the hybrid-compress compute worker; it is started by the CLI or the extension, not by hand\n');
    process.exit(2);
  }
  const port = process as unknown as WorkerPort;
  let runtime: WorkerRuntime | undefined;

  // The parent going away (closed IPC) ends the worker: nobody would receive its result. A job busy in a
  // long synchronous call (an ORT run) cannot see 'disconnect', so a watchdog thread also checks that the
  // parent lives and kills this process the moment it is gone (a SIGKILLed CLI leaves no orphan).
  process.on('disconnect', () => process.exit(0));
  watchParent();
  const fatal = (e: unknown) => {
    const done = () => process.exit(70);
    setTimeout(done, 500).unref();
    if (runtime) runtime.reportFatal(e, done);
    else port.send(errorToMessage(NO_JOB_ID, e), done);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);

  try {
    const registry = new JobRegistry();
    registerBuiltinJobs(registry);
    for (const p of registerArgs(process.argv.slice(2))) await (await loadRegistration(p))(registry);
    runtime = new WorkerRuntime(registry, port);
    runtime.start();
  } catch (e) {
    fatal(e);
  }
}

void main();
