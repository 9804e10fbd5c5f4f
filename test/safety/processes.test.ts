// Hangs, races and crashes, with real processes and real signals: FIFOs are refused at once, one writer per
// run folder, killed runs leave nothing that blocks the next one, and the worker dies with its parent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { acquireRunLock } from '../../src/core/runs/lock';
import { cliRun, cliSpawn, isAlive, tempDir, waitFor, writeRows } from './helpers';

const TINY = { pattern: 'M-M*', hiddenSize: 32, vocabSize: 300, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 8 } as const;

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

/** Child processes of `pid` (from /proc). */
function children(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('a FIFO as config.json or as a shard is refused at once (inspect and the extension\'s loader), never a hang', async (t) => {
  const dir = tempDir(t);
  const a = (await writeFixtureCheckpoint(join(dir, 'a'), TINY)).dir;
  unlinkSync(join(a, 'config.json'));
  execFileSync('mkfifo', [join(a, 'config.json')]);
  const t0 = Date.now();
  let r = cliRun(['inspect', a], dir, 10_000);
  assert.equal(r.signal, null, 'inspect must not hang until the timeout');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /config\.json.*FIFO/);
  const b = (await writeFixtureCheckpoint(join(dir, 'b'), TINY)).dir;
  unlinkSync(join(b, 'model.safetensors'));
  execFileSync('mkfifo', [join(b, 'model.safetensors')]);
  r = cliRun(['inspect', b], dir, 10_000);
  assert.equal(r.signal, null);
  assert.match(r.stderr, /model\.safetensors.*FIFO/);
  await assert.rejects(openCheckpoint(b), /FIFO/);
  assert.ok(Date.now() - t0 < 8000);
});

test('one writer per run folder: a second distill (or a --resume) on a live run is refused; a dead holder\'s lock is taken over', async (t) => {
  const dir = tempDir(t);
  const teacher = (await writeFixtureCheckpoint(join(dir, 'teacher'), TINY)).dir;
  const student = (await writeFixtureCheckpoint(join(dir, 'student'), { ...TINY, hiddenSize: 16 })).dir;
  const data = writeRows(join(dir, 'rows.jsonl'), 8, 16, 300);
  const out = join(dir, 'run');
  const args = ['distill', '--teacher', teacher, '--student', student, '--data', data, '--out', out, '--seq-len', '16', '--batch', '2', '--packing', 'none', '--device', 'cpu', '--threads', '1'];
  const first = cliSpawn([...args, '--steps', '400', '--save-every', '50'], dir);
  const firstDone = new Promise<number | null>((res) => first.on('exit', (c) => res(c)));
  await waitFor(() => existsSync(join(out, 'metrics.jsonl')), 60_000, 'the first run to start');
  const second = cliRun([...args, '--steps', '5'], dir);
  assert.equal(second.status, 2, second.stderr);
  assert.match(second.stderr, /in use by distill \(pid \d+/);
  const resumed = cliRun([...args, '--steps', '400', '--resume'], dir);
  assert.equal(resumed.status, 2, resumed.stderr);
  assert.match(resumed.stderr, /in use by distill/);
  assert.equal(await firstDone, 0);
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss?: number }).filter((p) => p.loss !== undefined).map((p) => p.step);
  assert.equal(new Set(steps).size, steps.length, 'no step twice in metrics.jsonl');
  assert.ok(!existsSync(join(out, '.lock')), 'the lock is released when the run ends');
  // A lock whose process is gone is taken over.
  writeFileSync(join(out, '.lock'), JSON.stringify({ pid: deadPid(), host: hostname(), what: 'distill', since: 'then' }));
  const lock = acquireRunLock(out, 'test');
  assert.match(readFileSync(join(out, '.lock'), 'utf8'), new RegExp(`"pid":${process.pid}`));
  assert.throws(() => acquireRunLock(out, 'again'), /in use by test/);
  lock.release();
  assert.ok(!existsSync(join(out, '.lock')));
});

test('two calibrations with different settings on one --out: one runs, the other is refused', async (t) => {
  const dir = tempDir(t);
  const model = (await writeFixtureCheckpoint(join(dir, 'm'), TINY)).dir;
  const data = writeRows(join(dir, 'rows.jsonl'), 64, 64, 300);
  const out = join(dir, 'cal');
  const run = (samples: string) => cliSpawn(['calibrate', model, '--data', data, '--samples', samples, '--seq-len', '64', '--batch', '1', '--packing', 'none', '--device', 'cpu', '--threads', '1', '--depth', 'kl', '--depth-samples', samples, '--out', out], dir);
  const procs = [run('64'), run('32')];
  const codes = await Promise.all(procs.map((p) => new Promise<number | null>((res) => p.on('exit', (c) => res(c)))));
  assert.deepEqual([...codes].sort(), [0, 2], `exit codes ${codes.join(', ')}`);
  const result = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { status: string; settings: { samples: number } };
  assert.equal(result.status, 'done');
  const winner = codes[0] === 0 ? 64 : 32;
  assert.equal(result.settings.samples, winner, 'the run folder holds the settings of the run that wrote it');
});

test('a killed prune leaves a .partial folder that the next prune on that output removes; a killed CLI takes its worker with it', async (t) => {
  const dir = tempDir(t);
  const src = (await writeFixtureCheckpoint(join(dir, 'src'), TINY)).dir;
  const out = join(dir, 'pruned');
  const leftover = join(dir, `.pruned.partial-${deadPid()}-${hostname()}-abc`);
  mkdirSync(leftover);
  writeFileSync(join(leftover, 'model.safetensors'), Buffer.alloc(1 << 16));
  const r = cliRun(['prune', src, '--importance', 'random', '--hidden-size', '16', '--out', out, '--no-verify'], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!existsSync(leftover), 'the dead run\'s partial folder is gone');
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.partial-')), []);

  // SIGKILL of the CLI while its worker computes: the worker follows within a second.
  const data = writeRows(join(dir, 'rows.jsonl'), 512, 64, 300);
  const cli = cliSpawn(['calibrate', src, '--data', data, '--samples', '512', '--seq-len', '64', '--batch', '1', '--packing', 'none', '--device', 'cpu', '--threads', '1', '--depth', 'kl', '--depth-samples', '512', '--out', join(dir, 'cal')], dir);
  let worker = 0;
  await waitFor(() => (worker = children(cli.pid!)[0] ?? 0) > 0 && existsSync(join(dir, 'cal', 'run.json')), 30_000, 'the worker to start');
  cli.kill('SIGKILL');
  await waitFor(() => !isAlive(worker), 3000, `worker ${worker} to die with its parent`);
});

test('SIGTERM ends a running job cleanly: the run is recorded cancelled and its lock released', async (t) => {
  const dir = tempDir(t);
  const src = (await writeFixtureCheckpoint(join(dir, 'src'), TINY)).dir;
  const data = writeRows(join(dir, 'rows.jsonl'), 512, 64, 300);
  const out = join(dir, 'cal');
  const cli = cliSpawn(['calibrate', src, '--data', data, '--samples', '512', '--seq-len', '64', '--batch', '1', '--packing', 'none', '--device', 'cpu', '--threads', '1', '--depth', 'kl', '--depth-samples', '512', '--out', out], dir);
  const code = new Promise<number | null>((res) => cli.on('exit', (c) => res(c)));
  await waitFor(() => children(cli.pid!).length > 0 && existsSync(join(out, 'run.json')), 30_000, 'the job to start');
  cli.kill('SIGTERM');
  const t0 = Date.now();
  assert.notEqual(await code, 0);
  assert.ok(Date.now() - t0 < 5000, 'SIGTERM is honoured promptly');
  assert.equal((JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { status: string }).status, 'cancelled');
  assert.ok(!existsSync(join(out, '.lock')));
});
