// ForwardRunner on fixture checkpoints written to disk: external data read in place from the
// .safetensors, whole vs layer-streamed sessions, BF16 weights, weights fed as graph inputs, and typed
// errors for bad input.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint, type FixtureOptions, type WrittenFixture } from '../../src/core/testing/fixtures';
import { referenceForward } from '../../src/core/model/reference';
import { listTaps } from '../../src/core/model/forward-graph';
import { ForwardRunner, runForward } from '../../src/core/runtime/forward-runner';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';
import { maxAbsDiff } from '../reference/helpers';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'hc-runner-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const SMALL: FixtureOptions = { pattern: 'M-*M', hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 4, nGroups: 2, stateSize: 8, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 16, intermediateSize: 40, vocabSize: 64, seed: 17 };

function ids(batch: number, seq: number, V: number, seed = 5): { flat: BigInt64Array; rows: number[][] } {
  const rng = new Rng(seed);
  const rows = Array.from({ length: batch }, () => Array.from({ length: seq }, () => rng.int(V)));
  return { flat: BigInt64Array.from(rows.flat(), (v) => BigInt(v)), rows };
}

async function fixture(name: string, o: FixtureOptions): Promise<WrittenFixture> {
  return writeFixtureCheckpoint(join(root, name), o);
}

test('whole-model run from external data matches the reference; streamed runs give identical logits and taps', async () => {
  const fx = await fixture('small', SMALL);
  const { flat, rows } = ids(2, 21, fx.spec.vocabSize);
  const taps = listTaps(fx.spec).map((t) => t.name);
  const whole = await ForwardRunner.create(fx.dir, { mode: 'whole', taps, threads: 1, chunkSize: 8, device: 'cpu' });
  const resident = await ForwardRunner.create(fx.dir, { mode: 'streamed', taps, threads: 1, chunkSize: 8, device: 'cpu' });
  const bounded = await ForwardRunner.create(fx.dir, { mode: 'streamed', taps, threads: 1, chunkSize: 8, device: 'cpu', resident: false });
  try {
    assert.equal(whole.ep, 'cpu');
    assert.equal(whole.weightsFolder.mode, 'checkpoint');
    const a = await whole.run(flat, 2, 21);
    const progress: number[] = [];
    const b = await resident.run(flat, 2, 21, { onLayer: (done, total) => progress.push(done / total) });
    const c = await bounded.run(flat, 2, 21);
    assert.deepEqual(progress, [0.25, 0.5, 0.75, 1]);
    const ref = referenceForward(fx.spec, fx.weights, rows, { taps: true });
    assert.ok(maxAbsDiff(a.logits, ref.logits) <= 1e-4);
    assert.deepEqual(b.logits, a.logits, 'streamed (resident) logits are bitwise identical to whole-model logits');
    assert.deepEqual(c.logits, a.logits, 'streamed (one session at a time) logits are bitwise identical');
    assert.equal(a.taps.size, taps.length);
    for (const t of taps) {
      assert.deepEqual(b.taps.get(t), a.taps.get(t), `tap ${t} identical`);
      assert.ok(maxAbsDiff(a.taps.get(t)!, ref.taps.get(t)!) <= 1e-4, `tap ${t} vs reference`);
    }
    // Layer-major building blocks compose to the same result.
    let h = await resident.embed(flat, 2, 21);
    for (let n = 0; n < fx.spec.numLayers; n++) h = (await resident.runLayer(n, h)).hidden;
    assert.deepEqual((await resident.head(h)).logits, a.logits);
  } finally {
    await whole.release();
    await resident.release();
    await bounded.release();
  }
});

test('BF16 checkpoint: weights cast to f32 in the graph match the reference on the rounded weights', async () => {
  const fx = await fixture('bf16', { ...SMALL, family: 'nemotron_h', dtype: 'BF16', seed: 4 });
  const rounded = new Map<string, Float32Array>();
  const tensor = (name: string) => [...fx.spec.layers.flatMap((l) => l.tensors), fx.spec.embedding, fx.spec.normF, ...(fx.spec.lmHead ? [fx.spec.lmHead] : [])].find((t) => t.name === name)!;
  for (const [name, v] of fx.weights) {
    const role = tensor(name).role;
    const keep = role === 'A_log' || role === 'D' || role === 'dt_bias'; // the fixture writes these as F32
    rounded.set(name, keep ? v : v.map((x) => {
      const u = new Uint32Array(new Float32Array([x]).buffer)[0]!;
      return new Float32Array(new Uint32Array([(((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0]).buffer)[0]!;
    }));
  }
  const { flat, rows } = ids(1, 12, fx.spec.vocabSize, 9);
  const r = await ForwardRunner.create(fx.dir, { threads: 1, device: 'cpu' });
  try {
    const out = await r.run(flat, 1, 12);
    const d = maxAbsDiff(out.logits, referenceForward(fx.spec, rounded, rows).logits);
    assert.ok(d <= 1e-4, `bf16 logits diff ${d}`);
  } finally {
    await r.release();
  }
});

test('mamba2 checkpoint (tied head) runs whole and streamed identically', async () => {
  const fx = await fixture('mamba2', { family: 'mamba2', numLayers: 3, hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 16, nGroups: 2, stateSize: 8, vocabSize: 40, seed: 2 });
  assert.equal(fx.spec.tiedEmbeddings, true);
  const { flat, rows } = ids(3, 10, fx.spec.vocabSize);
  const whole = await ForwardRunner.create(fx.dir, { threads: 1, device: 'cpu' });
  const streamed = await ForwardRunner.create(fx.dir, { threads: 1, device: 'cpu', mode: 'streamed' });
  try {
    const a = await whole.run(flat, 3, 10);
    assert.ok(maxAbsDiff(a.logits, referenceForward(fx.spec, fx.weights, rows).logits) <= 1e-4);
    assert.deepEqual((await streamed.run(flat, 3, 10)).logits, a.logits);
  } finally {
    await whole.release();
    await streamed.release();
  }
  // Edge lengths with the default chunk (64): a single token, and one full chunk plus one.
  for (const seq of [1, 65]) {
    const x = ids(2, seq, fx.spec.vocabSize, seq);
    const r = await runForward(fx.dir, x.flat, 2, seq, { threads: 1, device: 'cpu' });
    assert.equal(r.ep, 'cpu');
    assert.ok(maxAbsDiff(r.logits, referenceForward(fx.spec, fx.weights, x.rows).logits) <= 1e-4, `seq ${seq}`);
  }
});

test('weights as graph inputs: feeding the same values reproduces the logits; missing feeds are a typed error', async () => {
  const fx = await fixture('inputs', { ...SMALL, seed: 23 });
  const { flat } = ids(1, 9, fx.spec.vocabSize);
  const isInput = (n: string) => n.endsWith('in_proj.weight') || n.endsWith('norm_f.weight');
  const base = await ForwardRunner.create(fx.dir, { threads: 1, device: 'cpu' });
  const fed = await ForwardRunner.create(fx.dir, { threads: 1, device: 'cpu', asInput: isInput });
  const fedStreamed = await ForwardRunner.create(fx.dir, { threads: 1, device: 'cpu', asInput: isInput, mode: 'streamed' });
  try {
    const want = (await base.run(flat, 1, 9)).logits;
    const weights = new Map([...fx.weights].filter(([n]) => isInput(n)));
    assert.equal(weights.size, 3);
    assert.deepEqual((await fed.run(flat, 1, 9, { weights })).logits, want);
    assert.deepEqual((await fedStreamed.run(flat, 1, 9, { weights })).logits, want);
    // Different values → different logits (the inputs are really used).
    const scaled = new Map([...weights].map(([n, v]) => [n, v.map((x) => x * 1.5)]));
    assert.ok(maxAbsDiff((await fed.run(flat, 1, 9, { weights: scaled })).logits, want) > 1e-3);
    await assert.rejects(fed.run(flat, 1, 9), (e: unknown) => e instanceof HybridCompressError && /got no value/.test(e.message));
  } finally {
    await base.release();
    await fed.release();
    await fedStreamed.release();
  }
});

test('taps-only graphs (logits: false) skip the lm_head in both modes', async () => {
  const fx = await fixture('tapsonly', { ...SMALL, seed: 29 });
  const { flat, rows } = ids(1, 7, fx.spec.vocabSize);
  const ref = referenceForward(fx.spec, fx.weights, rows, { taps: true });
  for (const mode of ['whole', 'streamed'] as const) {
    const r = await ForwardRunner.create(fx.dir, { mode, logits: false, taps: ['layers.2.attention.o_proj_input', 'norm_f'], threads: 1, device: 'cpu' });
    try {
      const out = await r.run(flat, 1, 7);
      assert.equal(out.logits.length, 0);
      assert.deepEqual([...out.taps.keys()].sort(), ['layers.2.attention.o_proj_input', 'norm_f']);
      assert.ok(maxAbsDiff(out.taps.get('norm_f')!, ref.taps.get('norm_f')!) <= 1e-4);
    } finally {
      await r.release();
    }
  }
  await assert.rejects(ForwardRunner.create(fx.dir, { logits: false, device: 'cpu' }), /no outputs/);
  // Streamed, taps of early layers only: no head stage is built at all.
  const r = await ForwardRunner.create(fx.dir, { mode: 'streamed', logits: false, taps: ['layers.0.mamba.x'], threads: 1, device: 'cpu' });
  try {
    assert.equal(r.numStages, 1 + fx.spec.numLayers);
    const out = await r.run(flat, 1, 7);
    assert.ok(maxAbsDiff(out.taps.get('layers.0.mamba.x')!, ref.taps.get('layers.0.mamba.x')!) <= 1e-4);
  } finally {
    await r.release();
  }
});

test('nll: in-graph next-token loss matches −log softmax of the reference logits, whole and streamed', async () => {
  const fx = await fixture('nll', { ...SMALL, seed: 37 });
  const V = fx.spec.vocabSize;
  const { flat, rows } = ids(2, 9, V);
  const labels = BigInt64Array.from(flat, (_, i) => BigInt((i * 7 + 3) % V));
  const ref = referenceForward(fx.spec, fx.weights, rows).logits;
  const want = Array.from({ length: 18 }, (_, p) => {
    const row = ref.subarray(p * V, (p + 1) * V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
    return lse - row[Number(labels[p])]!;
  });
  for (const mode of ['whole', 'streamed'] as const) {
    const r = await ForwardRunner.create(fx.dir, { mode, nll: true, logits: false, threads: 1, device: 'cpu' });
    try {
      const out = await r.run(flat, 2, 9, { labels });
      assert.equal(out.logits.length, 0, 'logits stay inside the session');
      assert.ok(maxAbsDiff(out.nll!, want) <= 1e-4, `${mode} nll`);
      await assert.rejects(r.run(flat, 2, 9), (e: unknown) => e instanceof HybridCompressError && e.context.option === 'labels');
      await assert.rejects(r.run(flat, 2, 9, { labels: labels.map(() => BigInt(V)) }), /outside the vocabulary/);
    } finally {
      await r.release();
    }
  }
});

test('lastLogits: [batch, 1, vocab] equal to the last position of the full logits, whole and streamed; refused with nll', async () => {
  const fx = await fixture('last', SMALL);
  const B = 2;
  const T = 13;
  const V = fx.spec.vocabSize;
  const { flat } = ids(B, T, V, 9);
  const full = await ForwardRunner.create(fx.dir, { mode: 'whole', threads: 1, chunkSize: 8, device: 'cpu' });
  try {
    const all = (await full.run(flat, B, T)).logits;
    for (const mode of ['whole', 'streamed'] as const) {
      const last = await ForwardRunner.create(fx.dir, { mode, threads: 1, chunkSize: 8, device: 'cpu', lastLogits: true });
      try {
        const got = (await last.run(flat, B, T)).logits;
        assert.equal(got.length, B * V, mode);
        for (let b = 0; b < B; b++) {
          const want = all.subarray((b * T + T - 1) * V, (b * T + T) * V);
          assert.ok(maxAbsDiff(got.subarray(b * V, (b + 1) * V), want) <= 1e-5, `${mode} row ${b}`);
        }
      } finally {
        await last.release();
      }
    }
  } finally {
    await full.release();
  }
  await assert.rejects(ForwardRunner.create(fx.dir, { mode: 'whole', device: 'cpu', lastLogits: true, nll: true }), (e: unknown) => e instanceof HybridCompressError && /nll/.test(e.message));
});

test('bad input gives typed errors naming what is valid', async () => {
  const fx = await fixture('errors', { ...SMALL, seed: 1 });
  await assert.rejects(ForwardRunner.create(fx.dir, { taps: ['layers.99.input'], device: 'cpu' }), (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && /valid taps/.test(e.message));
  await assert.rejects(ForwardRunner.create(fx.dir, { taps: ['layers.1.mamba.x'], device: 'cpu' }), /does not exist/); // layer 1 is an MLP
  await assert.rejects(ForwardRunner.create(fx.dir, { mode: 'streamed', taps: ['bogus'], device: 'cpu' }), /valid taps/);
  await assert.rejects(ForwardRunner.create(fx.dir, { device: 'tpu' as never }), (e: unknown) => e instanceof HybridCompressError && /auto, cpu, webgpu, webgpu-f16, cuda/.test(e.message));
  await assert.rejects(ForwardRunner.create(fx.dir, { chunkSize: 0, device: 'cpu' }), (e: unknown) => e instanceof HybridCompressError && e.context.option === 'chunkSize');
  const r = await ForwardRunner.create(fx.dir, { threads: 1, device: 'cpu' });
  try {
    await assert.rejects(r.run(BigInt64Array.from([1n, 2n, 3n]), 2, 2), (e: unknown) => e instanceof HybridCompressError && /batch 2 × seq 2/.test(e.message));
    await assert.rejects(r.run(BigInt64Array.from([1n, 64n]), 1, 2), (e: unknown) => e instanceof HybridCompressError && /outside the vocabulary \[0, 64\)/.test(e.message));
    await assert.rejects(r.embed(BigInt64Array.from([1n]), 1, 1), /mode: 'streamed'/);
  } finally {
    await r.release();
  }
  await r.release(); // idempotent
  await assert.rejects(r.run(BigInt64Array.from([1n]), 1, 1), /was released/);
});
