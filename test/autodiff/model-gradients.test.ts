// Whole-model gradient checks: the nemotron_h and mamba2 fixture checkpoints (lead's writer), A's
// forward graph with every parameter a graph input, the kd+ce loss, the backward pass appended by
// `differentiate`. For a sample of elements of EVERY parameter tensor:
//  (b) analytic gradient (interpreter, float64) = five-point finite differences of the loss (float64);
// plus (a) the interpreter's logits = B's float64 reference forward and ≈ ORT float32, and
//      (c) the training graph on ORT float32 ≈ the interpreter (loss and every gradient).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allTensorSpecs } from '../../src/core/arch/spec';
import { buildTrainingGraph } from '../../src/core/distill/training-graph';
import { buildForwardGraph, type ForwardGraphOptions } from '../../src/core/model/forward-graph';
import { memoryWeights } from '../../src/core/model/forward-weights';
import { referenceForward } from '../../src/core/model/reference';
import { finiteDifferenceCheck } from '../../src/core/onnx/autodiff/gradient-check';
import { specializeShapes } from '../../src/core/onnx/autodiff/specialize';
import { Interpreter } from '../../src/core/onnx/interpret/interpreter';
import { makeTensor, type Tensor } from '../../src/core/onnx/interpret/tensor';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { randn, relMaxDiff, Rng, runOrt } from './helpers';

const B = 2;
const T = 7; // chunk 4: one full chunk and a remainder

const NEMOTRON: FixtureOptions = { family: 'nemotron_h', vocabSize: 40, hiddenSize: 16, pattern: 'M-M*', mambaHeads: 4, mambaHeadDim: 4, nGroups: 2, stateSize: 4, chunkSize: 4, intermediateSize: 24, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 8, seed: 21 };

const FIXTURES: { name: string; o: FixtureOptions; forward?: ForwardGraphOptions }[] = [
  {
    // 2 groups × 2 heads per group; attention head_dim 8 ≠ hidden/heads, GQA through ORT's
    // GroupQueryAttention (fused forward: Gemm, FusedMatMul, SimplifiedLayerNormalization); untied lm_head.
    name: 'nemotron_h M-M* (fused forward)',
    o: NEMOTRON,
    forward: { fused: true },
  },
  {
    // The standard-op forward: MatMul-form attention with an additive causal mask, decomposed RMSNorm.
    name: 'nemotron_h M-M* (standard ops)',
    o: { ...NEMOTRON, attentionHeadDim: 6, seed: 23 },
    forward: { fused: false },
  },
  {
    // Ungrouped gated norm, tied embeddings (the lm_head gradient adds into the embedding's).
    name: 'mamba2 2 layers',
    o: { family: 'mamba2', vocabSize: 40, hiddenSize: 16, numLayers: 2, mambaHeads: 4, mambaHeadDim: 8, nGroups: 1, stateSize: 4, chunkSize: 4, seed: 22 },
  },
];

async function setup(o: FixtureOptions) {
  const dir = mkdtempSync(join(tmpdir(), 'hc-autodiff-'));
  try {
    const fx = await writeFixtureCheckpoint(dir, o);
    const rng = new Rng(5);
    const feeds = new Map<string, Tensor>();
    for (const t of allTensorSpecs(fx.spec)) feeds.set(t.name, makeTensor('float32', t.shape, fx.weights.get(t.name)!));
    const ids = Array.from({ length: B * T }, () => rng.int(fx.spec.vocabSize));
    feeds.set('input_ids', makeTensor('int64', [B, T], ids));
    feeds.set('targets', makeTensor('int64', [B, T], ids.map((_, i) => ((i % T) + 1 < T ? ids[i + 1]! : -100))));
    feeds.set('teacher_logits', randn(rng, [B, T, fx.spec.vocabSize], 2));
    return { spec: fx.spec, weights: fx.weights, feeds, ids };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const fx of FIXTURES) {
  test(`${fx.name}: specialised forward graph = float64 reference forward ≈ ORT`, async () => {
    const { spec, weights, feeds, ids } = await setup(fx.o);
    const fwd = specializeShapes(buildForwardGraph(spec, memoryWeights(spec, new Map(), { asInput: () => true }), fx.forward), { input_ids: [B, T] });
    assert.ok(fwd.values.get('logits')!.shape.every((d) => typeof d === 'number'), 'static logits shape');
    const logits = new Interpreter(fwd).run(feeds, ['logits']).get('logits')!;
    const rows = Array.from({ length: B }, (_, r) => ids.slice(r * T, (r + 1) * T));
    const ref = referenceForward(spec, weights, rows).logits;
    // 1e-7, not ~1e-15: the graph's own constants are float32 (e.g. the standard-op form's 1/√d).
    assert.ok(relMaxDiff(logits.data, ref) < 1e-7, `interpreter vs reference: ${relMaxDiff(logits.data, ref)}`);
    const ort = (await runOrt(fwd, feeds, ['logits'])).get('logits')!;
    assert.ok(relMaxDiff(ort.data, logits.data) < 1e-5, `ORT vs interpreter: ${relMaxDiff(ort.data, logits.data)}`);
  });

  test(`${fx.name}: finite differences on every parameter tensor; ORT backward ≈ interpreter`, async () => {
    const { spec, feeds } = await setup(fx.o);
    const tg = buildTrainingGraph(spec, { batch: B, seq: T, loss: 'kd+ce', alpha: 0.4, temperature: 1.5, chunks: 2, forward: fx.forward });
    const params = allTensorSpecs(spec).map((t) => t.name);
    assert.deepEqual([...tg.outputs.grads.keys()], params);
    const out = new Interpreter(tg.graph).run(feeds);
    const grads = new Map(params.map((p) => [p, out.get(tg.outputs.grads.get(p)!)!]));
    const fd = finiteDifferenceCheck(tg.graph, grads, { loss: tg.outputs.loss, wrt: params, feeds, samples: 4 });
    for (const t of fd.tensors) {
      assert.ok(t.maxRelErr < 1e-6, `${t.name}[${t.worst.index}]: analytic ${t.worst.analytic} vs numeric ${t.worst.numeric} (rel ${t.maxRelErr})`);
      assert.ok(grads.get(t.name)!.data.some((v) => v !== 0), `${t.name}: gradient is identically zero`);
    }

    const ort = await runOrt(tg.graph, feeds);
    const loss = out.get('loss')!.data[0]!;
    assert.ok(Math.abs(ort.get('loss')!.data[0]! - loss) < 1e-5 * Math.abs(loss));
    for (const p of params) {
      const name = tg.outputs.grads.get(p)!;
      const rel = relMaxDiff(ort.get(name)!.data, out.get(name)!.data);
      // Loose: float32 sums with cancellation (dt_bias sums signed terms over every position) reach ~2e-4.
      assert.ok(rel < 1e-3, `${p}: ORT float32 gradient differs from the interpreter by rel ${rel}`);
    }
  });
}

for (const loss of ['kd+ce', 'kd'] as const) {
  test(`loss-gradient modes agree on the whole model (${loss}): fused head = logits seed = autodiff through the loss`, async () => {
    const { spec, feeds } = await setup(FIXTURES[0]!.o);
    const opts = { batch: B, seq: T, loss, alpha: 0.3, temperature: 2, chunks: 3 } as const;
    const runs = (['fused-head', 'logits', 'autodiff'] as const).map((lossGradient) => {
      const tg = buildTrainingGraph(spec, { ...opts, lossGradient });
      return { tg, out: new Interpreter(tg.graph).run(feeds) };
    });
    const [a, ...rest] = runs;
    assert.ok(!a!.tg.graph.values.has('logits'), 'the fused head never materialises the logits');
    for (const r of rest) {
      assert.ok(Math.abs(a!.out.get('loss')!.data[0]! - r.out.get('loss')!.data[0]!) < 1e-14);
      for (const [p, name] of a!.tg.outputs.grads) assert.ok(relMaxDiff(a!.out.get(name)!.data, r.out.get(r.tg.outputs.grads.get(p)!)!.data) < 1e-12, p);
    }
  });
}
