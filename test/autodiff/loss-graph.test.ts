// Loss graphs: values against the float64 references (loss-reference.ts), the closed-form d_logits
// against autodiff through the same graph and against finite differences, chunked = unchunked, ORT
// float32 = interpreter, and option errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHeadLossGraph, buildLossGraph, chunkSizes, type LossKind } from '../../src/core/distill/loss-graph';
import { matmul } from '../../src/core/onnx/interpret/ops-linalg';
import { crossEntropyReference, forwardKlReference } from '../../src/core/distill/loss-reference';
import { gradientCheck } from '../../src/core/onnx/autodiff/gradient-check';
import { Interpreter } from '../../src/core/onnx/interpret/interpreter';
import { makeTensor, type Tensor } from '../../src/core/onnx/interpret/tensor';
import { HybridCompressError } from '../../src/core/errors';
import { randn, relMaxDiff, Rng, runOrt } from './helpers';

const B = 2;
const T = 5;
const V = 11;

function feedsFor(rng: Rng, ignoreLast = true, dtype: 'float32' | 'float64' = 'float32'): Map<string, Tensor> {
  const ids = Array.from({ length: B * T }, () => rng.int(V));
  // targets[t] = ids[t+1]; the last position of each row has none (−100, ignored).
  const targets = ids.map((_, i) => ((i % T) + 1 < T ? ids[i + 1]! : ignoreLast ? -100 : ids[i - (i % T)]!));
  return new Map<string, Tensor>([
    ['logits', randn(rng, [B, T, V], 2, dtype)],
    ['teacher_logits', randn(rng, [B, T, V], 2, dtype)],
    ['targets', makeTensor('int64', [B, T], targets)],
    ['ids', makeTensor('int64', [B, T], ids)],
  ]);
}

function feedsOf(kind: LossKind, all: Map<string, Tensor>): Map<string, Tensor> {
  const m = new Map([['logits', all.get('logits')!]]);
  if (kind !== 'ce') m.set('teacher_logits', all.get('teacher_logits')!);
  if (kind !== 'kd') m.set('targets', all.get('targets')!);
  return m;
}

function scalar(m: Map<string, Tensor>, name: string): number {
  return m.get(name)!.data[0]!;
}

test('chunk sizes cover all rows, near-equal', () => {
  assert.deepEqual(chunkSizes(10, 3), [4, 3, 3]);
  assert.deepEqual(chunkSizes(2, 5), [1, 1]);
  assert.deepEqual(chunkSizes(7, 1), [7]);
  // auto: blocks of ≤ 2^24/V rows
  assert.deepEqual(chunkSizes(1024, 'auto', 4096), [1024]);
  assert.deepEqual(chunkSizes(1024, 'auto', 131072), new Array(8).fill(128));
});

for (const kind of ['kd', 'ce', 'kd+ce'] as const) {
  test(`fused LM head + loss = logits loss on h·Wᵀ, gradients = chain rule, FD-checked (${kind})`, () => {
    const D = 6;
    const rng = new Rng(17);
    const all = feedsFor(rng, true, 'float64');
    const hidden = randn(rng, [B * T, D], 1, 'float64');
    const weight = randn(rng, [V, D], 0.7, 'float64');
    const logits = matmul(hidden, weight, false, true);
    const opts = { loss: kind, temperature: 1.3, alpha: 0.25 } as const;
    const ref = new Interpreter(buildLossGraph(B, T, V, { ...opts, chunks: 1 }, 'float64')).run(feedsOf(kind, new Map([...all, ['logits', { ...logits, shape: [B, T, V] }]])));
    const dLogits = { ...ref.get('d_logits')!, shape: [B * T, V] };
    for (const chunks of [1, 4]) {
      const g = buildHeadLossGraph(B, T, D, V, { ...opts, chunks }, 'float64');
      const feeds = feedsOf(kind, all);
      feeds.delete('logits');
      feeds.set('hidden', hidden);
      feeds.set('weight', weight);
      const out = new Interpreter(g).run(feeds);
      assert.ok(Math.abs(scalar(out, 'loss') - scalar(ref, 'loss')) < 1e-13, `chunks ${chunks}: loss`);
      assert.ok(relMaxDiff(out.get('d_hidden')!.data, matmul(dLogits, weight).data) < 1e-13, `chunks ${chunks}: d_hidden`);
      assert.ok(relMaxDiff(out.get('d_head_weight')!.data, matmul(dLogits, hidden, true, false).data) < 1e-13, `chunks ${chunks}: d_head_weight`);
      if (chunks === 4) {
        const gc = gradientCheck(buildHeadLossGraph(B, T, D, V, { ...opts, chunks, gradient: false }, 'float64'), { loss: 'loss', wrt: ['hidden', 'weight'], feeds, samples: 20 });
        assert.ok(gc.maxRelErr < 1e-6, `finite differences: ${gc.maxRelErr}`);
        assert.ok(relMaxDiff(gc.gradients.get('weight')!.data, out.get('d_head_weight')!.data) < 1e-12);
      }
    }
  });
}

for (const temperature of [1, 2.5]) {
  test(`loss values match the float64 references (T=${temperature}, chunked and not)`, async () => {
    const all = feedsFor(new Rng(11));
    const all64 = feedsFor(new Rng(11), true, 'float64');
    const s = all.get('logits')!.data;
    const t = all.get('teacher_logits')!.data;
    const kdRef = forwardKlReference(t, s, B * T, V, temperature);
    const ceRef = crossEntropyReference(s, all.get('ids')!.data, B, T, V);
    for (const chunks of [1, 3]) {
      for (const [kind, ref] of [
        ['kd', kdRef],
        ['ce', ceRef],
        ['kd+ce', 0.3 * kdRef + 0.7 * ceRef],
      ] as const) {
        const opts = { loss: kind, temperature, alpha: 0.3, chunks };
        const g = buildLossGraph(B, T, V, opts);
        const out = new Interpreter(buildLossGraph(B, T, V, opts, 'float64')).run(feedsOf(kind, all64));
        assert.ok(Math.abs(scalar(out, 'loss') - ref) < 1e-12 * Math.max(1, Math.abs(ref)), `${kind} chunks=${chunks}: ${scalar(out, 'loss')} vs ${ref}`);
        if (kind !== 'ce') assert.ok(Math.abs(scalar(out, 'kd_loss') - kdRef) < 1e-12);
        if (kind !== 'kd') assert.ok(Math.abs(scalar(out, 'ce_loss') - ceRef) < 1e-12);
        const ort = await runOrt(g, feedsOf(kind, all));
        assert.ok(Math.abs(scalar(ort, 'loss') - ref) < 1e-5 * Math.max(1, Math.abs(ref)), `${kind} ORT: ${scalar(ort, 'loss')} vs ${ref}`);
        assert.ok(relMaxDiff(ort.get('d_logits')!.data, out.get('d_logits')!.data) < 1e-5, `${kind} ORT d_logits`);
      }
    }
  });
}

test('KD of a student equal to its teacher is 0 with zero gradient', () => {
  const all = feedsFor(new Rng(2));
  const g = buildLossGraph(B, T, V, { loss: 'kd', temperature: 2 });
  const out = new Interpreter(g).run(new Map([['logits', all.get('teacher_logits')!], ['teacher_logits', all.get('teacher_logits')!]]));
  assert.ok(Math.abs(scalar(out, 'loss')) < 1e-14);
  assert.ok(out.get('d_logits')!.data.every((v) => Math.abs(v) < 1e-15));
});

for (const kind of ['kd', 'ce', 'kd+ce'] as const) {
  test(`closed-form d_logits = autodiff through the loss = finite differences (${kind})`, () => {
    const all = feedsFor(new Rng(5), true, 'float64');
    const feeds = feedsOf(kind, all);
    const opts = { loss: kind, temperature: 1.7, alpha: 0.6, chunks: 3 } as const;
    const closed = new Interpreter(buildLossGraph(B, T, V, opts, 'float64')).run(feeds).get('d_logits')!;
    // Autodiff through the graph without the closed form, checked by finite differences.
    const plain = buildLossGraph(B, T, V, { ...opts, gradient: false }, 'float64');
    const gc = gradientCheck(plain, { loss: 'loss', wrt: ['logits'], feeds, samples: 40 });
    assert.ok(gc.maxRelErr < 1e-6, `finite differences: rel ${gc.maxRelErr}`);
    assert.ok(relMaxDiff(gc.gradients.get('logits')!.data, closed.data) < 1e-12, 'autodiff vs closed form');
    if (kind !== 'kd') {
      // Ignored positions (targets −100) get no CE gradient.
      const ceOnly = new Interpreter(buildLossGraph(B, T, V, { loss: 'ce' })).run(feedsOf('ce', all)).get('d_logits')!;
      for (let r = 0; r < B; r++) for (let v = 0; v < V; v++) assert.equal(ceOnly.data[(r * T + T - 1) * V + v], 0);
    }
  });
}

test('an all-ignored CE batch gives loss 0, not NaN', () => {
  const all = feedsFor(new Rng(9));
  const targets = makeTensor('int64', [B, T], new Array(B * T).fill(-100));
  const out = new Interpreter(buildLossGraph(B, T, V, { loss: 'ce' })).run(new Map([['logits', all.get('logits')!], ['targets', targets]]));
  assert.ok(scalar(out, 'loss') === 0, `loss ${scalar(out, 'loss')}`);
});

test('bad loss options are typed errors naming the option', () => {
  const cases: [Parameters<typeof buildLossGraph>[3], string][] = [
    [{ loss: 'mse' as LossKind }, 'loss'],
    [{ loss: 'kd+ce', alpha: 1.5 }, 'alpha'],
    [{ loss: 'kd', temperature: 0 }, 'temperature'],
    [{ loss: 'kd', chunks: 0 }, 'chunks'],
  ];
  for (const [o, option] of cases) {
    assert.throws(
      () => buildLossGraph(B, T, V, o),
      (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && e.context.option === option,
    );
  }
});

test('one NaN, +Inf or −Inf teacher logit makes the KD loss non-finite, logits or fused head (the trainer searches the teacher\'s logits only then)', async () => {
  const D = 6;
  for (const kind of ['kd', 'kd+ce'] as const) {
    const rng = new Rng(23);
    const all = feedsFor(rng);
    const hidden = randn(rng, [B * T, D], 1);
    const weight = randn(rng, [V, D], 0.7);
    const logitsGraph = buildLossGraph(B, T, V, { loss: kind });
    const headGraph = buildHeadLossGraph(B, T, D, V, { loss: kind });
    const headFeeds = (m: Map<string, Tensor>) => new Map([...feedsOf(kind, m)].filter(([k]) => k !== 'logits').concat([['hidden', hidden], ['weight', weight]]));
    assert.ok(Number.isFinite(scalar(await runOrt(logitsGraph, feedsOf(kind, all)), 'loss')), 'finite teacher logits: a finite loss');
    for (const bad of [NaN, Infinity, -Infinity]) {
      const teacher = all.get('teacher_logits')!;
      const poisoned = makeTensor('float32', teacher.shape, Array.from(teacher.data, (x, i) => (i === 17 ? bad : x)));
      const m = new Map(all).set('teacher_logits', poisoned);
      assert.equal(Number.isFinite(scalar(await runOrt(logitsGraph, feedsOf(kind, m)), 'loss')), false, `${kind}, ${bad}: logits loss`);
      assert.equal(Number.isFinite(scalar(await runOrt(headGraph, headFeeds(m)), 'loss')), false, `${kind}, ${bad}: fused head loss`);
    }
  }
});
