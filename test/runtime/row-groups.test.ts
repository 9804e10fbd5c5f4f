// Grouping of batches for layer-streamed passes: groups bounded by the hidden-state budget, runs of
// consecutive same-length batches bounded by the per-run token cap, every batch exactly once, in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupBatches, runsOf } from '../../src/core/runtime/row-groups';

async function* from<T>(xs: T[]): AsyncGenerator<T> {
  yield* xs;
}

test('groupBatches: whole batches up to the token budget (at least one), the last says no more follow', async () => {
  const batches = [2, 2, 2, 1].map((batch, i) => ({ batch, seq: 10, i }));
  const groups = [];
  for await (const g of groupBatches(from(batches), 45)) groups.push(g);
  assert.deepEqual(groups.map((g) => g.batches.map((b) => b.i)), [[0, 1], [2, 3]]);
  assert.deepEqual(groups.map((g) => [g.rows, g.tokens, g.more]), [[4, 40, true], [3, 30, false]]);
  const one = [];
  for await (const g of groupBatches(from(batches), 5)) one.push(g.batches.length);
  assert.deepEqual(one, [1, 1, 1, 1], 'a batch larger than the budget still forms a group');
});

test('runsOf: consecutive batches of one seq merge up to maxTokens; a new seq or the cap starts a new run', () => {
  const runs = runsOf([{ batch: 1, seq: 8 }, { batch: 2, seq: 8 }, { batch: 1, seq: 8 }, { batch: 1, seq: 5 }, { batch: 4, seq: 5 }, { batch: 9, seq: 5 }], 32);
  assert.deepEqual(runs, [
    { first: 0, count: 3, rows: 4, seq: 8, token0: 0, tokens: 32 },
    { first: 3, count: 2, rows: 5, seq: 5, token0: 32, tokens: 25 },
    { first: 5, count: 1, rows: 9, seq: 5, token0: 57, tokens: 45 },
  ]);
  // Every token covered once, in order.
  let t = 0;
  for (const r of runs) {
    assert.equal(r.token0, t);
    t += r.tokens;
  }
});
