// Starting a worker process: where its entry lives (bundled dist/worker.js or the TypeScript source),
// how Node must be told to run it, and the environment it needs. A process, not a worker thread,
// because a native abort in onnxruntime would otherwise take down the extension host.

import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerVulkanEnv } from '../util/vulkan';
import { computeMallocEnv } from '../util/malloc-tunables';

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

export interface WorkerSpawnOptions {
  /** Node flags; default [] for a .js entry and ['--import', <tsx>] for a .ts entry. */
  execArgv?: string[];
  /** Registration modules passed as --register (each exports registerJobs(registry)). */
  registerModules?: string[];
  cwd?: string;
  /** Added to the parent's environment. */
  env?: Record<string, string>;
}

/** Forks the worker with an IPC channel and piped stdout/stderr (throws if it cannot be started). */
export function forkWorker(workerPath: string, o: WorkerSpawnOptions): ChildProcess {
  const execArgv = o.execArgv ?? (workerPath.endsWith('.ts') ? ['--import', tsxImport(workerPath)] : []);
  const args = (o.registerModules ?? []).flatMap((m) => ['--register', m]);
  return fork(workerPath, args, {
    execArgv,
    cwd: o.cwd,
    // ELECTRON_RUN_AS_NODE: inside VS Code, process.execPath is Electron; this makes it act as node.
    // workerVulkanEnv: a Vulkan loader for --device webgpu must be on the library path at start.
    // computeMallocEnv: huge pages for the large blocks every ORT output is copied into (malloc-tunables.ts).
    env: { ...process.env, ...computeMallocEnv({ ...process.env, ...o.env }), ...workerVulkanEnv({ ...process.env, ...o.env }), ...o.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
}
