// Shared helpers of the conformance tier: the project's CLI and the transformers oracle (oracle.py) run
// side by side on the same files. The venv is made by scripts/conformance-setup.sh; without it every test
// fails (never skips) with the command that makes it.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { Rng } from '../../src/core/util/random';

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');

export function venvPython(): string {
  const py = process.env['HC_CONFORMANCE_PYTHON'] ?? join(ROOT, '.cache', 'conformance-venv', 'bin', 'python');
  if (!existsSync(py)) throw new Error(`the conformance venv is missing (${py}); make it with: bash scripts/conformance-setup.sh`);
  return py;
}

export type OracleResult = Record<string, unknown> & { op: string; ok: boolean };

/** Runs oracle ops in one Python process; throws with the Python error on the first failed op. */
export function oracle(ops: Record<string, unknown>[]): OracleResult[] {
  const r = spawnSync(venvPython(), [join(__dirname, 'oracle.py')], { input: JSON.stringify(ops), encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error', HF_HUB_OFFLINE: '1' } });
  if (r.status !== 0) throw new Error(`oracle.py exited ${r.status}: ${r.stderr.slice(-3000)}`);
  const out = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as OracleResult);
  for (const o of out) if (!o.ok) throw new Error(`oracle op ${o.op} failed: ${String(o['error'])}\n${String(o['trace'] ?? '')}`);
  if (out.length !== ops.length) throw new Error(`oracle answered ${out.length} of ${ops.length} ops: ${r.stderr.slice(-2000)}`);
  return out;
}

/** The CLI's working folder: commands without --out write run folders under <cwd>/.hybrid-compress, never into the repository. */
const CLI_CWD = mkdtempSync(join(tmpdir(), 'hc-conf-cwd-'));
process.on('exit', () => rmSync(CLI_CWD, { recursive: true, force: true }));

/** Runs the built CLI; returns stdout, throws with stderr on a non-zero exit. */
export function cli(...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, cwd: CLI_CWD });
  if (r.status !== 0) throw new Error(`hybrid-compress ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The last JSON line of a --json command (its result). */
export function cliJson<T = Record<string, unknown>>(...args: string[]): T {
  const lines = cli(...args, '--json').trim().split('\n');
  const last = JSON.parse(lines[lines.length - 1]!) as { event?: string; result?: T } & T;
  return (last.event === 'result' ? last.result : last) as T;
}

export function tempDir(t: TestContext, prefix = 'hc-conf-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `rows` rows of `seq` random token ids below `vocab`, as pre-tokenised JSONL. */
export function writeIds(path: string, rows: number, seq: number, vocab: number, seed = 7): void {
  const rng = new Rng(seed);
  const lines = Array.from({ length: rows }, () => JSON.stringify({ input_ids: Array.from({ length: seq }, () => rng.int(vocab)) }));
  writeFileSync(path, lines.join('\n') + '\n');
}

export { readTensors } from '../safetensors/helpers';

export { maxAbsDiff, maxRelDiff } from '../reference/helpers';

export function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Largest differences seen, printed by the tier for the record (node --test shows diagnostics). */
export function report(t: TestContext, what: string, value: number): void {
  t.diagnostic(`${what}: ${value.toExponential(2)}`);
}
