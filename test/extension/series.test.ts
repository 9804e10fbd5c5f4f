import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendSeries, groupCharts, nearestIndex, smooth, thin, toSeries, yDomain } from '../../webview/curves/series';

test('smoothing is a debiased EMA (checked against a float64 loop written out differently)', () => {
  const v = [5, 3, 8, 1, 4, 4, 2];
  const w = 0.6;
  const got = smooth(v, w);
  for (let t = 0; t < v.length; t++) {
    // Closed form: Σ_s w^(t-s)(1-w) v_s / (1 - w^(t+1)).
    let num = 0;
    for (let s = 0; s <= t; s++) num += Math.pow(w, t - s) * (1 - w) * v[s]!;
    assert.ok(Math.abs(got[t]! - num / (1 - Math.pow(w, t + 1))) < 1e-12);
  }
  assert.deepEqual(smooth(v, 0), v);
  const withNaN = smooth([1, NaN, 3], 0.5);
  assert.ok(Number.isNaN(withNaN[1]!) && Number.isFinite(withNaN[2]!));
});

test('thinning keeps each bucket’s extremes and the last point', () => {
  const v = Array.from({ length: 10_000 }, (_, i) => Math.sin(i / 50) + (i === 4321 ? 10 : 0));
  const idx = thin(v, 500);
  assert.ok(idx.length <= 520);
  assert.ok(idx.includes(4321), 'spike kept');
  assert.equal(idx[idx.length - 1], 9999);
  for (let i = 1; i < idx.length; i++) assert.ok(idx[i]! > idx[i - 1]!);
  assert.deepEqual(thin([1, 2, 3], 10), [0, 1, 2]);
});

test('y domain ignores non-finite values, and values ≤ 0 on a log scale', () => {
  assert.deepEqual(yDomain([1, 10, Infinity, NaN], true), [1, 10]);
  assert.deepEqual(yDomain([-1, 0, 4], true), [2, 8]);
  assert.equal(yDomain([NaN], false), undefined);
  const [lo, hi] = yDomain([0, 10], false)!;
  assert.ok(lo < 0 && hi > 10);
});

test('nearest step, series columns and chart groups', () => {
  const steps = [0, 10, 20, 35];
  for (const x of [-5, 0, 4, 6, 15, 27.4, 28, 100]) {
    const brute = steps.reduce((b, s, i) => (Math.abs(s - x) < Math.abs(steps[b]! - x) ? i : b), 0);
    assert.equal(nearestIndex(steps, x), brute, String(x));
  }
  const s = toSeries([{ step: 1, loss: 2, lr: 0.1 }, { step: 2, loss: 1.5, val_loss: 1.7 }]);
  assert.deepEqual(s.get('loss'), { name: 'loss', steps: [1, 2], values: [2, 1.5] });
  appendSeries(s, [{ step: 3, lr: 0.05 }]);
  assert.deepEqual(s.get('lr')!.steps, [1, 3]);
  const groups = groupCharts(['loss', 'kd_loss', 'lr', 'grad_norm', 'tokens_per_s', 'val_loss']);
  assert.deepEqual(groups.map((g) => [g.id, g.series]), [['loss', ['loss', 'kd_loss', 'val_loss']], ['lr', ['lr']], ['grad_norm', ['grad_norm']]]);
});
