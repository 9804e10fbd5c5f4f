// Every VJP rule: finite differences in float64 (interpreter), and ORT float32 vs the interpreter for
// both the forward op and its backward graph. Cases: op-cases.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { differentiableOps } from '../../src/core/onnx/autodiff/differentiate';
import { OPS } from '../../src/core/onnx/ops';
import { interpretedOps } from '../../src/core/onnx/interpret/interpreter';
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

test("every op of the builder's op set is differentiable or has no float input→output path", () => {
  // Comparisons, integer arithmetic and shape/constant producers never carry gradients.
  const nonDifferentiable = new Set(['Mod', 'Equal', 'Less', 'Greater', 'Shape', 'Range', 'ConstantOfShape', 'Constant']);
  const rules = new Set(differentiableOps());
  const missing = OPS.map((o) => o.op).filter((op) => !rules.has(op) && !nonDifferentiable.has(op));
  assert.deepEqual(missing, [], `ops without a VJP rule: ${missing.join(', ')}`);
});

test("the reference interpreter evaluates every op of the builder's op set", () => {
  const have = new Set(interpretedOps());
  assert.deepEqual(OPS.map((o) => o.op).filter((op) => !have.has(op)), []);
});
