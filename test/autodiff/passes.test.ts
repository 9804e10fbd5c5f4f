// Graph passes around the VJP rules: shape specialisation, differentiate's contract (errors, pruning,
// seeds, unreachable variables), and the training-graph entry point's inputs/outputs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { allTensorSpecs, buildSpec } from '../../src/core/arch/index';
import { buildTrainingGraph } from '../../src/core/distill/training-graph';
import { HybridCompressError } from '../../src/core/errors';
import { buildForwardGraph, buildLayerGraph } from '../../src/core/model/forward-graph';
import { memoryWeights } from '../../src/core/model/forward-weights';
import { GraphBuilder } from '../../src/core/onnx/builder';
import { AutodiffError } from '../../src/core/onnx/autodiff/context';
import { differentiate } from '../../src/core/onnx/autodiff/differentiate';
import { specializeShapes } from '../../src/core/onnx/autodiff/specialize';
import { Interpreter } from '../../src/core/onnx/interpret/interpreter';
import { makeTensor, type Tensor } from '../../src/core/onnx/interpret/tensor';
import { serializeModel } from '../../src/core/onnx/serialize';
import { opHistogram } from '../../src/core/onnx/walk';
import { fixtureConfig, fixtureValues } from '../../src/core/testing/fixtures';
import { randn, Rng, runOrt } from './helpers';

const SMALL = fixtureConfig({ family: 'nemotron_h', vocabSize: 40, hiddenSize: 16, pattern: 'M-*', mambaHeads: 4, mambaHeadDim: 4, nGroups: 2, stateSize: 4, chunkSize: 4, intermediateSize: 24, attentionHeads: 2, kvHeads: 1, attentionHeadDim: 8 });

function isAutodiffError(pattern: RegExp) {
  return (e: unknown) => e instanceof AutodiffError && e instanceof HybridCompressError && pattern.test(e.message);
}

test('specialised forward graph: static shapes, no run-time shape arithmetic, same ORT logits', async () => {
  const spec = buildSpec(SMALL);
  const rng = new Rng(1);
  const weights = new Map(allTensorSpecs(spec).map((t) => [t.name, fixtureValues(t, spec, rng)]));
  const g = buildForwardGraph(spec, memoryWeights(spec, weights));
  const s = specializeShapes(g, { input_ids: [2, 6] });
  for (const [name, v] of s.values) assert.ok(v.shape.every((d) => typeof d === 'number'), `${name}: [${v.shape}]`);
  const ops = opHistogram(s);
  for (const op of ['Shape', 'Range', 'ConstantOfShape']) assert.equal(ops[op], undefined, `${op} left in the graph`);
  const ids = makeTensor('int64', [2, 6], Array.from({ length: 12 }, () => rng.int(40)));
  const a = (await runOrt(g, new Map([['input_ids', ids]]))).get('logits')!;
  const b = (await runOrt(s, new Map([['input_ids', ids]]))).get('logits')!;
  assert.deepEqual(Array.from(b.data), Array.from(a.data));
});

test('specialisation errors name the input and the shapes', () => {
  const spec = buildSpec(SMALL);
  const g = buildForwardGraph(spec, memoryWeights(spec, new Map(), { asInput: () => true }));
  assert.throws(() => specializeShapes(g, {}), isAutodiffError(/give a static shape for input "input_ids"/));
  assert.throws(() => specializeShapes(g, { nope: [1] }), isAutodiffError(/"nope" is not an input/));
  const layer = buildLayerGraph(spec, memoryWeights(spec, new Map(), { asInput: () => true }), 0);
  assert.throws(() => specializeShapes(layer, { hidden: [2, 6, 15] }), isAutodiffError(/declared \[batch, seq, 16\]/));
});

test('differentiate rejects symbolic shapes, ops without rules, bad losses and variables', () => {
  const spec = buildSpec(SMALL);
  const g = buildForwardGraph(spec, memoryWeights(spec, new Map(), { asInput: () => true }));
  const b = new GraphBuilder(g);
  const loss = b.reduceSum(b.value('logits'), [0, 1, 2], false, { name: 'l' });
  assert.throws(() => differentiate(b.build(), { loss: loss.name, wrt: [spec.normF.name] }), isAutodiffError(/needs static shapes.*batch/));

  const h = new GraphBuilder('erf');
  const x = h.input('x', 'float32', [3]);
  const [y] = h.node('Erf', [x], [{ dtype: 'float32', shape: [3] }]);
  const s = h.reduceSum(y!, [0], false, { name: 's' });
  assert.throws(() => differentiate(h.build(), { loss: s.name, wrt: ['x'] }), isAutodiffError(/no gradient rule for op Erf.*differentiable ops: .*MatMul/));
  assert.throws(() => differentiate(h.build(), { loss: y!.name, wrt: ['x'] }), isAutodiffError(/must be a float scalar/));
  assert.throws(() => differentiate(h.build(), { loss: 'missing', wrt: ['x'] }), isAutodiffError(/loss "missing" is not a value/));
  assert.throws(() => differentiate(h.build(), { wrt: ['x'] }), isAutodiffError(/give a loss value or at least one seed/));
  const k = new GraphBuilder('int');
  const i = k.input('i', 'int64', [3]);
  const f = k.reduceSum(k.cast(i, 'float32'), [0], false, { name: 'f' });
  assert.throws(() => differentiate(k.build(), { loss: f.name, wrt: ['i'] }), isAutodiffError(/only float values have gradients/));
});

test('differentiate: only nodes on a variable→loss path get backward nodes; unreachable variables get zeros', () => {
  const b = new GraphBuilder('paths');
  const x = b.input('x', 'float32', [2, 3]);
  const w = b.input('w', 'float32', [3, 4]);
  const unused = b.input('unused', 'float32', [5]);
  const side = b.exp(b.input('c', 'float32', [2, 4])); // no variable upstream: constant for the backward pass
  const y = b.mul(b.matmul(x, w), side);
  b.output(b.sigmoid(b.neg(unused)), 'other'); // depends on a variable, does not reach the loss
  const loss = b.reduceSum(y, [0, 1], false, { name: 'loss' });
  const d = differentiate(b.build(), { loss: loss.name, wrt: ['x', 'w', 'unused'] });
  const ops = opHistogram(d.graph);
  assert.equal(ops['Sigmoid'], undefined, 'the branch off the loss path was pruned');
  assert.equal(ops['Exp'], 1, 'the constant side input is computed once, never differentiated');
  assert.deepEqual(d.graph.outputs.map((o) => o.name), ['loss', 'x.grad', 'w.grad', 'unused.grad']);
  const rng = new Rng(2);
  const feeds = new Map<string, Tensor>([
    ['x', randn(rng, [2, 3])],
    ['w', randn(rng, [3, 4])],
    ['unused', randn(rng, [5])],
    ['c', randn(rng, [2, 4])],
  ]);
  const out = new Interpreter(d.graph).run(feeds);
  assert.deepEqual(out.get('unused.grad')!.shape, [5]);
  assert.ok(out.get('unused.grad')!.data.every((v) => v === 0));
});

test('a weight against batched activations: its gradient is one GEMM over the flattened batch, no batched product reduced over the batch', () => {
  for (const transB of [false, true]) {
    const b = new GraphBuilder('weight_x_batched');
    const w = b.input('w', 'float32', [64, 32]);
    const u = b.input('u', 'float32', transB ? [4, 8, 32] : [4, 32, 8]);
    const y = b.fusedMatMul(w, u, { transB }); // [4, 64, 8]
    const loss = b.reduceSum(b.mul(y, y), [0, 1, 2], false, { name: 'loss' });
    const d = differentiate(b.build(), { loss: loss.name, wrt: ['w'] });
    const ops = opHistogram(d.graph);
    assert.equal(ops['ReduceSum'], 1, `transB ${transB}: only the loss's own ReduceSum`);
    assert.equal(ops['Identity'], undefined, 'the GEMM writes the gradient output itself (renamed, not copied)');
    const grad = d.graph.values.get(d.gradients.get('w')!)!;
    assert.deepEqual(grad.shape, [64, 32]);
  }
});

test('a weight transposed before a product (x·Transpose(W)) gets its gradient as one product, no transposed copy', () => {
  const b = new GraphBuilder('x_wt');
  const x = b.input('x', 'float32', [6, 4]);
  const w = b.input('w', 'float32', [5, 4]);
  const y = b.matmul(x, b.transpose(w, [1, 0]));
  const loss = b.reduceSum(b.mul(y, y), [0, 1], false, { name: 'loss' });
  const d = differentiate(b.build(), { loss: loss.name, wrt: ['w'] });
  const ops = opHistogram(d.graph);
  assert.equal(ops['Transpose'], 1, 'only the forward transpose');
  const producer = d.graph.nodes.find((n) => n.outputs.includes(d.gradients.get('w')!))!;
  assert.equal(producer.op, 'FusedMatMul');
});

test('a seed gives the vector-Jacobian product: seeding y with R = the gradient of Σ y·R', () => {
  const rng = new Rng(3);
  const R = randn(rng, [3, 4]);
  const mk = (withLoss: boolean) => {
    const b = new GraphBuilder('vjp');
    const x = b.input('x', 'float32', [3, 5]);
    const w = b.input('w', 'float32', [4, 5]);
    const y = b.softmax(b.fusedMatMul(x, w, { transB: true }), -1, { name: 'y' });
    b.output(y);
    if (withLoss) b.reduceSum(b.mul(y, b.constant('float32', [3, 4], R.data)), [0, 1], false, { name: 'loss' });
    else b.input('r', 'float32', [3, 4]);
    return b.build();
  };
  const feeds = new Map<string, Tensor>([
    ['x', randn(rng, [3, 5])],
    ['w', randn(rng, [4, 5])],
    ['r', R],
  ]);
  const viaLoss = new Interpreter(differentiate(mk(true), { loss: 'loss', wrt: ['x', 'w'] }).graph).run(feeds);
  const viaSeed = new Interpreter(differentiate(mk(false), { seeds: [{ value: 'y', grad: 'r' }], wrt: ['x', 'w'] }).graph).run(feeds);
  for (const n of ['x.grad', 'w.grad']) {
    const a = viaLoss.get(n)!.data;
    const s = viaSeed.get(n)!.data;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - s[i]!) < 1e-12, n);
  }
  assert.throws(() => differentiate(mk(false), { seeds: [{ value: 'y', grad: 'x' }], wrt: ['w'] }), isAutodiffError(/does not match "y"/));
});

test('training graph: inputs and outputs by loss kind, trainable subset, deterministic bytes, ORT session names', async () => {
  const spec = buildSpec(SMALL);
  const params = allTensorSpecs(spec).map((t) => t.name);
  const kd = buildTrainingGraph(spec, { batch: 2, seq: 5, loss: 'kd' });
  assert.equal(kd.inputs.targets, undefined);
  assert.equal(kd.inputs.teacherLogits, 'teacher_logits');
  assert.equal(kd.outputs.ceLoss, undefined);
  assert.equal(kd.outputs.kdLoss, 'kd_loss');
  const ce = buildTrainingGraph(spec, { batch: 2, seq: 5, loss: 'ce', trainable: [spec.normF.name, spec.embedding.name] });
  assert.equal(ce.inputs.teacherLogits, undefined);
  assert.equal(ce.inputs.targets, 'targets');
  assert.deepEqual([...ce.outputs.grads.keys()], [spec.normF.name, spec.embedding.name]);
  assert.deepEqual(ce.inputs.params, params);
  assert.deepEqual(Buffer.from(ce.model()), Buffer.from(buildTrainingGraph(spec, { batch: 2, seq: 5, loss: 'ce', trainable: [spec.normF.name, spec.embedding.name] }).model()));

  const both = buildTrainingGraph(spec, { batch: 2, seq: 5, loss: 'kd+ce' });
  const s = await ort.InferenceSession.create(both.model());
  try {
    assert.deepEqual([...s.inputNames].sort(), ['input_ids', 'targets', 'teacher_logits', ...params].sort());
    assert.deepEqual([...s.outputNames], ['loss', 'kd_loss', 'ce_loss', ...params.map((p) => both.outputs.grads.get(p)!)]);
  } finally {
    await s.release();
  }
  assert.equal(serializeModel(both.graph).byteLength, both.model().byteLength);
});

test('training graph: bad options are typed errors naming the option', () => {
  const spec = buildSpec(SMALL);
  const bad = (o: Partial<Parameters<typeof buildTrainingGraph>[1]>, option: string) =>
    assert.throws(
      () => buildTrainingGraph(spec, { batch: 2, seq: 5, loss: 'kd', ...o }),
      (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && e.context.option === option,
    );
  bad({ batch: 0 }, 'batch');
  bad({ seq: 2.5 }, 'seq');
  bad({ trainable: ['backbone.layers.9.mixer.in_proj.weight'] }, 'trainable');
  bad({ loss: 'kd+ce', alpha: -1 }, 'alpha');
});
