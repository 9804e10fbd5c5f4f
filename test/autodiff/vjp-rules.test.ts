// Every VJP rule: finite differences in float64 (interpreter), and ORT float32 vs the interpreter for
// both the forward op and its backward graph. Cases: op-cases.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { differentiableOps } from '../../src/core/onnx/autodiff/differentiate';
import { OP_CASES } from './op-cases';
import { checkOp } from './op-harness';

for (const c of OP_CASES) {
  test(`VJP ${c.name}`, async () => {
    await checkOp(c);
  });
}

test('every differentiable op has at least one gradient case', () => {
  const covered = new Set<string>();
  for (const c of OP_CASES) for (const w of c.name.split(/[^A-Za-z]+/)) covered.add(w);
  const missing = differentiableOps().filter((op) => !covered.has(op));
  assert.deepEqual(missing, []);
});
