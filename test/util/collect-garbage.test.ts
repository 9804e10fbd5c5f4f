// The synchronous collection the layer-recompute training step relies on, and its byte budget.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectGarbage, GarbageBudget } from '../../src/core/util/collect-garbage';

test('collectGarbage runs a real collection: an unreachable buffer is gone afterwards', async () => {
  const ref = (() => new WeakRef(new Float32Array(1 << 20)))();
  // WeakRef targets survive until the current job ends.
  await new Promise((r) => setImmediate(r));
  assert.equal(collectGarbage(), true, 'Node offers a collection');
  assert.equal(ref.deref(), undefined);
});

test('GarbageBudget collects each time the dropped bytes add up to its threshold', () => {
  let runs = 0;
  const budget = new GarbageBudget(100, () => runs++);
  for (const bytes of [40, 50, 9]) budget.dropped(bytes);
  assert.equal(runs, 0, '99 bytes: not yet');
  budget.dropped(1);
  assert.equal(runs, 1);
  budget.dropped(250);
  assert.equal(runs, 2, 'one collection for a large drop, and the count starts over');
  budget.dropped(99);
  assert.equal(runs, 2);
});
