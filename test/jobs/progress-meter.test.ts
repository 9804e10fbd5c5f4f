import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressMeter } from '../../src/core/jobs/progress-meter';

test('rate and ETA follow the sliding window, not the slow start', () => {
  let t = 0;
  const m = new ProgressMeter('forward', 100, 'rows', { windowS: 10, now: () => t });
  t = 20_000; // a 20 s warm-up for the first row
  let p = m.update(1, { tokens: 512 });
  assert.equal(p.tokensPerS, 512 / 20);
  assert.equal(p.etaS, 99 * 20);
  // Then one row per second for 30 s: after the window slides past the warm-up, rate is 1 row/s.
  for (let i = 2; i <= 31; i++) {
    t += 1000;
    p = m.update(i, { tokens: 512 });
  }
  assert.ok(Math.abs(p.tokensPerS! - 512) < 1e-9, `tokens/s ${p.tokensPerS}`);
  assert.ok(Math.abs(p.etaS! - 69) < 1e-9, `eta ${p.etaS}`);
  assert.deepEqual({ phase: p.phase, done: p.done, total: p.total, unit: p.unit }, { phase: 'forward', done: 31, total: 100, unit: 'rows' });
});

test('no rate before time passes, no ETA without a total, message passes through', () => {
  let t = 5;
  const m = new ProgressMeter('scan', 0, 'files', { now: () => t });
  const p0 = m.update(0, { message: 'starting' });
  assert.deepEqual(p0, { phase: 'scan', done: 0, total: 0, unit: 'files', message: 'starting' });
  t = 1005;
  const p1 = m.update(3);
  assert.equal(p1.etaS, undefined);
  assert.equal(p1.tokensPerS, undefined);
});
