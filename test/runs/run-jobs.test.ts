// A run folder tracking a real worker job: its status follows the job to done, failed (crash)
// or cancelled, and metrics from the worker land in metrics.jsonl.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJob, type RunJobOptions } from '../../src/core/jobs/client';
import { createRun, readMetrics, readRun } from '../../src/core/runs/index';

const opts: RunJobOptions = {
  workerPath: join(__dirname, '../../src/core/pipeline/worker-main.ts'),
  registerModules: [join(__dirname, '../jobs/fixtures/test-jobs.ts')],
};

test('run status follows the job: done with metrics, failed on crash, cancelled on cancel', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'hc-runjobs-'));
  try {
    const ok = await createRun(ws, { kind: 'test-progress', settings: { steps: 5 } });
    const r = await ok.track(runJob('test-progress', { steps: 5 }, { ...opts, onMetric: (p) => ok.metrics().append(p) }));
    assert.deepEqual(r, { steps: 5 });
    assert.equal((await readRun(ok.dir)).status, 'done');
    assert.deepEqual((await readMetrics(ok.path('metrics.jsonl'))).points.map((p) => p.step), [1, 2, 3, 4, 5]);

    const crash = await createRun(ws, { kind: 'test-exit' });
    await assert.rejects(crash.track(runJob('test-exit', { code: 3 }, opts)));
    const rc = await readRun(crash.dir);
    assert.equal(rc.status, 'failed');
    assert.equal(rc.error?.code, 'RUNTIME_ERROR');
    assert.match(rc.error?.message ?? '', /exited with code 3/);
    assert.equal(rc.error?.context?.rule, 'worker-crashed');

    const ac = new AbortController();
    const cancelled = await createRun(ws, { kind: 'test-wait-cancel' });
    const job = runJob('test-wait-cancel', {}, { ...opts, signal: ac.signal, onLog: (l) => l.text === 'started' && ac.abort() });
    await assert.rejects(cancelled.track(job), /cancelled/);
    assert.equal((await readRun(cancelled.dir)).status, 'cancelled');
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});
