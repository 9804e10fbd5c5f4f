import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreement, orderDescending, ranksDescending, spearman, tally } from '../../scripts/reproduce/stats';

test('ranksDescending gives tied values their mean rank', () => {
  assert.deepEqual(ranksDescending([3, 1, 3, 2]), [1.5, 4, 1.5, 3]);
});

test('spearman matches the textbook formula 1 − 6Σd²/(n(n²−1)) without ties', () => {
  const a = [0.3, 1.2, 5, -2, 0.7, 9, 4];
  const b = [10, 2, 7, 1, 3, 4, 8];
  const ra = ranksDescending(a);
  const rb = ranksDescending(b);
  const n = a.length;
  const d2 = ra.reduce((s, r, i) => s + (r - rb[i]!) ** 2, 0);
  assert.ok(Math.abs(spearman(a, b) - (1 - (6 * d2) / (n * (n * n - 1)))) < 1e-12);
  assert.equal(spearman([1, 2, 3], [10, 20, 30]), 1);
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
  assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
});

test('orderDescending breaks ties by the lower index', () => {
  assert.deepEqual(orderDescending([1, 3, 3, 0]), [1, 2, 0, 3]);
});

test('tally: lower loss wins, |Δ| ≤ tie is a tie; agreement from the tally', () => {
  const t = tally([[1, 2], [2, 1], [1, 1.005], [0.5, 0.9]], 0.01);
  assert.deepEqual(t, { wins: 2, losses: 1, ties: 1 });
  assert.equal(agreement(t), 'partly agrees');
  assert.equal(agreement({ wins: 2, losses: 0, ties: 1 }), 'agrees');
  assert.equal(agreement({ wins: 0, losses: 2, ties: 0 }), 'disagrees');
  assert.equal(agreement({ wins: 0, losses: 0, ties: 3 }), 'inconclusive');
});
