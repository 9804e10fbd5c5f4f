// The bench's FLOP count: projection FLOPs must equal 2 × tokens × (weight-matrix parameters), counted
// independently from the spec's tensor list.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec, allTensorSpecs, numel } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { BENCH_FIXTURE } from '../../src/core/testing/presets';
import { forwardFlops } from '../../src/core/model/forward-flops';

test('forwardFlops: projections = 2·tokens·(matrix parameters); scan and attention scale as expected', () => {
  const spec = buildSpec(fixtureConfig(BENCH_FIXTURE));
  const matrices = allTensorSpecs(spec).filter((t) => t.shape.length === 2 && t.role !== 'embedding');
  const matrixParams = matrices.reduce((s, t) => s + numel(t.shape), 0);
  const f = forwardFlops(spec, 4, 512, 64);
  assert.equal(f.projections, 2 * 4 * 512 * matrixParams);
  assert.equal(f.total, f.projections + f.scan + f.attention);
  // Attention is quadratic in seq, projections linear.
  const g = forwardFlops(spec, 4, 1024, 64);
  assert.equal(g.attention, 4 * f.attention);
  assert.equal(g.projections, 2 * f.projections);
  assert.ok(f.scan > 0 && f.scan < f.projections / 10);
});
