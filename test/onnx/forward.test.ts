// The ONNX forward graph against the float64 reference forward (sequential SSM recurrence), on random
// models: both families, n_groups 1 and > 1, several heads per group, sequence lengths that are not a
// multiple of the chunk length, attention head_dim ≠ hidden/heads, batch > 1, both dt clamp modes,
// fused and standard-op graphs, and every tap.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildSpec } from '../../src/core/arch/index';
import { fixtureConfig, type FixtureOptions } from '../../src/core/testing/fixtures';
import { allTensorSpecs } from '../../src/core/arch/spec';
import { fixtureValues } from '../../src/core/testing/fixtures';
import { Rng } from '../../src/core/util/random';
import { referenceForward, type ReferenceOptions } from '../../src/core/model/reference';
import { buildForwardGraph, listTaps, type ForwardGraphOptions } from '../../src/core/model/forward-graph';
import { memoryWeights } from '../../src/core/model/forward-weights';
import { serializeModel, opHistogram } from '../../src/core/onnx/index';
import { maxAbsDiff } from './helpers';

function model(o: FixtureOptions) {
  const spec = buildSpec(fixtureConfig(o));
  const rng = new Rng(o.seed ?? 1234);
  const weights = new Map<string, Float32Array>();
  for (const t of allTensorSpecs(spec)) weights.set(t.name, fixtureValues(t, spec, rng));
  return { spec, weights };
}

function randomIds(seed: number, batch: number, T: number, V: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: batch }, () => Array.from({ length: T }, () => rng.int(V)));
}

async function compare(o: FixtureOptions, batch: number, T: number, opts: ForwardGraphOptions & { ref?: ReferenceOptions } = {}) {
  const { spec, weights } = model(o);
  const ids = randomIds(99, batch, T, spec.vocabSize);
  const graph = buildForwardGraph(spec, memoryWeights(spec, weights), opts);
  const session = await ort.InferenceSession.create(serializeModel(graph), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const feed = new ort.Tensor('int64', BigInt64Array.from(ids.flat(), (v) => BigInt(v)), [batch, T]);
    const out = await session.run({ input_ids: feed });
    const ref = referenceForward(spec, weights, ids, { taps: (opts.taps?.length ?? 0) > 0, ...opts.ref });
    assert.deepEqual([...out['logits']!.dims], [batch, T, spec.vocabSize]);
    const d = maxAbsDiff(out['logits']!.data as Float32Array, ref.logits);
    assert.ok(d <= 1e-4, `logits max abs diff ${d}`);
    const tapDiffs: Record<string, number> = {};
    for (const t of opts.taps ?? []) {
      const want = ref.taps.get(t);
      assert.ok(want, `reference has tap ${t}`);
      tapDiffs[t] = maxAbsDiff(out[t]!.data as Float32Array, want!);
      assert.ok(tapDiffs[t]! <= 1e-4, `tap ${t}: max abs diff ${tapDiffs[t]}`);
    }
    return { spec, graph, logitsDiff: d, tapDiffs, logitScale: Math.max(...Array.from(ref.logits, Math.abs)) };
  } finally {
    await session.release();
  }
}

test('nemotron_h, 2 groups × 4 heads, attention head_dim ≠ hidden/heads, T not a multiple of the chunk, batch 2, all taps', async () => {
  const o: FixtureOptions = { pattern: 'M-M*', hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, stateSize: 16, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 24, intermediateSize: 48, vocabSize: 64, seed: 11 };
  const spec = buildSpec(fixtureConfig(o));
  const taps = listTaps(spec).map((t) => t.name);
  const r = await compare(o, 2, 37, { chunkSize: 16, taps });
  assert.ok(r.logitScale > 0.5, 'logits are not trivially small');
  assert.equal(Object.keys(r.tapDiffs).length, taps.length);
  assert.equal(opHistogram(r.graph)['com.microsoft:GroupQueryAttention'], 1, 'head_dim 24 uses the fused attention kernel');
});

test('nemotron_h, n_groups 1, one chunk shorter than the chunk length, untied, head_dim 10 (MatMul attention)', async () => {
  const r = await compare({ pattern: 'M*-M', hiddenSize: 24, mambaHeads: 4, mambaHeadDim: 6, nGroups: 1, stateSize: 8, attentionHeads: 3, kvHeads: 1, attentionHeadDim: 10, intermediateSize: 40, vocabSize: 50, seed: 3 }, 1, 13, { chunkSize: 32 });
  assert.equal(opHistogram(r.graph)['com.microsoft:GroupQueryAttention'], undefined);
});

test('nemotron_h, 4 groups, T an exact multiple of the chunk, standard ops only (fused: false)', async () => {
  const r = await compare({ pattern: 'M*M-', hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 4, nGroups: 4, stateSize: 8, attentionHeads: 4, kvHeads: 4, intermediateSize: 32, vocabSize: 40, seed: 5 }, 2, 24, { chunkSize: 8, fused: false });
  const ops = opHistogram(r.graph);
  assert.equal(Object.keys(ops).filter((k) => k.startsWith('com.microsoft:') || k === 'SimplifiedLayerNormalization').length, 0, 'no contrib ops');
});

test('mamba2 (tied, ungrouped gated norm), n_groups 1 and 2, batch 3', async () => {
  await compare({ family: 'mamba2', numLayers: 2, hiddenSize: 24, mambaHeads: 4, mambaHeadDim: 12, nGroups: 1, stateSize: 8, vocabSize: 48, seed: 8 }, 3, 19, { chunkSize: 8 });
  await compare({ family: 'mamba2', numLayers: 2, hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 16, nGroups: 2, stateSize: 8, vocabSize: 48, seed: 9 }, 2, 21, { chunkSize: 8, taps: ['layers.1.mamba.out_proj_input', 'layers.0.mamba.x'] });
});

test('dt clamp: time_step_limit upper bound and the transformers-5 lower bound', async () => {
  const base: FixtureOptions = { pattern: 'MM', hiddenSize: 16, mambaHeads: 4, mambaHeadDim: 4, nGroups: 2, stateSize: 8, vocabSize: 32, seed: 21 };
  // Fixture dt lies in [1e-3, 1e-1]: a 0.02 cap and a 0.03 floor both bind for some heads.
  await compare({ ...base, timeStepLimit: [0, 0.02] }, 1, 17, { chunkSize: 8 });
  const o = { ...base, extraConfig: { time_step_min: 0.03 } };
  const r = await compare(o, 1, 17, { chunkSize: 8, dtClampMode: 'transformers5', ref: { dtClampMode: 'transformers5' } });
  assert.match(r.graph.metadata['dt_range']!, /^0\.03,/);
});

test('optional biases: in_proj/out_proj (use_bias), attention and MLP biases, and no conv bias', async () => {
  const extraConfig = { use_bias: true, attention_bias: true, mlp_bias: true, use_conv_bias: false };
  const o: FixtureOptions = { pattern: 'M*-', hiddenSize: 16, mambaHeads: 4, mambaHeadDim: 4, nGroups: 2, stateSize: 8, attentionHeads: 2, kvHeads: 1, attentionHeadDim: 8, intermediateSize: 24, vocabSize: 32, seed: 13, extraConfig };
  const { spec } = model(o);
  const names = spec.layers.flatMap((l) => l.tensors.map((t) => t.name));
  assert.ok(names.some((n) => n.endsWith('in_proj.bias')) && names.some((n) => n.endsWith('q_proj.bias')) && names.some((n) => n.endsWith('up_proj.bias')));
  assert.ok(!names.some((n) => n.endsWith('conv1d.bias')));
  await compare(o, 2, 11, { chunkSize: 4 });
  await compare(o, 1, 11, { chunkSize: 4, fused: false });
});
