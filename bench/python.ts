// The benches' outside oracle: PyTorch + transformers from the venv scripts/conformance-setup.sh makes
// (or $HC_BENCH_PYTHON), running the small scripts in bench/py/. Python is never a product dependency; when
// the venv is missing, benches say so and print only their own figures. A failure on the Python side is
// reported as a failure line, never a crash of the bench.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

export function benchPython(): string | undefined {
  const py = process.env['HC_BENCH_PYTHON'] ?? join(ROOT, '.cache', 'conformance-venv', 'bin', 'python');
  return existsSync(py) ? py : undefined;
}

export type PythonRun<T> = { ok: true; result: T } | { ok: false; error: string };

/**
 * Runs bench/py/<script> with arguments; its result is the JSON object on the last line of stdout.
 * The last lines of stderr explain a failure.
 */
export function runPythonScript<T = Record<string, unknown>>(script: string, args: readonly string[], timeoutMs = 1_800_000): PythonRun<T> {
  const py = benchPython();
  if (!py) return { ok: false, error: 'no PyTorch venv (make it with: bash scripts/conformance-setup.sh)' };
  const r = spawnSync(py, [join(ROOT, 'bench', 'py', script), ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error', HF_HUB_OFFLINE: '1' } });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
    return { ok: false, error: `${script} exit ${r.status ?? r.signal}: ${why}` };
  }
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const v = JSON.parse(last) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return { ok: true, result: v as T };
  } catch {
    // reported below
  }
  return { ok: false, error: `${script} printed no JSON result (last line: "${last.slice(0, 200)}")` };
}
