import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRun, isInterrupted, isProcessAlive, listRuns, runsRoot, writeFileAtomic, type RunRecord } from '../../src/core/runs/index';

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.ok(r.pid && r.pid > 0);
  return r.pid;
}

test('listRuns: newest first, interrupted when the owner died, problems reported per folder', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'hc-list-'));
  try {
    assert.deepEqual(await listRuns(ws), { runs: [], problems: [] }, 'no runs folder yet');
    const t0 = Date.UTC(2025, 0, 1, 10, 0, 0);
    const done = await createRun(ws, { kind: 'calibrate', now: new Date(t0) });
    await done.complete({ rows: 64 });
    const live = await createRun(ws, { kind: 'distill', now: new Date(t0 + 60_000) });
    const dead = await createRun(ws, { kind: 'prune', now: new Date(t0 + 120_000), pid: deadPid() });
    const elsewhere = await createRun(ws, { kind: 'eval', now: new Date(t0 + 180_000), pid: deadPid() });
    await writeFileAtomic(elsewhere.path('run.json'), JSON.stringify({ ...elsewhere.record, host: 'some-other-host' }));
    const failed = await createRun(ws, { kind: 'eval', now: new Date(t0 + 240_000) });
    await failed.fail(new Error('bad'));

    mkdirSync(join(runsRoot(ws), 'empty-folder'));
    mkdirSync(join(runsRoot(ws), 'corrupt'));
    writeFileSync(join(runsRoot(ws), 'corrupt', 'run.json'), '{"id": "x", "kind": "eval"}');

    const { runs, problems } = await listRuns(ws);
    assert.deepEqual(runs.map((r) => [r.kind, r.status]), [
      ['eval', 'failed'],
      ['eval', 'running'], // owned by another host: its pid means nothing here
      ['prune', 'interrupted'],
      ['distill', 'running'],
      ['calibrate', 'done'],
    ]);
    assert.equal(runs[4]!.dir, done.dir);
    assert.deepEqual(runs[4]!.result, { rows: 64 });
    assert.equal(runs[3]!.id, live.id);
    assert.equal(runs[2]!.id, dead.id);
    assert.deepEqual(problems.map((p) => p.dir), [join(runsRoot(ws), 'corrupt'), join(runsRoot(ws), 'empty-folder')]);
    assert.match(problems[0]!.message, /corrupt.run\.json: "status" must be one of/);
    assert.match(problems[1]!.message, /cannot read .*empty-folder.run\.json/);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test('isInterrupted only applies to running records with a dead local owner', () => {
  const base: RunRecord = { id: 'a', kind: 'eval', status: 'running', created: '', updated: '', inputs: {}, settings: {}, timings: {}, pid: 1234 };
  const dead = () => false;
  assert.equal(isInterrupted(base, dead), true);
  assert.equal(isInterrupted(base, () => true), false);
  assert.equal(isInterrupted({ ...base, status: 'done' }, dead), false);
  const { pid: _pid, ...noPid } = base;
  assert.equal(isInterrupted(noPid, dead), false);
  assert.equal(isInterrupted({ ...base, host: 'elsewhere.invalid' }, dead), false);
  assert.equal(isProcessAlive(process.pid), true);
  assert.equal(isProcessAlive(deadPid()), false);
  assert.equal(isProcessAlive(-1), false);
});
