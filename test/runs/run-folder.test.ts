import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HybridCompressError } from '../../src/core/errors';
import { createRun, makeRunId, openRun, readRun, runsRoot, writeFileAtomic } from '../../src/core/runs/index';
import { parseJson } from '../../src/core/util/json';

function withTmp(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hc-runs-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function rejects(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof HybridCompressError);
    assert.equal(e.code, code);
    assert.match(e.message, re);
    return true;
  });
}

test('run ids are the UTC start time and the kind', () => {
  assert.equal(makeRunId('calibrate', new Date(Date.UTC(2025, 0, 31, 12, 5, 1, 999))), '20250131T120501Z-calibrate');
  assert.throws(() => makeRunId('Bad Kind'), /run kind "Bad Kind" is invalid/);
});

test('createRun makes the folder and a valid run.json owned by this process', withTmp(async (ws) => {
  const now = new Date(Date.UTC(2025, 5, 1, 8, 0, 0));
  const run = await createRun(ws, { kind: 'calibrate', inputs: { model: '/m' }, settings: { samples: 64 }, now });
  assert.equal(run.id, '20250601T080000Z-calibrate');
  assert.equal(run.dir, join(runsRoot(ws), run.id));
  assert.equal(readFileSync(join(ws, '.hybrid-compress/.gitignore'), 'utf8').split('\n').at(-2), '*');
  const rec = await readRun(run.dir);
  assert.deepEqual(
    { ...rec, updated: undefined },
    { id: run.id, kind: 'calibrate', status: 'running', created: now.toISOString(), updated: undefined, inputs: { model: '/m' }, settings: { samples: 64 }, timings: {}, pid: process.pid, host: hostname() },
  );
  // Same second, same kind: a unique suffix instead of a clash.
  const second = await createRun(ws, { kind: 'calibrate', now });
  assert.equal(second.id, '20250601T080000Z-calibrate-2');
}));

test('updates merge, completion records result and total time, and the first outcome sticks', withTmp(async (ws) => {
  const run = await createRun(ws, { kind: 'eval', settings: { batch: 4 } });
  await run.update({ settings: { seqLen: 256 }, timings: { forward: 1.5 }, ep: 'cpu' });
  await run.complete({ loss: 2.5, ppl: Infinity }, { timings: { aggregate: 0.25 } });
  await run.fail(new Error('too late'));
  await run.update({ inputs: { data: 'x.txt' } });
  const rec = await readRun(run.dir);
  assert.equal(rec.status, 'done');
  assert.equal(rec.error, undefined);
  assert.deepEqual(rec.settings, { batch: 4, seqLen: 256 });
  assert.deepEqual(rec.inputs, { data: 'x.txt' });
  assert.deepEqual(rec.result, { loss: 2.5, ppl: Infinity }, 'non-finite figures survive the round trip');
  assert.equal(rec.ep, 'cpu');
  assert.equal(rec.timings['forward'], 1.5);
  assert.equal(rec.timings['aggregate'], 0.25);
  assert.ok(rec.timings['total']! >= 0 && rec.timings['total']! < 60);
  assert.ok(Date.parse(rec.updated) >= Date.parse(rec.created));
}));

test('fail records typed errors, maps CANCELLED to cancelled, and track() rethrows', withTmp(async (ws) => {
  const a = await createRun(ws, { kind: 'prune' });
  await a.fail(new HybridCompressError('OPTION_INVALID', '--mamba-num-heads must be a multiple of 8', { option: 'mamba-num-heads' }));
  assert.deepEqual((await readRun(a.dir)).error, { code: 'OPTION_INVALID', message: '--mamba-num-heads must be a multiple of 8', context: { option: 'mamba-num-heads' } });
  assert.equal((await readRun(a.dir)).status, 'failed');

  const b = await createRun(ws, { kind: 'prune' });
  await b.fail(new HybridCompressError('CANCELLED', 'the job was cancelled'));
  assert.equal((await readRun(b.dir)).status, 'cancelled');

  const c = await createRun(ws, { kind: 'prune' });
  await assert.rejects(c.track(Promise.reject(new TypeError('oops'))), /oops/);
  assert.deepEqual((await readRun(c.dir)).error, { code: 'RUNTIME_ERROR', message: 'oops' });

  const d = await createRun(ws, { kind: 'prune' });
  assert.equal(await d.track(Promise.resolve({ params: 10, extra: 'x' }), (v) => ({ params: v.params })).then((v) => v.params), 10);
  const rd = await readRun(d.dir);
  assert.equal(rd.status, 'done');
  assert.deepEqual(rd.result, { params: 10 });
}));

test('run.json is replaced atomically: concurrent readers always parse a whole record', withTmp(async (ws) => {
  const run = await createRun(ws, { kind: 'distill' });
  const big = 'x'.repeat(200_000);
  let stop = false;
  let reads = 0;
  const reader = (async () => {
    while (!stop) {
      const text = await readFile(run.path('run.json'), 'utf8');
      parseJson(text, { allowNonFinite: true }); // throws on a torn file
      reads++;
    }
  })();
  const writes = [];
  for (let i = 0; i < 40; i++) writes.push(run.update({ result: { i, big } }));
  await Promise.all(writes);
  stop = true;
  await reader;
  assert.ok(reads > 0);
  assert.equal(((await readRun(run.dir)).result as { i: number }).i, 39, 'writes land in call order');
  assert.deepEqual(readdirSync(run.dir).filter((f) => f.endsWith('.tmp')), [], 'no temp files left behind');
}));

test('writeFileAtomic replaces content and leaves no temp file when the target dir is missing', withTmp(async (dir) => {
  const f = join(dir, 'a.json');
  await writeFileAtomic(f, 'one');
  await writeFileAtomic(f, 'two');
  assert.equal(readFileSync(f, 'utf8'), 'two');
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'b.json'), 'x'));
}));

test('an explicit --out folder is used as the run folder, and refused while another live job owns it', withTmp(async (ws) => {
  const out = join(ws, 'my-out');
  const run = await createRun(ws, { kind: 'calibrate', dir: out });
  assert.equal(run.dir, out);
  assert.equal((await readRun(out)).status, 'running');
  await rejects(createRun(ws, { kind: 'calibrate', dir: out }), 'OPTION_INVALID', /my-out is in use by a running calibrate job \(pid \d+\)/);
  await run.complete();
  const again = await createRun(ws, { kind: 'calibrate', dir: out });
  assert.equal((await readRun(out)).id, again.id);
  assert.equal(existsSync(join(ws, '.hybrid-compress')), false, 'no state dir for --out runs');
}));

test('metrics are appended per line and closed with the run; resume reopens a run', withTmp(async (ws) => {
  const run = await createRun(ws, { kind: 'distill' });
  run.metrics().append({ step: 1, loss: 3 });
  // Visible to readers before the run ends (no userland buffering).
  assert.equal(readFileSync(run.path('metrics.jsonl'), 'utf8'), '{"step":1,"loss":3}\n');
  await run.cancel();
  assert.throws(() => run.metrics().append({ step: 1.5, loss: 1 }), /"step" must be a non-negative integer/);
  const reopened = await openRun(run.dir);
  assert.equal(reopened.status, 'cancelled');
  await reopened.resume();
  const rec = await readRun(run.dir);
  assert.equal(rec.status, 'running');
  assert.equal(rec.timings['total'], undefined);
  reopened.metrics().append({ step: 2, loss: 2 });
  await reopened.complete();
  assert.equal(readFileSync(run.path('metrics.jsonl'), 'utf8'), '{"step":1,"loss":3}\n{"step":2,"loss":2}\n');
}));

test('readRun names the file and the rule for invalid run.json', withTmp(async (ws) => {
  const run = await createRun(ws, { kind: 'eval' });
  await writeFileAtomic(run.path('run.json'), JSON.stringify({ ...run.record, status: 'paused' }));
  await rejects(readRun(run.dir), 'DATA_INVALID', /run\.json: "status" must be one of running\|done\|failed\|cancelled, got "paused"/);
  await writeFileAtomic(run.path('run.json'), '{"id": ');
  await rejects(readRun(run.dir), 'DATA_INVALID', /run\.json: not valid JSON/);
  await rejects(readRun(join(ws, 'nope')), 'IO_ERROR', /cannot read .*nope.*run\.json/);
}));
