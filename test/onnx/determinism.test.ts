// Serialisation is deterministic (same model → same bytes), external initializers point at exactly the
// tensor bytes in the .safetensors, and graph structure rules hold (topological order, no unknown ops,
// no Einsum/Where/Expand in the hot path).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { buildForwardGraph, buildLayerGraph, listTaps } from '../../src/core/model/forward-graph';
import { checkpointWeights } from '../../src/core/model/forward-weights';
import { GraphBuilder, OPS, checkGraph, decodeModel, opHistogram, pruneUnused, serializeModel, consumers, producers } from '../../src/core/onnx/index';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'hc-det-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('the same checkpoint serialises to identical bytes every time', async () => {
  const fx = await writeFixtureCheckpoint(join(root, 'a'), { pattern: 'M-M*', dtype: 'BF16', seed: 3 });
  const ckpt = await openCheckpoint(fx.dir);
  try {
    const locations = new Map([[join(fx.dir, 'model.safetensors'), 'model.safetensors']]);
    const build = () => serializeModel(buildForwardGraph(ckpt.spec, checkpointWeights(ckpt.tensors, { locations }), { taps: listTaps(ckpt.spec).map((t) => t.name) }));
    const a = build();
    const b = build();
    assert.ok(a.length > 1000);
    assert.deepEqual(a, b);
    // Different options → different bytes (the check above is not vacuous).
    assert.notDeepEqual(serializeModel(buildForwardGraph(ckpt.spec, checkpointWeights(ckpt.tensors, { locations }), { chunkSize: 32 })), a);

    // Every weight is external data at the tensor's exact byte range; BF16 stays BF16 on disk.
    const model = decodeModel(a);
    const file = readFileSync(join(fx.dir, 'model.safetensors'));
    const external = model.graph!.initializer!.filter((i) => i.dataLocation === 1);
    assert.equal(external.length, ckpt.tensors.size);
    for (const init of external) {
      const kv = Object.fromEntries(init.externalData!.map((e) => [e.key, e.value]));
      const t = ckpt.tensors.get(init.name!)!;
      assert.equal(kv['location'], 'model.safetensors');
      assert.equal(Number(kv['offset']), t.fileOffset);
      assert.equal(Number(kv['length']), t.byteLength);
      assert.equal(init.dataType, t.dtype === 'BF16' ? 16 : 1);
      const bytes = await ckpt.readBytes(t.name);
      assert.deepEqual(new Uint8Array(file.subarray(t.fileOffset, t.fileOffset + t.byteLength)), bytes);
    }
    assert.equal(Number(model.irVersion), 10);
    assert.deepEqual(model.opsetImport!.map((o) => [o.domain, Number(o.version)]), [['', 21], ['com.microsoft', 1]]);
  } finally {
    await ckpt.close();
  }
});

test('graphs are topologically ordered, use only listed ops, and avoid Einsum/Where/Expand on activations', async () => {
  const fx = await writeFixtureCheckpoint(join(root, 'b'), { pattern: 'M-M*', seed: 4 });
  const ckpt = await openCheckpoint(fx.dir);
  try {
    const w = checkpointWeights(ckpt.tensors, { locations: new Map([[join(fx.dir, 'model.safetensors'), 'model.safetensors']]) });
    for (const fused of [true, false]) {
      const g = buildForwardGraph(ckpt.spec, w, { fused });
      checkGraph(g);
      const known = new Set(OPS.map((o) => (o.domain ? `${o.domain}:${o.op}` : o.op)));
      const hist = opHistogram(g);
      assert.deepEqual(Object.keys(hist).filter((k) => !known.has(k)), []);
      assert.equal(hist['Einsum'] ?? 0, 0);
      assert.equal(hist['Expand'] ?? 0, 0);
      // Where only builds the small masks ([nC, nC], and [T, T] for MatMul attention), once per graph.
      assert.equal(hist['Where'] ?? 0, fused ? 1 : 2);
      // Every value has a shape of the right rank for walkers (autodiff needs them).
      const prod = producers(g);
      for (const n of g.nodes) for (const o of n.outputs) assert.ok(g.values.get(o)?.shape, `${o} has a shape`);
      assert.equal(prod.get('logits')?.op, fused ? 'FusedMatMul' : 'MatMul', 'the lm_head GEMM writes the logits output directly (no copy)');
    }
    const layer = buildLayerGraph(ckpt.spec, w, 0, { taps: ['layers.0.mamba.x'] });
    assert.deepEqual(layer.outputs.map((o) => o.name), ['layers.0.mamba.x', 'hidden_out']);
    assert.deepEqual(layer.outputs[1]!.shape, ['batch', 'seq', ckpt.spec.hiddenSize]);
  } finally {
    await ckpt.close();
  }
});

test('builder: symbolic shape inference, names, pruning and walking', () => {
  const g = new GraphBuilder('t');
  const x = g.input('x', 'float32', ['batch', 'seq', 8]);
  const flat = g.reshape(x, [-1, 8]);
  assert.deepEqual(flat.shape, ['batch*seq', 8]);
  const back = g.reshape(flat, [0, 4, 2]);
  assert.deepEqual(back.shape, ['batch*seq', 4, 2]);
  const grouped = g.reshape(g.input('y', 'float32', ['batch', 4, '64*nchunks']), [0, 2, 2, -1, 64]);
  assert.deepEqual(grouped.shape, ['batch', 2, 2, 'nchunks', 64]);
  assert.deepEqual(g.matmul(g.input('a', 'float32', ['b', 1, 3, 4]), g.input('c', 'float32', [5, 4, 6])).shape, ['b', 5, 3, 6]);
  assert.deepEqual(g.fusedMatMul(g.input('p', 'float32', [2, 4, 3]), g.input('q', 'float32', [2, 5, 4]), { transA: true, transB: true }).shape, [2, 3, 5]);
  assert.throws(() => g.matmul(g.input('m1', 'float32', [2, 3]), g.input('m2', 'float32', [4, 5])), /inner dims/);
  assert.throws(() => g.input('x', 'float32', [1]), /already used/);
  assert.equal(g.scalar(2.5), g.scalar(2.5), 'small constants are shared');
  const used = g.exp(flat);
  g.exp(flat); // dead
  g.output(used, 'out');
  const before = g.graph.nodes.length;
  assert.ok(pruneUnused(g.graph) > 0);
  assert.ok(g.graph.nodes.length < before);
  checkGraph(g.graph);
  assert.deepEqual(consumers(g.graph).get(flat.name)?.map((n) => n.op), ['Exp']);
  // Continuing an existing graph keeps names unique.
  const g2 = new GraphBuilder(g.graph);
  const z = g2.neg(g2.value('out'));
  assert.ok(!['out', flat.name, used.name].includes(z.name));
});
