// The benches' outside oracle: PyTorch + transformers from the venv scripts/conformance-setup.sh makes
// (or $HC_BENCH_PYTHON). Python is never a product dependency; when the venv is missing, benches say so
// and print only their own figures. A failure on the Python side is reported as a failure line, never a
// crash of the bench.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function benchPython(): string | undefined {
  const py = process.env['HC_BENCH_PYTHON'] ?? join(resolve(__dirname, '..'), '.cache', 'conformance-venv', 'bin', 'python');
  return existsSync(py) ? py : undefined;
}

export type PythonRun = { ok: true; stdout: string } | { ok: false; error: string };

/** Runs a Python script (source text) with arguments; the last lines of stderr explain a failure. */
export function runPython(source: string, args: readonly string[], timeoutMs = 1_800_000): PythonRun {
  const py = benchPython();
  if (!py) return { ok: false, error: 'no PyTorch venv (make it with: bash scripts/conformance-setup.sh)' };
  const r = spawnSync(py, ['-c', source, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error' } });
  if (r.status === 0) return { ok: true, stdout: r.stdout };
  const why = r.error ? r.error.message : (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
  return { ok: false, error: `exit ${r.status ?? r.signal}: ${why}` };
}
