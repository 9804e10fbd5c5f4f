// The compute benches run the engine in their own process; the product runs it in the job worker, which
// starts with the environment of core/jobs/worker-process.ts (glibc asked for huge pages for large blocks,
// util/malloc-tunables.ts). A bench started without that environment runs itself again with it, so it
// measures the process setup users get; the PyTorch side, a child of the bench, inherits it too.

import { spawnSync } from 'node:child_process';
import { computeMallocEnv } from '../src/core/util/malloc-tunables';

/** True when this process has the worker's environment; otherwise reruns the bench with it, sets the exit code and returns false. */
export function inWorkerEnvironment(): boolean {
  const want = computeMallocEnv();
  if (Object.entries(want).every(([k, v]) => process.env[k] === v)) return true;
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, ...want } });
  process.exitCode = r.status ?? 1;
  return false;
}
