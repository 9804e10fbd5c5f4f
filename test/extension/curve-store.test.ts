import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CurveStore, type CurveAppend } from '../../src/extension/viewmodel/curve-store';

function collect(store: CurveStore) {
  const events: (CurveAppend | { key: string; reset: true })[] = [];
  store.subscribe((e) => events.push(e));
  return events;
}

test('points from two sources merge by step; listeners get batched appends with consistent offsets', () => {
  const store = new CurveStore(10_000);
  const ev = collect(store);
  store.ensure('run', 'distill', '/r');
  store.add('run', [{ step: 1, loss: 3 }, { step: 2, loss: 2.5 }]);
  store.add('run', [{ step: 2, loss: 9, val_loss: 2.7 }, { step: 3, loss: 2.2 }]); // step 2 again (file tail): first value wins, new series merged
  assert.equal(ev.length, 0, 'nothing before the flush');
  store.flush();
  assert.equal(ev.length, 1);
  const a = ev[0] as CurveAppend;
  assert.equal(a.from, 0);
  assert.deepEqual(a.points, [{ step: 1, loss: 3 }, { step: 2, loss: 2.5, val_loss: 2.7 }, { step: 3, loss: 2.2 }]);
  store.add('run', [{ step: 4, loss: 2 }]);
  store.setStatus('run', 'done');
  store.flush();
  const b = ev[1] as CurveAppend;
  assert.equal(b.from, 3);
  assert.equal(b.status, 'done');
  assert.deepEqual(store.snapshot('run')!.points.map((p) => p.step), [1, 2, 3, 4]);
  store.flush();
  assert.equal(ev.length, 2, 'no empty appends');
});

test('a point older than what listeners have forces a reset; clear() empties the curve', () => {
  const store = new CurveStore(10_000);
  const ev = collect(store);
  store.ensure('k', 't', 's');
  store.add('k', [{ step: 5, loss: 1 }, { step: 6, loss: 1 }]);
  store.flush();
  store.add('k', [{ step: 3, loss: 2 }]);
  store.flush();
  assert.deepEqual(ev[1], { key: 'k', reset: true });
  assert.deepEqual(store.snapshot('k')!.points.map((p) => p.step), [3, 5, 6]);
  store.clear('k');
  store.flush();
  assert.deepEqual(store.snapshot('k')!.points, []);
  assert.deepEqual(ev[2], { key: 'k', reset: true });
});

test('the timer delivers within flushMs (≥ 1 update per second)', async () => {
  const store = new CurveStore(20);
  const ev = collect(store);
  store.ensure('k', 't', 's');
  store.add('k', [{ step: 1, loss: 1 }]);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(ev.length, 1);
  store.dispose();
});
