// Shared by the WebGPU tier (scripts/webgpu-tier.ts): comparisons, the CLI as a child process, and where
// ORT placed each node (from its profile).

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

/** The environment a user gets without any setup: no library path, no Vulkan driver variables. */
export function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['LD_LIBRARY_PATH', 'VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'VK_ADD_DRIVER_FILES']) delete env[k];
  return env;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The `{"event":"result"}` line's result with --json. */
  result?: Record<string, unknown>;
  /** Log lines of the job (--json `{"type":"log"}` lines). */
  logs: string[];
}

/** Runs dist/cli.js (built by the tier runner) with `args`, as a user would. */
/** The CLI's working folder: commands without --out write run folders under <cwd>/.hybrid-compress, never into the repository. */
const CLI_CWD = mkdtempSync(join(tmpdir(), 'hc-webgpu-cwd-'));
process.on('exit', () => rmSync(CLI_CWD, { recursive: true, force: true }));

export function cli(args: string[], env: NodeJS.ProcessEnv = plainEnv()): Promise<CliRun> {
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { env, cwd: CLI_CWD, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
      const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const result = parsed.find((p) => p['event'] === 'result')?.['result'] as Record<string, unknown> | undefined;
      const logs = parsed.filter((p) => p['type'] === 'log').map((p) => String(p['text']));
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr, result, logs });
    });
  });
}

/** Node counts per (provider, op) from an ORT profile (chrome-trace JSON; kernel events carry the provider). */
export function placement(profileFile: string): Map<string, Map<string, number>> {
  const events = JSON.parse(readFileSync(profileFile, 'utf8')) as { cat?: string; name?: string; args?: { provider?: string; op_name?: string } }[];
  const out = new Map<string, Map<string, number>>();
  const seen = new Set<string>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.args?.provider || !e.args.op_name || !e.name?.endsWith('_kernel_time')) continue;
    if (seen.has(e.name)) continue; // one entry per node, however many runs were profiled
    seen.add(e.name);
    const byOp = out.get(e.args.provider) ?? new Map<string, number>();
    byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + 1);
    out.set(e.args.provider, byOp);
  }
  return out;
}

/** The profile file ORT wrote for `prefix` (the newest one). */
export function profileFile(prefix: string): string {
  const dir = dirname(prefix);
  const files = readdirSync(dir).filter((f) => f.startsWith(basename(prefix)) && f.endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no ORT profile written for ${prefix}`);
  return join(dir, files[files.length - 1]!);
}
