import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSpec } from '../../src/core/arch/index';
import { HybridCompressError } from '../../src/core/errors';
import { referenceForward } from '../../src/core/model/reference';
import { fixtureConfig, writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { Rng } from '../../src/core/util/random';
import { makeModel, matmulT, maxAbs, maxAbsDiff, randomIds, rmsNormRows, roleName } from './helpers';

// A small nemotron_h with every runnable layer kind, 2 B/C groups of 2 heads, attention head_dim ≠ D/Hq.
const HYBRID = { pattern: 'M-*M-', hiddenSize: 16, vocabSize: 40, mambaHeads: 4, mambaHeadDim: 4, stateSize: 3, nGroups: 2, convKernel: 3, intermediateSize: 24, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 6, seed: 5 };

function row(logits: Float64Array, T: number, V: number, b: number, t: number): Float64Array {
  return logits.slice((b * T + t) * V, (b * T + t + 1) * V);
}

test('causality: logits at position t do not depend on tokens after t (all layer kinds)', () => {
  const { spec, weights } = makeModel(HYBRID);
  const rng = new Rng(1);
  const T = 7;
  const V = spec.vocabSize;
  const a = randomIds(rng, 1, T, V)[0]!;
  const k = 3;
  const b = a.slice(0, k + 1).concat(randomIds(rng, 1, T - k - 1, V)[0]!.map((x, i) => (x === a[k + 1 + i] ? (x + 1) % V : x)));
  const la = referenceForward(spec, weights, [a]).logits;
  const lb = referenceForward(spec, weights, [b]).logits;
  for (let t = 0; t <= k; t++) assert.deepEqual(row(la, T, V, 0, t), row(lb, T, V, 0, t), `position ${t}`);
  for (let t = k + 1; t < T; t++) assert.ok(maxAbsDiff(row(la, T, V, 0, t), row(lb, T, V, 0, t)) > 1e-6, `position ${t} should change`);
});

test('a model whose mixers all output zero gives logits = lm_head(norm_f(embed))', () => {
  const { spec, weights } = makeModel(HYBRID);
  for (const l of spec.layers) {
    const role = l.kind === 'M' ? 'out_proj' : l.kind === '*' ? 'o_proj' : 'down_proj';
    weights.get(roleName(l, role))!.fill(0);
  }
  const ids = [[3, 7, 7, 1, 39]];
  const T = ids[0]!.length;
  const D = spec.hiddenSize;
  const V = spec.vocabSize;
  const E = weights.get(spec.embedding.name)!;
  const h = new Float64Array(T * D);
  ids[0]!.forEach((id, t) => h.set(E.subarray(id * D, (id + 1) * D), t * D));
  const expected = matmulT(rmsNormRows(h, T, D, weights.get(spec.normF.name)!, spec.normEps), T, D, weights.get(spec.lmHead!.name)!, V);
  const got = referenceForward(spec, weights, ids).logits;
  assert.ok(maxAbsDiff(got, expected) < 1e-12);
});

test('GQA with Hkv < Hq equals plain MHA whose K/V rows repeat each KV head for its query heads', () => {
  const gqa = makeModel({ ...HYBRID, pattern: '*-*', kvHeads: 2 });
  const mha = makeModel({ ...HYBRID, pattern: '*-*', kvHeads: 4 });
  const d = 6;
  for (const [i, l] of gqa.spec.layers.entries()) {
    const ml = mha.spec.layers[i]!;
    for (const t of l.tensors) {
      if (t.role === 'k_proj' || t.role === 'v_proj') {
        const src = gqa.weights.get(t.name)!;
        const dst = new Float64Array(4 * d * 16);
        for (let q = 0; q < 4; q++) dst.set(src.subarray(Math.floor(q / 2) * d * 16, (Math.floor(q / 2) + 1) * d * 16), q * d * 16);
        mha.weights.set(roleName(ml, t.role), dst);
      } else mha.weights.set(t.name, gqa.weights.get(t.name)!);
    }
  }
  for (const n of [gqa.spec.embedding.name, gqa.spec.normF.name, gqa.spec.lmHead!.name]) mha.weights.set(n, gqa.weights.get(n)!);
  const ids = randomIds(new Rng(2), 2, 6, gqa.spec.vocabSize);
  const a = referenceForward(gqa.spec, gqa.weights, ids).logits;
  const b = referenceForward(mha.spec, mha.weights, ids).logits;
  assert.ok(maxAbsDiff(a, b) < 1e-12);
  // And sharing a KV head matters: the GQA model differs from MHA with the untouched K/V weights.
  const plain = makeModel({ ...HYBRID, pattern: '*-*', kvHeads: 4 });
  assert.ok(maxAbsDiff(a, referenceForward(plain.spec, plain.weights, ids).logits) > 1e-6);
});

test('attention: first token reads only its own value; constant keys average the values over the causal prefix', () => {
  const { spec, weights } = makeModel({ ...HYBRID, pattern: '*' });
  const layer = spec.layers[0]!;
  weights.get(roleName(layer, 'k_proj'))!.fill(0); // all scores equal → uniform weights over j ≤ i
  const ids = [[5, 9, 2, 30]];
  const T = 4;
  const D = 16;
  const r = referenceForward(spec, weights, ids, { taps: true });
  const u = r.taps.get('layers.0.norm')!;
  const v = matmulT(u, T, D, weights.get(roleName(layer, 'v_proj'))!, 2 * 6);
  const ctx = r.taps.get('layers.0.attention.o_proj_input')!;
  for (let i = 0; i < T; i++) {
    for (let h = 0; h < 4; h++) {
      const kv = Math.floor(h / 2);
      for (let c = 0; c < 6; c++) {
        let mean = 0;
        for (let j = 0; j <= i; j++) mean += v[j * 12 + kv * 6 + c]! / (i + 1);
        assert.ok(Math.abs(ctx[i * 24 + h * 6 + c]! - mean) < 1e-12, `i ${i} head ${h} c ${c}`);
      }
    }
  }
});

test('taps: shapes, chaining, and each one reproduces its layer from the weights', () => {
  const { spec, weights } = makeModel(HYBRID);
  const ids = randomIds(new Rng(3), 2, 5, spec.vocabSize);
  const bt = 2 * 5;
  const D = spec.hiddenSize;
  const I = spec.mamba!.innerSize;
  const F = spec.mlp!.intermediateSize;
  const A = spec.attention!.numHeads * spec.attention!.headDim;
  const { logits, taps } = referenceForward(spec, weights, ids, { taps: true });
  const get = (n: string) => {
    const t = taps.get(n);
    assert.ok(t, `tap ${n}`);
    return t;
  };
  const E = weights.get(spec.embedding.name)!;
  const emb = new Float64Array(bt * D);
  ids.flat().forEach((id, i) => emb.set(E.subarray(id * D, (id + 1) * D), i * D));
  assert.deepEqual(get('layers.0.input'), emb);
  for (const l of spec.layers) {
    const n = l.index;
    const input = get(`layers.${n}.input`);
    const norm = get(`layers.${n}.norm`);
    const output = get(`layers.${n}.output`);
    assert.equal(input.length, bt * D);
    if (n + 1 < spec.numLayers) assert.deepEqual(get(`layers.${n + 1}.input`), output);
    assert.ok(maxAbsDiff(norm, rmsNormRows(input, bt, D, weights.get(roleName(l, 'norm'))!, spec.normEps)) < 1e-12);
    const delta = output.map((v, i) => v - input[i]!);
    if (l.kind === 'M') {
      const x = get(`layers.${n}.mamba.x`);
      const opi = get(`layers.${n}.mamba.out_proj_input`);
      assert.equal(x.length, bt * I);
      const inProj = weights.get(roleName(l, 'in_proj'))!;
      assert.ok(maxAbsDiff(x, matmulT(norm, bt, D, inProj.subarray(I * D, 2 * I * D), I)) < 1e-12, 'x = rows [I, 2I) of in_proj');
      assert.ok(maxAbsDiff(delta, matmulT(opi, bt, I, weights.get(roleName(l, 'out_proj'))!, D)) < 1e-12);
    } else if (l.kind === '*') {
      const o = get(`layers.${n}.attention.o_proj_input`);
      assert.equal(o.length, bt * A);
      assert.ok(maxAbsDiff(delta, matmulT(o, bt, A, weights.get(roleName(l, 'o_proj'))!, D)) < 1e-12);
    } else {
      const act = get(`layers.${n}.mlp.down_proj_input`);
      const up = matmulT(norm, bt, D, weights.get(roleName(l, 'up_proj'))!, F);
      assert.ok(maxAbsDiff(get(`layers.${n}.mlp.up_proj_output`), up) < 1e-12, 'up_proj_output = X·W₁ᵀ, before relu²');
      assert.ok(maxAbsDiff(act, up.map((u) => Math.max(u, 0) ** 2)) < 1e-12);
      assert.ok(maxAbsDiff(delta, matmulT(act, bt, F, weights.get(roleName(l, 'down_proj'))!, D)) < 1e-12);
    }
  }
  const nf = get('norm_f');
  assert.ok(maxAbsDiff(nf, rmsNormRows(get(`layers.${spec.numLayers - 1}.output`), bt, D, weights.get(spec.normF.name)!, spec.normEps)) < 1e-12);
  assert.ok(maxAbsDiff(logits, matmulT(nf, bt, D, weights.get(spec.lmHead!.name)!, spec.vocabSize)) < 1e-12);
  // Per layer input/norm/output; Mamba x and out_proj input; MLP up_proj output and down_proj input; attention o_proj input; norm_f.
  assert.equal(taps.size, spec.numLayers * 3 + 2 * 2 + 2 * 2 + 1 + 1);
  assert.equal(referenceForward(spec, weights, ids).taps.size, 0);
});

test('batch rows are independent: a batch of two equals the two rows run alone', () => {
  const { spec, weights } = makeModel(HYBRID);
  const ids = randomIds(new Rng(4), 2, 6, spec.vocabSize);
  const both = referenceForward(spec, weights, ids).logits;
  const first = referenceForward(spec, weights, [ids[0]!]).logits;
  const second = referenceForward(spec, weights, [ids[1]!]).logits;
  assert.deepEqual(both.subarray(0, first.length), first);
  assert.deepEqual(both.subarray(first.length), second);
});

test('mamba2 family: tied head (embedding as lm_head), ungrouped gated norm, finite logits', () => {
  const { spec, weights } = makeModel({ family: 'mamba2', numLayers: 2, hiddenSize: 16, vocabSize: 30, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 4, seed: 9 });
  assert.equal(spec.tiedEmbeddings, true);
  assert.equal(spec.mamba!.normGroups, 1);
  const ids = [[1, 2, 3, 4, 5, 6]];
  const { logits, taps } = referenceForward(spec, weights, ids, { taps: true });
  assert.ok(logits.every(Number.isFinite));
  assert.ok(maxAbsDiff(logits, matmulT(taps.get('norm_f')!, 6, 16, weights.get(spec.embedding.name)!, 30)) < 1e-12);
  // Grouping the gated norm (nemotron_h semantics) would change the result.
  const grouped = { ...spec, mamba: { ...spec.mamba!, normGroups: 2 } };
  assert.ok(maxAbsDiff(logits, referenceForward(grouped, weights, ids).logits) > 1e-6);
});

test('dt clamp mode: transformers5 differs from config only where softplus(dt) < time_step_min', () => {
  const { spec, weights } = makeModel({ ...HYBRID, pattern: 'M-' });
  const ids = [[4, 8, 15, 16, 23, 39]];
  const dtBias = weights.get(roleName(spec.layers[0]!, 'dt_bias'))!;
  // Fixture dt lies in [1e-3, 1e-1] already; push it further above the bound: both modes agree.
  for (let h = 0; h < dtBias.length; h++) dtBias[h] = 1;
  const same = referenceForward(spec, weights, ids).logits;
  assert.deepEqual(referenceForward(spec, weights, ids, { dtClampMode: 'transformers5' }).logits, same);
  dtBias[1] = -12; // softplus ≈ 6e-6 < 1e-3
  const cfg = referenceForward(spec, weights, ids).logits;
  const t5 = referenceForward(spec, weights, ids, { dtClampMode: 'transformers5' }).logits;
  assert.ok(maxAbsDiff(cfg, t5) > 1e-9);
  // transformers5 mode equals config mode with time_step_limit = (time_step_min, inf).
  const lifted = { ...spec, mamba: { ...spec.mamba!, timeStepLimit: [spec.mamba!.timeStepMin, Infinity] as [number, number] } };
  assert.deepEqual(referenceForward(lifted, weights, ids).logits, t5);
});

test('skipLayers drops a layer exactly like a zero mixer output', () => {
  const { spec, weights } = makeModel(HYBRID);
  const ids = [[2, 4, 6, 8]];
  const skipped = referenceForward(spec, weights, ids, { skipLayers: [2], taps: true });
  assert.ok(!skipped.taps.has('layers.2.input'));
  const zeroed = new Map(weights);
  zeroed.set(roleName(spec.layers[2]!, 'o_proj'), new Float64Array(weights.get(roleName(spec.layers[2]!, 'o_proj'))!.length));
  assert.ok(maxAbsDiff(skipped.logits, referenceForward(spec, zeroed, ids).logits) < 1e-12);
  assert.ok(maxAbsDiff(skipped.logits, referenceForward(spec, weights, ids).logits) > 1e-6);
});

test('bad input gives typed errors naming what is wrong', () => {
  const { spec, weights } = makeModel(HYBRID);
  const code = (f: () => unknown, c: string, re: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof HybridCompressError && e.code === c && re.test(e.message));
  code(() => referenceForward(spec, weights, [[1, 2], [3]]), 'OPTION_INVALID', /same non-zero length/);
  code(() => referenceForward(spec, weights, [[1, 40]]), 'OPTION_INVALID', /outside the vocabulary \[0, 40\)/);
  code(() => referenceForward(spec, weights, []), 'OPTION_INVALID', /empty batch/);
  const missing = new Map(weights);
  const name = roleName(spec.layers[0]!, 'A_log');
  missing.delete(name);
  code(() => referenceForward(spec, missing, [[1]]), 'CHECKPOINT_INVALID', new RegExp(name.replace(/\./g, '\\.')));
  const short = new Map(weights);
  short.set(name, new Float64Array(1));
  code(() => referenceForward(spec, short, [[1]]), 'SHAPE_MISMATCH', /needs 4/);
  const moe = buildSpec(fixtureConfig({ pattern: 'ME' }));
  code(() => referenceForward(moe, new Map(), [[1]]), 'UNSUPPORTED_ARCHITECTURE', /layer 1 is an MoE/);
});

test('runs on a written fixture checkpoint (model. prefix, embedding naming, BF16) read back from disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-ref-'));
  try {
    const opts = { ...HYBRID, prefix: 'model.' as const, embeddingName: 'embedding' as const };
    const written = await writeFixtureCheckpoint(dir, opts);
    const ck = await openCheckpoint(dir);
    try {
      const fromDisk = new Map<string, Float32Array>();
      for (const name of ck.tensors.keys()) fromDisk.set(name, await ck.readFloat32(name));
      const ids = [[1, 5, 9, 13]];
      const disk = referenceForward(ck.spec, fromDisk, ids).logits;
      // Same seed and draw order in memory under the default names: identical values, identical logits.
      const mem = makeModel(HYBRID);
      assert.ok(maxAbsDiff(disk, referenceForward(mem.spec, mem.weights, ids).logits) < 1e-12);
      assert.ok(maxAbsDiff(disk, referenceForward(written.spec, written.weights, ids).logits) < 1e-12);
      assert.ok(maxAbs(disk) > 0);
    } finally {
      await ck.close();
    }
    const bf = join(dir, 'bf16');
    await writeFixtureCheckpoint(bf, { ...HYBRID, dtype: 'BF16' });
    const ckb = await openCheckpoint(bf);
    try {
      const w = new Map<string, Float32Array>();
      for (const name of ckb.tensors.keys()) w.set(name, await ckb.readFloat32(name));
      const mem = makeModel(HYBRID);
      const ids = [[1, 5, 9, 13]];
      const d = maxAbsDiff(referenceForward(ckb.spec, w, ids).logits, referenceForward(mem.spec, mem.weights, ids).logits);
      assert.ok(d > 0 && d < 0.5, `bf16 rounding moves logits a little: ${d}`);
    } finally {
      await ckb.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
