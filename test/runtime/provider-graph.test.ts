// The per-provider graph rewrites (runtime/provider-graph.ts), checked on the CPU provider, where the
// original contrib ops are known good: the WebGPU / CUDA variants of forward graphs (GroupQueryAttention,
// FusedMatMul, LogSoftmax replaced) and of a training graph (also Sum) compute the same outputs and
// gradients; the f16-product variant differs by a measured, bounded amount; rewriting keeps node order
// topological and output names, and refuses to drop an output something reads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildSpec } from '../../src/core/arch/index';
import { allTensorSpecs, type HybridModelSpec } from '../../src/core/arch/spec';
import { fixtureConfig, fixtureValues, type FixtureOptions } from '../../src/core/testing/fixtures';
import { Rng } from '../../src/core/util/random';
import { buildForwardGraph, listTapStats, listTaps } from '../../src/core/model/forward-graph';
import { memoryWeights } from '../../src/core/model/forward-weights';
import { buildTrainingGraph } from '../../src/core/distill/training-graph';
import { GraphBuilder, opHistogram, serializeModel, type Graph } from '../../src/core/onnx/index';
import { rewriteNodes } from '../../src/core/onnx/rewrite';
import { graphForProvider } from '../../src/core/runtime/provider-graph';
import { maxRelDiff } from '../reference/helpers';

// head_dim 16 (a multiple of 8) so the fused graph uses GroupQueryAttention; T = 40 ≥ 32, the length
// from which ORT's WebGPU GroupQueryAttention kernel went wrong.
const NEMOTRON: FixtureOptions = { pattern: 'M-*M', hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 4, nGroups: 2, stateSize: 8, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 16, intermediateSize: 40, vocabSize: 64, chunkSize: 16, seed: 17 };
const B = 2;
const T = 40;

function model(o: FixtureOptions): { spec: HybridModelSpec; weights: Map<string, Float32Array> } {
  const spec = buildSpec(fixtureConfig(o));
  const rng = new Rng(o.seed ?? 1);
  return { spec, weights: new Map(allTensorSpecs(spec).map((t) => [t.name, fixtureValues(t, spec, rng)])) };
}

function ids(V: number, seed = 3): BigInt64Array {
  const rng = new Rng(seed);
  return BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(V)));
}

async function runCpu(g: Graph, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(serializeModel(g), { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

const CONTRIB_ON_WEBGPU = ['com.microsoft:GroupQueryAttention', 'com.microsoft:FusedMatMul', 'LogSoftmax', 'Sum'];

test('forward graph (logits, nll, every tap and statistic) rewritten for WebGPU and CUDA computes the same on CPU', async () => {
  const { spec, weights } = model(NEMOTRON);
  const g = buildForwardGraph(spec, memoryWeights(spec, weights), { taps: listTaps(spec).map((t) => t.name), stats: listTapStats(spec).map((t) => t.name), nll: true });
  const before = opHistogram(g);
  for (const op of ['com.microsoft:GroupQueryAttention', 'com.microsoft:FusedMatMul', 'LogSoftmax']) assert.ok(before[op], `the fused graph has ${op} to rewrite`);
  assert.equal(graphForProvider(g, 'cpu'), g, 'CPU sessions get the graph as built');

  const webgpu = graphForProvider(g, 'webgpu');
  const cuda = graphForProvider(g, 'cuda');
  for (const op of CONTRIB_ON_WEBGPU) assert.equal(opHistogram(webgpu)[op], undefined, `no ${op} left for WebGPU`);
  assert.equal(opHistogram(cuda)['com.microsoft:GroupQueryAttention'], undefined);
  assert.equal(opHistogram(cuda)['com.microsoft:FusedMatMul'], before['com.microsoft:FusedMatMul'], 'CUDA keeps FusedMatMul (it has a kernel)');
  assert.deepEqual(opHistogram(g), before, 'the input graph is not modified');
  assert.deepEqual(webgpu.outputs.map((o) => o.name), g.outputs.map((o) => o.name));

  const feeds = { input_ids: new ort.Tensor('int64', ids(spec.vocabSize), [B, T]), labels: new ort.Tensor('int64', ids(spec.vocabSize, 4), [B, T]) };
  const want = await runCpu(g, feeds);
  for (const [name, variant] of [['webgpu', webgpu], ['cuda', cuda]] as const) {
    const got = await runCpu(variant, feeds);
    for (const o of g.outputs) assert.ok(maxRelDiff(got[o.name]!, want[o.name]!) <= 2e-6, `${name} variant, output ${o.name}: relative difference ${maxRelDiff(got[o.name]!, want[o.name]!)}`);
  }
});

test('training graph (loss and every gradient) rewritten for WebGPU computes the same on CPU', async () => {
  const { spec, weights } = model({ ...NEMOTRON, seed: 5 });
  const tg = buildTrainingGraph(spec, { batch: B, seq: T, loss: 'kd+ce', alpha: 0.5, temperature: 2, forward: { fused: true } });
  const h = opHistogram(tg.graph);
  for (const op of CONTRIB_ON_WEBGPU.filter((o) => o !== 'LogSoftmax')) assert.ok(h[op], `the training graph has ${op}`);
  const webgpu = graphForProvider(tg.graph, 'webgpu');
  for (const op of CONTRIB_ON_WEBGPU) assert.equal(opHistogram(webgpu)[op], undefined, `no ${op} left for WebGPU`);

  const rng = new Rng(9);
  const feeds: Record<string, ort.Tensor> = { [tg.inputs.ids]: new ort.Tensor('int64', ids(spec.vocabSize), [B, T]) };
  feeds[tg.inputs.targets!] = new ort.Tensor('int64', ids(spec.vocabSize, 8), [B, T]);
  feeds[tg.inputs.teacherLogits!] = new ort.Tensor('float32', Float32Array.from({ length: B * T * spec.vocabSize }, () => rng.normal() * 2), [B, T, spec.vocabSize]);
  for (const t of allTensorSpecs(spec)) feeds[t.name] = new ort.Tensor('float32', weights.get(t.name)!, t.shape);
  const want = await runCpu(tg.graph, feeds);
  const got = await runCpu(webgpu, feeds);
  assert.ok(maxRelDiff(got[tg.outputs.loss]!, want[tg.outputs.loss]!) <= 1e-6, 'loss');
  for (const [p, out] of tg.outputs.grads) assert.ok(maxRelDiff(got[out]!, want[out]!) <= 5e-6, `gradient of ${p}: relative difference ${maxRelDiff(got[out]!, want[out]!)}`);
});

test('f16 products: every MatMul/Gemm/FusedMatMul multiplies in float16; measured logits error on CPU', async (t) => {
  for (const family of ['nemotron_h', 'mamba2'] as const) {
    const { spec, weights } = model(family === 'mamba2' ? { family, numLayers: 3, hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, stateSize: 8, vocabSize: 64, chunkSize: 16, seed: 2 } : NEMOTRON);
    const g = buildForwardGraph(spec, memoryWeights(spec, weights));
    const f16 = graphForProvider(g, 'webgpu', 'f16');
    const h = opHistogram(f16);
    const f32Products = f16.nodes.filter((n) => (n.op === 'MatMul' || n.op === 'Gemm') && f16.values.get(n.inputs[0]!)!.dtype === 'float32');
    assert.deepEqual(f32Products.map((n) => n.name), [], 'no float32 product left');
    assert.ok((h['Cast'] ?? 0) > (opHistogram(g)['Cast'] ?? 0));
    const feeds = { input_ids: new ort.Tensor('int64', ids(spec.vocabSize), [B, T]) };
    const want = (await runCpu(g, feeds))['logits']!;
    const got = (await runCpu(graphForProvider(g, 'cpu', 'f16'), feeds))['logits']!;
    const d = maxRelDiff(got, want);
    t.diagnostic(`${family}: f16 products vs f32, logits max |Δ| / max |logit| = ${d.toExponential(2)}`);
    // f16 has an 11-bit significand (2^-11 ≈ 4.9e-4 relative rounding per operand): the difference must
    // be visible (the rewrite took effect) and stay at that scale after a few layers.
    assert.ok(d > 1e-5 && d < 1e-2, `f16 logits relative difference ${d}`);
  }
});

test('rewriteNodes keeps names and order, and refuses to drop an output that is read', () => {
  const g = new GraphBuilder('r');
  const x = g.input('x', 'float32', [2, 3]);
  const y = g.exp(x, { name: 'y' });
  g.output(g.neg(y, { name: 'z' }));
  const graph = g.build();
  const out = rewriteNodes(graph, (node, b, input) => (node.op === 'Exp' ? [b.reciprocal(b.exp(b.neg(input(0)!)))] : undefined));
  assert.deepEqual(out.nodes.map((n) => n.op), ['Neg', 'Exp', 'Reciprocal', 'Neg']);
  assert.equal(out.nodes[2]!.outputs[0], 'y', 'the replacement produces the replaced output under its name');
  assert.equal(out.nodes[3]!.inputs[0], 'y');
  assert.deepEqual(graph.nodes.map((n) => n.op), ['Exp', 'Neg'], 'input graph untouched');
  assert.throws(() => rewriteNodes(graph, (node, b) => (node.op === 'Exp' ? [undefined] : undefined)), /output "y" is used/);
});
