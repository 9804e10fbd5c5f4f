// The choice between the one-graph training step and the layer-recompute step.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from '../../src/core/arch/index';
import { recomputePlan, trainingStepBytes, ONE_GRAPH_MAX_FRACTION } from '../../src/core/distill/recompute-plan';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { HybridCompressError } from '../../src/core/errors';

const spec = buildSpec(fixtureConfig({ family: 'nemotron_h', vocabSize: 4096, hiddenSize: 1024, pattern: 'M-M*M-M-M-M*M-M-', mambaHeads: 32, mambaHeadDim: 64, nGroups: 8, stateSize: 64, intermediateSize: 4096, attentionHeads: 16, kvHeads: 4, attentionHeadDim: 64, chunkSize: 64 }));
const s = { batch: 2, seqLen: 256 };

test('estimates: the layer step needs less than the one-graph step, both grow with the tokens, a teacher adds to both', () => {
  const e = trainingStepBytes(spec, s);
  assert.ok(e.layers < e.oneGraph);
  // At 123M parameters and 512 tokens: about 24 vs 16 bytes per parameter before activations.
  assert.ok(e.oneGraph / spec.params.total > 24 && e.oneGraph / spec.params.total < 40, `${e.oneGraph / spec.params.total}`);
  assert.ok(e.layers / spec.params.total > 16 && e.layers / spec.params.total < 24, `${e.layers / spec.params.total}`);
  const longer = trainingStepBytes(spec, { batch: 8, seqLen: 256 });
  assert.ok(longer.oneGraph - e.oneGraph > 3 * (longer.layers - e.layers), 'activations weigh on the one-graph step much more');
  const t = trainingStepBytes(spec, s, spec);
  assert.ok(t.oneGraph - e.oneGraph > 4 * spec.params.total && t.layers - e.layers === t.oneGraph - e.oneGraph);
});

test('auto: one graph while it fits the available memory, layer by layer once it does not; explicit modes are kept', () => {
  const e = trainingStepBytes(spec, s);
  const roomy = recomputePlan(spec, { ...s, recompute: 'auto' }, undefined, { available: e.oneGraph / ONE_GRAPH_MAX_FRACTION + 1 });
  assert.equal(roomy.mode, 'none');
  assert.match(roomy.reason, /^training step: one graph \(/);
  const tight = recomputePlan(spec, { ...s, recompute: 'auto' }, undefined, { available: e.oneGraph / ONE_GRAPH_MAX_FRACTION - 1 });
  assert.equal(tight.mode, 'layers');
  assert.match(tight.reason, /--recompute none forces it/);
  assert.equal(recomputePlan(spec, { ...s }, undefined, { available: 1 }).mode, 'layers', 'auto is the default');
  assert.equal(recomputePlan(spec, { ...s, recompute: 'none' }, undefined, { available: 1 }).mode, 'none');
  assert.equal(recomputePlan(spec, { ...s, recompute: 'layers' }, undefined, { available: 1e15 }).mode, 'layers');
  assert.throws(
    () => recomputePlan(spec, { ...s, recompute: 'some' as never }),
    (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && /--recompute some is not valid; use auto, none, layers/.test(e.message),
  );
});
