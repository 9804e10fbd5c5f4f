// The worker process end to end: forks the real worker entry (from sources through tsx) with the
// test-only job registration, and checks results, progress, cancel and crash handling.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { runJob, type JobLogEntry, type RunJobOptions } from '../../src/core/jobs/client';
import { JobError } from '../../src/core/jobs/job-error';
import { describeWorkerDeath } from '../../src/core/jobs/worker-death';
import type { MetricPoint, ProgressInfo } from '../../src/core/jobs/protocol';

const WORKER = join(__dirname, '../../src/core/pipeline/worker-main.ts');
const TEST_JOBS = join(__dirname, 'fixtures/test-jobs.ts');

function run<R = unknown>(kind: string, params: unknown = {}, opts: RunJobOptions = {}): Promise<R> {
  return runJob<R>(kind, params, { workerPath: WORKER, registerModules: [TEST_JOBS], ...opts });
}

async function rejection(p: Promise<unknown>): Promise<JobError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof JobError, `expected a JobError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the job to fail');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !isAlive(pid);
}

/** Starts a job and cancels it as soon as the handler logs "started"; returns the error and the ms from cancel to rejection. */
async function cancelAfterStart(kind: string, opts: RunJobOptions = {}): Promise<{ error: JobError; ms: number; pid: number }> {
  const ac = new AbortController();
  let cancelledAt = 0;
  let pid = 0;
  const p = run(kind, {}, {
    signal: ac.signal,
    onSpawn: (p) => (pid = p),
    onLog: (e) => {
      if (e.text === 'started') {
        cancelledAt = performance.now();
        ac.abort();
      }
    },
    ...opts,
  });
  const error = await rejection(p);
  assert.ok(cancelledAt > 0, 'the job never logged "started"');
  return { error, ms: performance.now() - cancelledAt, pid };
}

test('a job returns its structured-cloned result from a separate process', async () => {
  const params = { a: 1, s: 'x', f: new Float32Array([1.5, -2]), inf: Infinity, nested: { m: new Map([['k', 2]]) } };
  const r = await run<{ echoed: typeof params; pid: number }>('test-echo', params);
  assert.notEqual(r.pid, process.pid);
  assert.ok(r.echoed.f instanceof Float32Array);
  assert.deepEqual([...r.echoed.f], [1.5, -2]);
  assert.equal(r.echoed.inf, Infinity);
  assert.equal(r.echoed.nested.m.get('k'), 2);
  assert.equal(await waitGone(r.pid), true, 'the worker exits after answering');
});

test('progress, log and metric messages reach the callbacks in order', async () => {
  const progress: ProgressInfo[] = [];
  const metrics: MetricPoint[] = [];
  const logs: JobLogEntry[] = [];
  const r = await run<{ steps: number }>('test-progress', { steps: 200 }, {
    onProgress: (p) => progress.push(p),
    onMetric: (m) => metrics.push(m),
    onLog: (l) => logs.push(l),
  });
  assert.equal(r.steps, 200);
  // Every metric point arrives (they feed curves); progress is coalesced but keeps the last of a phase.
  assert.deepEqual(metrics.map((m) => m.step), Array.from({ length: 200 }, (_, i) => i + 1));
  assert.equal(metrics[3]!['loss'], 1 / 4);
  assert.ok(progress.length >= 2 && progress.length <= 201, `got ${progress.length} progress messages`);
  const work = progress.filter((p) => p.phase === 'work');
  assert.deepEqual(work.at(-1), { phase: 'work', done: 200, total: 200, unit: 'steps', tokensPerS: 200000, etaS: 0 });
  for (let i = 1; i < work.length; i++) assert.ok(work[i]!.done > work[i - 1]!.done, 'progress is monotone');
  assert.equal(progress.at(-1)!.phase, 'finish');
  assert.deepEqual(logs, [{ level: 'info', text: 'phase work done', source: 'job' }]);
});

test('a burst of progress updates is coalesced to a few messages', async () => {
  let n = 0;
  await run('test-progress', { steps: 5000 }, { onProgress: () => n++ });
  assert.ok(n < 100, `5000 synchronous updates became ${n} messages`);
});

test('worker stdout and stderr become log entries', async () => {
  const logs: JobLogEntry[] = [];
  assert.equal(await run('test-print', {}, { onLog: (l) => logs.push(l) }), 'printed');
  assert.ok(logs.some((l) => l.source === 'stdout' && l.level === 'info' && l.text === 'hello from stdout'));
  assert.ok(logs.some((l) => l.source === 'stderr' && l.level === 'warn' && l.text === 'warning from stderr'));
});

test('a typed error from the handler keeps its code, message and context', async () => {
  const e = await rejection(run('test-fail', { file: 'data.jsonl' }));
  assert.equal(e.code, 'DATA_INVALID');
  assert.equal(e.message, 'bad record in data.jsonl');
  assert.deepEqual(e.context, { file: 'data.jsonl' });
  assert.equal(e.kind, 'test-fail');
  assert.match(e.details.workerStack ?? '', /test-jobs/);
});

test('a plain exception becomes RUNTIME_ERROR naming the error type', async () => {
  const e = await rejection(run('test-throw-plain'));
  assert.equal(e.code, 'RUNTIME_ERROR');
  assert.equal(e.message, 'TypeError: x is not a function');
});

test('an exception outside the handler is reported, not lost', async () => {
  const e = await rejection(run('test-uncaught'));
  assert.equal(e.code, 'RUNTIME_ERROR');
  assert.match(e.message, /boom outside the handler/);
});

test('a result that cannot be cloned becomes an error', async () => {
  const e = await rejection(run('test-bad-result'));
  assert.equal(e.code, 'RUNTIME_ERROR');
  assert.match(e.message, /result message could not be sent/);
});

test('an unknown kind is rejected with the list of kinds', async () => {
  const e = await rejection(run('no-such-job'));
  assert.equal(e.code, 'OPTION_INVALID');
  assert.match(e.message, /unknown job kind "no-such-job" \(the worker runs: .*test-echo/);
});

test('invalid progress from a handler fails the job with the offending field', async () => {
  const e = await rejection(run('test-bad-progress'));
  assert.equal(e.code, 'RUNTIME_ERROR');
  assert.match(e.message, /"phase" must not be empty/);
});

test('a malformed message from the worker fails the job instead of crashing the parent', async () => {
  let pid = 0;
  const e = await rejection(run('test-malformed', {}, { onSpawn: (p) => (pid = p) }));
  assert.equal(e.code, 'RUNTIME_ERROR');
  assert.equal(e.context.rule, 'protocol');
  assert.match(e.message, /"phase" must be a string/);
  assert.equal(await waitGone(pid), true);
});

test('cancel of a cooperative job settles as CANCELLED within a second', async () => {
  const { error, ms, pid } = await cancelAfterStart('test-wait-cancel');
  assert.equal(error.code, 'CANCELLED');
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  assert.equal(await waitGone(pid), true);
});

test('cancel of a job that blocks the event loop kills the worker within a second', async () => {
  const { error, ms, pid } = await cancelAfterStart('test-busy');
  assert.equal(error.code, 'CANCELLED');
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  assert.equal(await waitGone(pid, 1000), true, 'the busy worker was killed');
});

test('cancel of a job that ignores its signal honours cancelGraceMs', async () => {
  const { error, ms } = await cancelAfterStart('test-hang', { cancelGraceMs: 100 });
  assert.equal(error.code, 'CANCELLED');
  assert.ok(ms >= 90 && ms < 1000, `took ${ms.toFixed(0)} ms`);
});

test('an already-aborted signal rejects without forking', async () => {
  let spawned = false;
  const e = await rejection(run('test-echo', {}, { signal: AbortSignal.abort(), onSpawn: () => (spawned = true) }));
  assert.equal(e.code, 'CANCELLED');
  assert.equal(spawned, false);
});

test('a worker that calls process.exit(3) becomes an error naming the exit code', async () => {
  const e = await rejection(run('test-exit', { code: 3 }));
  assert.equal(e.code, 'RUNTIME_ERROR');
  assert.equal(e.context.rule, 'worker-crashed');
  assert.equal(e.details.exitCode, 3);
  assert.match(e.message, /exited with code 3 before sending a result \(last stderr line: about to exit\)/);
});

test('a native abort becomes an error naming SIGABRT', { skip: process.platform === 'win32' }, async () => {
  const e = await rejection(run('test-abort'));
  assert.equal(e.details.exitSignal, 'SIGABRT');
  assert.match(e.message, /killed by signal SIGABRT/);
});

test('a worker killed from outside becomes an error naming SIGKILL', { skip: process.platform === 'win32' }, async () => {
  const p = run('test-hang', {}, {
    onLog: (l) => {
      if (l.text === 'started') process.kill(pid, 'SIGKILL');
    },
    onSpawn: (p) => (pid = p),
  });
  let pid = 0;
  const e = await rejection(p);
  assert.equal(e.details.exitSignal, 'SIGKILL');
  assert.match(e.message, /killed by signal SIGKILL/);
});

test('a worker the out-of-memory killer ends is reported as such, with its peak memory and what would fit', { skip: process.platform !== 'linux' }, async () => {
  // The kernel's OOM-kill counter (injected) grows while the job runs; the job itself holds 200 MB then dies by SIGKILL.
  let kills = 7;
  const e = await rejection(run('test-grow-and-die', { mb: 200 }, { oomKills: () => kills, memoryHint: 'layer-streamed execution needs about 2 GB (--mode streamed)', onLog: (l) => l.text === 'grown' && (kills = 8) }));
  assert.equal(e.details.exitSignal, 'SIGKILL');
  assert.equal(e.details.outOfMemory, true);
  assert.equal(e.context.rule, 'out-of-memory');
  assert.ok(e.details.peakRss! >= 200 * 1024 * 1024, `peak ${e.details.peakRss}`);
  assert.match(e.message, /ran out of memory: the kernel's out-of-memory killer stopped it at a peak of \d+ MB resident \(this machine has .+ available when the job started\); layer-streamed execution needs about 2 GB \(--mode streamed\)/);
  // Same death without a grown counter: a plain SIGKILL, still with the peak it reached.
  const plain = await rejection(run('test-grow-and-die', { mb: 50 }, { oomKills: () => 7 }));
  assert.equal(plain.details.outOfMemory, false);
  assert.match(plain.message, /killed by signal SIGKILL before sending a result.*peak memory \d+ MB/);
});

test('describeWorkerDeath: the counter decides; without one, SIGKILL near the available memory is a probable OOM', () => {
  const base = { kind: 'calibrate', exitCode: null, memory: { total: 24e9, available: 20e9 } };
  assert.equal(describeWorkerDeath({ ...base, signal: 'SIGKILL', peakRss: 19e9, oomKillsBefore: 1, oomKillsAfter: 1 }).outOfMemory, false);
  assert.equal(describeWorkerDeath({ ...base, signal: 'SIGKILL', peakRss: 1e9, oomKillsBefore: 1, oomKillsAfter: 2 }).outOfMemory, true);
  const probable = describeWorkerDeath({ ...base, signal: 'SIGKILL', peakRss: 19e9 });
  assert.equal(probable.outOfMemory, true);
  assert.match(probable.message, /probably by the out-of-memory killer, at a peak of 19 GB resident .*lower --batch/);
  assert.equal(describeWorkerDeath({ ...base, signal: 'SIGKILL', peakRss: 2e9 }).outOfMemory, false);
  assert.equal(describeWorkerDeath({ ...base, signal: 'SIGABRT', peakRss: 19e9, oomKillsBefore: 1, oomKillsAfter: 2 }).outOfMemory, false);
});

test('a throwing callback fails the job rather than the host', async () => {
  const e = await rejection(run('test-progress', { steps: 3 }, { onProgress: () => { throw new Error('ui bug'); } }));
  assert.match(e.message, /callback threw: ui bug/);
});

test('a missing worker entry and a bad registration module are clear errors', async () => {
  const missing = await rejection(runJob('x', {}, { workerPath: join(tmpdir(), 'no-such-worker.js') }));
  assert.equal(missing.code, 'IO_ERROR');
  assert.match(missing.message, /does not exist/);
  const bad = await rejection(runJob('test-echo', {}, { workerPath: WORKER, registerModules: [join(__dirname, 'no-such-module.ts')] }));
  assert.equal(bad.code, 'IO_ERROR');
  assert.match(bad.message, /cannot load job registration module .*no-such-module\.ts/);
});

test('a worker of another protocol version or one that sends garbage is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-jobs-'));
  try {
    const old = join(dir, 'old-worker.js');
    writeFileSync(old, "process.send({ type: 'ready', protocol: 999, pid: process.pid, kinds: ['x'] }); process.on('disconnect', () => process.exit(0));\n");
    const e1 = await rejection(runJob('x', {}, { workerPath: old }));
    assert.match(e1.message, /speaks job protocol 999, this client 1/);
    const garbage = join(dir, 'garbage-worker.js');
    writeFileSync(garbage, "process.send('hello'); setInterval(() => {}, 1000);\n");
    const e2 = await rejection(runJob('x', {}, { workerPath: garbage }));
    assert.equal(e2.context.rule, 'protocol');
    assert.match(e2.message, /expected an object, got "hello"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
