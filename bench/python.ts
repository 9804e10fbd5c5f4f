// The benches' outside oracle: PyTorch + transformers from the venv scripts/conformance-setup.sh makes
// (or $HC_BENCH_PYTHON), running the small scripts in bench/py/. Python is never a product dependency.
// A script stays up for the whole bench and speaks bench/py/protocol.py, so the bench can alternate
// its own runs with the PyTorch side's and both see the same machine load. A failure on the Python side
// is reported as a failure, never a crash of the bench.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(__dirname, '..');

export function benchPython(): string | undefined {
  const py = process.env['HC_BENCH_PYTHON'] ?? join(ROOT, '.cache', 'conformance-venv', 'bin', 'python');
  return existsSync(py) ? py : undefined;
}

export type PythonResult<T> = { ok: true; result: T } | { ok: false; error: string };

/** One bench/py script, running, between its setup and its finish. */
export class PythonSide {
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private exited: string | undefined;
  private stderr = '';

  private constructor(
    readonly script: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      this.lines.push(l);
      this.wake();
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-20_000);
    });
    child.on('close', (code, signal) => {
      this.exited = `${script} exit ${code ?? signal}: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      this.wake();
    });
    child.on('error', (e) => {
      this.exited = `${script}: ${e.message}`;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Starts bench/py/<script> with arguments and waits for its setup; the failure names the reason. */
  static async start(script: string, args: readonly string[], timeoutMs = 1_800_000): Promise<PythonResult<PythonSide>> {
    const py = benchPython();
    if (!py) return { ok: false, error: 'no PyTorch venv (make it with: bash scripts/conformance-setup.sh)' };
    const child = spawn(py, [join(ROOT, 'bench', 'py', script), ...args], { env: { ...process.env, TRANSFORMERS_VERBOSITY: 'error', HF_HUB_OFFLINE: '1', PYTHONUNBUFFERED: '1' } });
    const side = new PythonSide(script, child);
    const ready = await side.reply<{ ready?: boolean }>(timeoutMs);
    if (!ready.ok) return ready;
    if (ready.result.ready !== true) {
      side.kill();
      return { ok: false, error: `${script} did not report ready (got ${JSON.stringify(ready.result)})` };
    }
    return { ok: true, result: side };
  }

  private async reply<T>(timeoutMs: number): Promise<PythonResult<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        try {
          const v = JSON.parse(line) as unknown;
          if (v !== null && typeof v === 'object' && !Array.isArray(v)) return { ok: true, result: v as T };
        } catch {
          // a stray print: not a protocol line
        }
        continue;
      }
      if (this.exited) return { ok: false, error: this.exited };
      if (Date.now() > deadline) {
        this.kill();
        return { ok: false, error: `${this.script}: no answer within ${Math.round(timeoutMs / 1000)} s` };
      }
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, Math.min(1000, Math.max(1, deadline - Date.now()))).unref();
      });
    }
  }

  private async command<T>(cmd: Record<string, unknown>, timeoutMs: number): Promise<PythonResult<T>> {
    if (this.exited) return { ok: false, error: this.exited };
    this.child.stdin.write(JSON.stringify(cmd) + '\n');
    return this.reply<T>(timeoutMs);
  }

  /** n measurements (milliseconds each). */
  async run(n = 1, timeoutMs = 1_800_000): Promise<PythonResult<number[]>> {
    const r = await this.command<{ ms?: unknown }>({ op: 'run', n }, timeoutMs);
    if (!r.ok) return r;
    const ms = r.result.ms;
    if (!Array.isArray(ms) || ms.length !== n || !ms.every((x) => typeof x === 'number' && x > 0)) return { ok: false, error: `${this.script}: bad run answer ${JSON.stringify(r.result)}` };
    return { ok: true, result: ms as number[] };
  }

  /** The script's final results; the process exits after answering. */
  async finish<T = Record<string, unknown>>(timeoutMs = 600_000): Promise<PythonResult<T>> {
    const r = await this.command<T>({ op: 'finish' }, timeoutMs);
    this.child.stdin.end();
    return r;
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
