// StreamedModel (runtime/streamed-model.ts): the layer graphs take the Mamba in_proj as one input per row
// range (z, xBC, dt), fed as views of the layer's weight array, so no run slices (copies) a weight input;
// graphs with weights as inputs built without weightRowInputs (training) keep one input and slice it.
// A streamed pass, on those sessions, gives the whole-model logits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { buildLayerGraph } from '../../src/core/model/forward-graph';
import { memoryWeights, parseRowRangeInput, rowRangeInputName } from '../../src/core/model/forward-weights';
import { StreamedModel } from '../../src/core/runtime/streamed-model';
import { ForwardRunner } from '../../src/core/runtime/forward-runner';
import type { Graph } from '../../src/core/onnx/index';
import { Rng } from '../../src/core/util/random';

const dir = mkdtempSync(join(tmpdir(), 'hc-streamed-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const MODEL = { pattern: 'M-M*', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 8, chunkSize: 8, vocabSize: 64 } as const;

/** Slice nodes whose data input is a graph input (a copy of that input on every run). */
function slicedInputs(g: Graph): string[] {
  const inputs = new Set(g.inputs.map((i) => i.name));
  return g.nodes.filter((n) => n.op === 'Slice' && inputs.has(n.inputs[0]!)).map((n) => n.inputs[0]!);
}

test('row-range input names round-trip; other names are not ranges', () => {
  assert.deepEqual(parseRowRangeInput(rowRangeInputName('backbone.layers.0.mixer.in_proj.weight', 40, 88)), { tensor: 'backbone.layers.0.mixer.in_proj.weight', start: 40, end: 88 });
  assert.equal(parseRowRangeInput('backbone.layers.0.mixer.in_proj.weight'), undefined);
  assert.equal(parseRowRangeInput('hidden'), undefined);
});

test('Mamba layer graph with weightRowInputs: in_proj comes as z / xBC / dt row inputs and no input is sliced', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'graph'), MODEL);
  const spec = fx.spec;
  const m = spec.mamba!;
  const I = m.innerSize;
  const C = I + 2 * m.nGroups * m.stateSize;
  const inProj = spec.layers[0]!.tensors.find((t) => t.role === 'in_proj')!;
  const asInputs = memoryWeights(spec, new Map(), { asInput: () => true });

  const split = buildLayerGraph(spec, asInputs, 0, { weightRowInputs: true });
  const names = split.inputs.map((i) => i.name);
  assert.ok(!names.includes(inProj.name), 'the whole in_proj is not an input');
  const ranges = names.map(parseRowRangeInput).filter((r) => r !== undefined);
  assert.deepEqual(
    ranges.map((r) => [r.tensor, r.start, r.end]),
    [
      [inProj.name, 0, I],
      [inProj.name, I, I + C],
      [inProj.name, I + C, I + C + m.numHeads],
    ],
  );
  const z = split.inputs.find((i) => i.name === rowRangeInputName(inProj.name, 0, I))!;
  assert.deepEqual(z.shape, [I, spec.hiddenSize]);
  assert.deepEqual(slicedInputs(split), []);

  // The training form (weights as inputs, one per tensor) slices in_proj in the graph.
  const whole = buildLayerGraph(spec, asInputs, 0, {});
  assert.ok(whole.inputs.some((i) => i.name === inProj.name));
  assert.deepEqual([...new Set(slicedInputs(whole))], [inProj.name]);
});

test('a streamed pass (row-range views fed) gives the whole-model logits', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'model'), MODEL);
  const ck = await openCheckpoint(fx.dir);
  const [B, T] = [2, 11];
  const rng = new Rng(3);
  const ids = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(MODEL.vocabSize)));
  const whole = await ForwardRunner.create(ck, { device: 'cpu' });
  const want = (await whole.run(ids, B, T)).logits;
  await whole.release();
  const m = await StreamedModel.create(ck, { device: 'cpu', headRows: 24 });
  let h = await m.embed(ids);
  const got = new Float32Array(B * T * MODEL.vocabSize);
  for await (const step of m.pass({ head: true })) {
    if (step.kind === 'layer') h = (await step.run(h, B, T)).hidden;
    else {
      const { logits } = await step.run(h, B, T);
      for (let p = 0; p < B * T; p++) got.set(logits!.subarray(p * step.rows, (p + 1) * step.rows), p * MODEL.vocabSize + step.v0);
    }
  }
  // The sessions it ran are the row-range ones (a Mamba layer session takes no whole in_proj).
  const sessions = [...(m as unknown as { layerSessions: Map<string, { session: { inputNames: readonly string[] } }> }).layerSessions.values()];
  assert.ok(sessions.some((s) => s.session.inputNames.some((n) => parseRowRangeInput(n) !== undefined)));
  await m.release();
  await ck.close();
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  assert.ok(worst <= 1e-5 * scale, `streamed logits differ by ${worst} (scale ${scale})`);
});
