// The benches' budget line: what a time target leaves beyond the GEMM floor, against what that work takes now.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetLine } from '../../bench/side-by-side';

const base = { target: '2.0× transformers', floorWhat: 'the projection GEMMs', restWhat: 'the rest' };

test('budgetLine: the allowance beyond the floor, what the rest takes now and the overshoot', () => {
  const line = budgetLine({ ...base, allowedMs: 299, floorMs: 239, oursMs: 334 });
  assert.match(line, /allows 299 ms/);
  assert.match(line, /alone take 239 ms \(80% of it\)/);
  assert.match(line, /leaving 60 ms for the rest, which take 95 ms now \(1\.6× the allowance\)/);
});

test('budgetLine: a run inside the allowance says so', () => {
  assert.match(budgetLine({ ...base, allowedMs: 300, floorMs: 200, oursMs: 280 }), /leaving 100 ms for the rest, which take 80 ms now \(within it\)/);
});

test('budgetLine: a target below the floor is named as out of reach for any engine at the GEMM rate', () => {
  const line = budgetLine({ ...base, allowedMs: 280, floorMs: 295, oursMs: 490 });
  assert.match(line, /allows 280 ms: less than the projection GEMMs alone take \(295 ms, 105% of it\)/);
  assert.match(line, /no engine at ORT's GEMM rate meets it here; the rest take 195 ms now/);
  assert.doesNotMatch(line, /leaving/);
});
