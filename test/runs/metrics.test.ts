import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsWriter, readMetrics } from '../../src/core/runs/index';

test('metrics.jsonl: appended points read back, tailing resumes after the last complete line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-metrics-'));
  const file = join(dir, 'metrics.jsonl');
  try {
    assert.deepEqual(await readMetrics(file), { points: [], offset: 0, skipped: 0 }, 'missing file reads as empty');
    const w = new MetricsWriter(file);
    w.append({ step: 1, loss: 2.5, lr: 1e-4 });
    w.append({ step: 2, loss: NaN, grad_norm: Infinity });
    const first = await readMetrics(file);
    assert.equal(first.points.length, 2);
    assert.deepEqual(first.points[0], { step: 1, loss: 2.5, lr: 1e-4 });
    assert.ok(Number.isNaN(first.points[1]!['loss']));
    assert.equal(first.points[1]!['grad_norm'], Infinity);

    // A line being written (no newline yet) is not returned, and not skipped over.
    appendFileSync(file, '{"step":3,"val_lo');
    const mid = await readMetrics(file, first.offset);
    assert.deepEqual(mid, { points: [], offset: first.offset, skipped: 0 });
    appendFileSync(file, 'ss":1.75}\nnot json\n{"step":"4"}\n');
    w.append({ step: 5, loss: 1 });
    const next = await readMetrics(file, mid.offset);
    assert.deepEqual(next.points, [{ step: 3, val_loss: 1.75 }, { step: 5, loss: 1 }]);
    assert.equal(next.skipped, 2);
    assert.equal(next.firstSkippedLine, 2);
    assert.deepEqual(await readMetrics(file, next.offset), { points: [], offset: next.offset, skipped: 0 });
    w.close();
    assert.throws(() => w.append({ step: 6 }), /append after close/);

    // Rewritten by a new run: shorter than the offset, so it is read again from the start.
    writeFileSync(file, '{"step":1,"loss":9}\n');
    const again = await readMetrics(file, next.offset);
    assert.equal(again.reset, true);
    assert.deepEqual(again.points, [{ step: 1, loss: 9 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a writer that cannot open its file fails with IO_ERROR naming it', () => {
  assert.throws(() => new MetricsWriter(join(tmpdir(), 'no-such-dir-hc', 'm.jsonl')), /cannot open .*no-such-dir-hc.m\.jsonl for appending/);
});
