// Real processes for the safety tests: the built CLI, with its exit status and output.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { Rng } from '../../src/core/util/random';

export const CLI = resolve(__dirname, '..', '..', 'dist', 'cli.js');

export function tempDir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'hc-safety-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export function cliRun(args: string[], cwd: string, timeoutMs = 120_000): { status: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

export function cliSpawn(args: string[], cwd: string): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Pre-tokenised rows (JSONL input_ids) of random ids below `vocab`. */
export function writeRows(path: string, rows: number, seq: number, vocab: number, seed = 5): string {
  const rng = new Rng(seed);
  writeFileSync(path, Array.from({ length: rows }, () => JSON.stringify({ input_ids: Array.from({ length: seq }, () => rng.int(vocab)) })).join('\n') + '\n');
  return path;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
