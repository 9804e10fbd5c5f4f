// WebGPU tier, in-process part (run by scripts/webgpu-tier.ts on SwiftShader, or any WebGPU adapter):
// forward passes (logits and every tap), a BF16 checkpoint, a training step (loss and every gradient)
// agree with the CPU provider on fixtures of both families; ORT places no compute node on the CPU;
// GroupQueryAttention as ORT's WebGPU kernel computes it is recorded beside the rewritten form; f16
// products either run within tolerance or fail with a message naming shader-f16. Nothing here is
// skipped: a device that cannot be created fails the tier.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { allTensorSpecs } from '../../src/core/arch/spec';
import { listTaps } from '../../src/core/model/forward-graph';
import { ForwardRunner } from '../../src/core/runtime/forward-runner';
import { createSession, webgpuAdapter } from '../../src/core/runtime/session';
import { buildTrainingGraph } from '../../src/core/distill/training-graph';
import { GraphBuilder, serializeModel, type Graph } from '../../src/core/onnx/index';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { Rng } from '../../src/core/util/random';
import { placement, profileFile } from './helpers';
import { maxAbsDiff, maxRelDiff } from '../reference/helpers';

// Attention head_dim 16 (so fused graphs use GroupQueryAttention); T = 64 = two SSD chunks of 32, and
// ≥ 32, the length from which ORT's WebGPU GroupQueryAttention kernel goes wrong.
export const FAMILIES: Record<'nemotron_h' | 'mamba2', FixtureOptions> = {
  nemotron_h: { pattern: 'M-*M-', hiddenSize: 64, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, stateSize: 16, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 16, intermediateSize: 96, vocabSize: 256, chunkSize: 32, seed: 11 },
  mamba2: { family: 'mamba2', numLayers: 3, hiddenSize: 64, mambaHeads: 8, mambaHeadDim: 16, nGroups: 2, stateSize: 16, vocabSize: 256, chunkSize: 32, seed: 12 },
};
const B = 2;
const T = 64;

let root: string;
before(() => (root = mkdtempSync(join(tmpdir(), 'hc-webgpu-'))));
after(() => rmSync(root, { recursive: true, force: true }));

function ids(V: number, seed: number): BigInt64Array {
  const rng = new Rng(seed);
  return BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(V)));
}

async function compareForward(dir: string, what: string, t: { diagnostic: (s: string) => void }): Promise<void> {
  const cpu = await ForwardRunner.create(dir, { device: 'cpu', threads: 1, taps: [] });
  const taps = listTaps(cpu.spec).map((x) => x.name);
  await cpu.release();
  const x = ids(cpu.spec.vocabSize, 5);
  const a = await ForwardRunner.create(dir, { device: 'cpu', threads: 1, taps });
  const g = await ForwardRunner.create(dir, { device: 'webgpu', taps });
  try {
    assert.equal(g.ep, 'webgpu');
    const ra = await a.run(x, B, T);
    const rg = await g.run(x, B, T);
    const d = maxAbsDiff(ra.logits, rg.logits);
    // Taps in model order bisect a mismatch: the first one off names the layer and block that caused it.
    const diffs = taps.map((name) => [name, maxRelDiff(rg.taps.get(name)!, ra.taps.get(name)!)] as const);
    const worstTap = Math.max(...diffs.map(([, r]) => r));
    const firstOff = diffs.find(([, r]) => r > 1e-4);
    t.diagnostic(`${what}: logits max |Δ| ${d.toExponential(2)}, worst tap relative ${worstTap.toExponential(2)}`);
    assert.equal(firstOff, undefined, `${what}: first tap off: ${firstOff?.[0]} (relative ${firstOff?.[1]})`);
    assert.ok(d <= 1e-3, `${what}: logits differ by ${d}`);
  } finally {
    await a.release();
    await g.release();
  }
}

for (const [family, o] of Object.entries(FAMILIES)) {
  test(`${family}: WebGPU forward (logits and every tap) matches the CPU provider`, async (t) => {
    await compareForward((await writeFixtureCheckpoint(join(root, family), o)).dir, family, t);
    t.diagnostic(`adapter: ${webgpuAdapter()?.adapter}`);
  });
}

test('a BF16 checkpoint runs on WebGPU (upcast in the graph) and matches the CPU provider', async (t) => {
  await compareForward((await writeFixtureCheckpoint(join(root, 'bf16'), { ...FAMILIES.nemotron_h, dtype: 'BF16' })).dir, 'nemotron_h BF16', t);
});

async function profiled(graph: Graph, feeds: Record<string, ort.Tensor>, prefix: string, modelDir?: string): Promise<{ out: ort.InferenceSession.ReturnType; cpuOps: Map<string, number> }> {
  const { session, ep } = await createSession(graph, { device: 'webgpu', profilePrefix: prefix, modelDir });
  assert.equal(ep, 'webgpu');
  try {
    const out = await session.run(feeds);
    session.endProfiling();
    const p = placement(profileFile(prefix));
    assert.ok(p.get('WebGpuExecutionProvider')?.size, 'nodes ran on WebGPU');
    return { out, cpuOps: p.get('CPUExecutionProvider') ?? new Map() };
  } finally {
    await session.release();
  }
}

// What ORT may leave on the CPU inside a WebGPU session: shape arithmetic on small int64 tensors and the
// causal masks built from them (it assigns those to the CPU on purpose). Any other op here would be a
// compute node falling back, with device↔host copies around it.
const SHAPE_OPS = new Set(['Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Slice', 'Reshape', 'Range', 'Less', 'Greater', 'Where', 'Cast', 'Add', 'Sub', 'Mul', 'Div', 'ConstantOfShape', 'Equal', 'Expand', 'Identity']);

test('training step (forward + loss + backward) on WebGPU: loss and every gradient match the CPU provider; no compute op falls back to the CPU', async (t) => {
  const fx = await writeFixtureCheckpoint(join(root, 'train'), FAMILIES.nemotron_h);
  const ck = await openCheckpoint(fx.dir);
  try {
    const spec = ck.spec;
    for (const fused of [false, true]) {
      const tg = buildTrainingGraph(spec, { batch: B, seq: T, loss: 'kd', alpha: 0.5, temperature: 1, forward: { fused } });
      const rng = new Rng(3);
      const feeds: Record<string, ort.Tensor> = { [tg.inputs.ids]: new ort.Tensor('int64', ids(spec.vocabSize, 6), [B, T]) };
      feeds[tg.inputs.teacherLogits!] = new ort.Tensor('float32', Float32Array.from({ length: B * T * spec.vocabSize }, () => rng.normal() * 3), [B, T, spec.vocabSize]);
      for (const s of allTensorSpecs(spec)) feeds[s.name] = new ort.Tensor('float32', fx.weights.get(s.name)!, s.shape);
      const { session } = await createSession(tg.graph, { device: 'cpu', threads: 1 });
      const want = await session.run(feeds);
      await session.release();
      const { out, cpuOps } = await profiled(tg.graph, feeds, join(root, `train-${fused}`));
      const lossDiff = maxRelDiff(out[tg.outputs.loss]!.data as Float32Array, want[tg.outputs.loss]!.data as Float32Array);
      let worst = 0;
      for (const g of tg.outputs.grads.values()) worst = Math.max(worst, maxRelDiff(out[g]!.data as Float32Array, want[g]!.data as Float32Array));
      t.diagnostic(`training graph (fused forward: ${fused}): loss relative Δ ${lossDiff.toExponential(2)}, worst gradient relative Δ ${worst.toExponential(2)}; on CPU: ${[...cpuOps].map(([op, n]) => `${op}×${n}`).join(' ') || 'nothing'}`);
      assert.ok(lossDiff <= 1e-5, `loss relative difference ${lossDiff}`);
      assert.ok(worst <= 1e-4, `worst gradient relative difference ${worst}`);
      assert.deepEqual([...cpuOps.keys()].filter((op) => !SHAPE_OPS.has(op)), [], 'compute ops placed on the CPU');
    }
  } finally {
    await ck.close();
  }
});

test('forward graph with logits, nll and calibration statistics: no compute op falls back to the CPU', async (t) => {
  const fx = await writeFixtureCheckpoint(join(root, 'placement'), FAMILIES.nemotron_h);
  const runner = await ForwardRunner.create(fx.dir, { device: 'cpu', threads: 1 });
  await runner.release();
  // Build through the runner's own path: a whole-model session with nll and the in-graph statistics.
  const { buildForwardGraph, listTapStats } = await import('../../src/core/model/forward-graph');
  const { checkpointWeights } = await import('../../src/core/model/forward-weights');
  const ck = await openCheckpoint(fx.dir);
  try {
    const locations = new Map(ck.weightFiles.map((f) => [f.path, f.path.slice(fx.dir.length + 1)]));
    const g = buildForwardGraph(ck.spec, checkpointWeights(ck.tensors, { locations }), { nll: true, stats: listTapStats(ck.spec).map((s) => s.name) });
    const x = ids(ck.spec.vocabSize, 7);
    const { cpuOps } = await profiled(g, { input_ids: new ort.Tensor('int64', x, [B, T]), labels: new ort.Tensor('int64', ids(ck.spec.vocabSize, 8), [B, T]) }, join(root, 'fwd'), fx.dir);
    t.diagnostic(`forward (nll + statistics) on CPU: ${[...cpuOps].map(([op, n]) => `${op}×${n}`).join(' ') || 'nothing'}`);
    assert.deepEqual([...cpuOps.keys()].filter((op) => !SHAPE_OPS.has(op)), [], 'compute ops placed on the CPU');
  } finally {
    await ck.close();
  }
});

test("GroupQueryAttention: ORT's WebGPU kernel as is (recorded) vs the rewritten form (must match the CPU kernel)", async (t) => {
  const Hq = 4;
  const Hkv = 2;
  const d = 16;
  const g = new GraphBuilder('gqa');
  const q = g.input('q', 'float32', ['b', 't', Hq * d]);
  const k = g.input('k', 'float32', ['b', 't', Hkv * d]);
  const v = g.input('v', 'float32', ['b', 't', Hkv * d]);
  const seqlens = g.input('seqlens_k', 'int32', ['b']);
  const total = g.input('total', 'int32', []);
  g.output(g.groupQueryAttention(q, k, v, seqlens, total, { numHeads: Hq, kvNumHeads: Hkv, scale: 1 / Math.sqrt(d), name: 'out' }));
  const graph = g.build();
  const rng = new Rng(4);
  const mk = (w: number) => new ort.Tensor('float32', Float32Array.from({ length: B * T * w }, () => rng.normal()), [B, T, w]);
  const feeds = { q: mk(Hq * d), k: mk(Hkv * d), v: mk(Hkv * d), seqlens_k: new ort.Tensor('int32', new Int32Array(B).fill(T - 1), [B]), total: new ort.Tensor('int32', Int32Array.from([T]), []) };
  const run = async (model: Graph | Uint8Array, device: 'cpu' | 'webgpu') => {
    const { session } = await createSession(model, { device, threads: 1 });
    try {
      return (await session.run(feeds))['out']!.data as Float32Array;
    } finally {
      await session.release();
    }
  };
  const want = await run(graph, 'cpu');
  const raw = maxAbsDiff(want, await run(serializeModel(graph), 'webgpu')); // bytes: no rewrite
  const fixed = maxAbsDiff(want, await run(graph, 'webgpu'));
  t.diagnostic(`T = ${T}: ORT's WebGPU GroupQueryAttention max |Δ| ${raw.toExponential(2)}; rewritten ${fixed.toExponential(2)}`);
  assert.ok(fixed <= 1e-5, `rewritten attention differs by ${fixed}`);
});

test('webgpu-f16: float16 products run within tolerance, or fail naming shader-f16 (SwiftShader has no shader-f16)', async (t) => {
  const fx = await writeFixtureCheckpoint(join(root, 'f16'), FAMILIES.nemotron_h);
  const x = ids(fx.spec.vocabSize, 9);
  const cpu = await ForwardRunner.create(fx.dir, { device: 'cpu', threads: 1 });
  const want = (await cpu.run(x, B, T)).logits;
  await cpu.release();
  let runner: ForwardRunner;
  try {
    runner = await ForwardRunner.create(fx.dir, { device: 'webgpu-f16' });
  } catch (e) {
    assert.match((e as Error).message, /--device webgpu-f16: the WebGPU adapter \(.+\) cannot run float16 shaders \(the shader-f16 feature\); use --device webgpu/);
    t.diagnostic(`f16 refused as expected: ${(e as Error).message.slice(0, 160)}…`);
    return;
  }
  try {
    const got = (await runner.run(x, B, T)).logits;
    const d = maxRelDiff(got, want);
    t.diagnostic(`webgpu-f16 logits vs CPU f32: max |Δ| / max |logit| = ${d.toExponential(2)}`);
    assert.ok(d < 1e-2, `f16 relative difference ${d}`);
  } finally {
    await runner.release();
  }
});
