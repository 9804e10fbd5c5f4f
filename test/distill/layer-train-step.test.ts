// The layer-recompute training step (forward keeping only layer inputs, backward recomputing each
// layer) against the float64 interpreter on the one-graph training graph, and against the one-graph
// step on ORT (writing into the caller's gradient buffers): loss and every parameter's gradient, for
// untied (nemotron_h, two Mamba layers sharing one session pair) and tied (mamba2) heads, with each
// loss kind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allTensorSpecs, numel } from '../../src/core/arch/spec';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { layerTrainStep } from '../../src/core/distill/layer-train-step';
import { ortTrainStep } from '../../src/core/distill/ort-train-step';
import { buildTrainingGraph, nextTokenTargets } from '../../src/core/distill/training-graph';
import type { LossKind } from '../../src/core/distill/loss-graph';
import { Interpreter } from '../../src/core/onnx/interpret/interpreter';
import { makeTensor, type Tensor } from '../../src/core/onnx/interpret/tensor';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { Rng } from '../../src/core/util/random';
import { relMaxDiff } from '../autodiff/helpers';

const B = 2;
const T = 7; // chunk 4: one full chunk and a remainder

const FIXTURES: { name: string; o: FixtureOptions }[] = [
  { name: 'nemotron_h M-M*', o: { family: 'nemotron_h', vocabSize: 40, hiddenSize: 16, pattern: 'M-M*', mambaHeads: 4, mambaHeadDim: 4, nGroups: 2, stateSize: 4, chunkSize: 4, intermediateSize: 24, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 8, seed: 31 } },
  { name: 'mamba2 2 layers, tied head', o: { family: 'mamba2', vocabSize: 40, hiddenSize: 16, numLayers: 2, mambaHeads: 4, mambaHeadDim: 8, nGroups: 1, stateSize: 4, chunkSize: 4, seed: 32 } },
];

for (const fx of FIXTURES) {
  for (const loss of ['kd+ce', 'kd', 'ce'] as LossKind[]) {
    test(`layer-recompute step = one-graph training graph (${fx.name}, ${loss}): loss and every gradient`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hc-layer-step-'));
      try {
        const written = await writeFixtureCheckpoint(dir, fx.o);
        const ckpt = await openCheckpoint(dir);
        const spec = ckpt.spec;
        const params = allTensorSpecs(spec).map((t) => ({ name: t.name, shape: t.shape }));
        const values = params.map((p) => Float32Array.from(written.weights.get(p.name)!));
        const rng = new Rng(9);
        // A repeated id: the embedding gradient sums two rows' contributions into one row.
        const ids = BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i === 5 ? 3 : i === 9 ? 3 : rng.int(spec.vocabSize)));
        const teacher = Float32Array.from({ length: B * T * spec.vocabSize }, () => 2 * rng.normal());
        const o = { batch: B, seq: T, loss, alpha: 0.4, temperature: 1.5, device: 'cpu', threads: 1 };

        const layer = await layerTrainStep(ckpt, params, o);
        // The one-graph step writes into the caller's buffers (the optimizer's gradient blocks): NaN until it has.
        const given = params.map((p) => new Float32Array(numel(p.shape)).fill(NaN));
        const whole = await ortTrainStep(ckpt, params, { ...o, gradients: given });
        try {
          const tl = loss === 'ce' ? undefined : teacher;
          const a = await layer.run(values, ids, tl);
          const first = a.grads.map((g) => g.slice());
          // The gradient buffers are reused across steps: a second run overwrites them with the same numbers.
          const a2 = await layer.run(values, ids, tl);
          const w = await whole.run(values, ids, tl);

          // The float64 reference: the interpreter on the one-graph training graph.
          const tg = buildTrainingGraph(spec, { batch: B, seq: T, loss, alpha: 0.4, temperature: 1.5, forward: { fused: false } });
          const feeds = new Map<string, Tensor>(params.map((p, i) => [p.name, makeTensor('float32', p.shape, values[i]!)]));
          feeds.set('input_ids', makeTensor('int64', [B, T], Array.from(ids, Number)));
          if (loss !== 'kd') feeds.set('targets', makeTensor('int64', [B, T], Array.from(nextTokenTargets(ids, B, T), Number)));
          if (loss !== 'ce') feeds.set('teacher_logits', makeTensor('float32', [B, T, spec.vocabSize], teacher));
          const ref = new Interpreter(tg.graph).run(feeds);

          const refLoss = ref.get('loss')!.data[0]!;
          assert.ok(Math.abs(a.loss - refLoss) < 1e-5 * Math.abs(refLoss), `loss ${a.loss} vs reference ${refLoss}`);
          assert.equal(a2.loss, a.loss);
          if (loss !== 'ce') assert.ok(Math.abs(a.kdLoss! - ref.get('kd_loss')!.data[0]!) < 1e-5 * Math.abs(refLoss));
          if (loss !== 'kd') assert.ok(Math.abs(a.ceLoss! - ref.get('ce_loss')!.data[0]!) < 1e-5 * Math.abs(refLoss));
          params.forEach((p, i) => {
            const r = ref.get(tg.outputs.grads.get(p.name)!)!.data;
            assert.ok(Array.from(r).some((v) => v !== 0), `${p.name}: reference gradient is identically zero`);
            // As loose as the one-graph step's own check against the interpreter (float32 sums with cancellation).
            assert.ok(relMaxDiff(first[i]!, r) < 1e-3, `${p.name}: layer step vs float64 reference rel ${relMaxDiff(first[i]!, r)}`);
            assert.ok(relMaxDiff(first[i]!, w.grads[i]!) < 1e-4, `${p.name}: layer step vs one-graph step rel ${relMaxDiff(first[i]!, w.grads[i]!)}`);
            assert.deepEqual(a2.grads[i], first[i], `${p.name}: second run differs`);
            assert.equal(w.grads[i], given[i], `${p.name}: the one-graph step returned its own buffer, not the caller's`);
            assert.ok(relMaxDiff(w.grads[i]!, r) < 1e-3, `${p.name}: one-graph step vs float64 reference rel ${relMaxDiff(w.grads[i]!, r)}`);
          });
        } finally {
          await layer.release();
          await whole.release();
          await ckpt.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
