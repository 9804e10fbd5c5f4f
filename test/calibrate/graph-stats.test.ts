// Per-row tap statistics reduced inside the ONNX graph (model/forward-graph-stats.ts) against the same
// reductions written out in float64 over the engine's full taps; whole vs streamed; Block Importance
// without cancellation when cos ≈ 1 and with torch's norm clamp; typed errors for unknown statistics.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { listTaps, listTapStats, tapStatName, blockImportanceStatName } from '../../src/core/model/forward-graph';
import { ForwardContext } from '../../src/core/model/forward-graph-context';
import { emitBlockImportance } from '../../src/core/model/forward-graph-stats';
import type { WeightSource } from '../../src/core/model/forward-weights';
import { serializeModel } from '../../src/core/onnx/index';
import { ForwardRunner } from '../../src/core/runtime/forward-runner';
import { cosineDistances } from '../../src/core/calibrate/depth';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'hc-gstats-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const FX: FixtureOptions = { pattern: 'M-*M-', hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 4, nGroups: 2, stateSize: 8, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 16, intermediateSize: 40, vocabSize: 64, seed: 23, chunkSize: 8 };

function randomIds(batch: number, seq: number, V: number, seed: number): BigInt64Array {
  const rng = new Rng(seed);
  return BigInt64Array.from({ length: batch * seq }, () => BigInt(rng.int(V)));
}

/** |got − want| / max(|want|, floor·max|want|) ≤ rel, elementwise. */
function assertClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, rel: number, floor = 1e-3): void {
  assert.equal(got.length, want.length, `${name}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), floor * scale, 1e-30);
    assert.ok(err <= rel, `${name}[${i}]: graph ${got[i]} vs float64 ${want[i]} (relative error ${err.toExponential(2)})`);
  }
}

/** Per-row mean |a|, mean and Σ(a − mean)² of a [B, T, C] tap, in float64. */
function rowStats(a: Float32Array, B: number, T: number, C: number): { absmean: Float64Array; mean: Float64Array; m2: Float64Array } {
  const absmean = new Float64Array(B * C);
  const mean = new Float64Array(B * C);
  const m2 = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      let sa = 0;
      for (let t = 0; t < T; t++) {
        const v = a[(b * T + t) * C + c]!;
        s += v;
        sa += Math.abs(v);
      }
      const mu = s / T;
      let q = 0;
      for (let t = 0; t < T; t++) q += (a[(b * T + t) * C + c]! - mu) ** 2;
      absmean[b * C + c] = sa / T;
      mean[b * C + c] = mu;
      m2[b * C + c] = q;
    }
  }
  return { absmean, mean, m2 };
}

test('graph statistics of every layer tap match float64 reductions of the full taps; whole and streamed agree bitwise', async () => {
  const fx = await writeFixtureCheckpoint(join(root, 'm'), FX);
  const B = 3;
  const T = 19; // not a multiple of the SSD chunk: the Mamba x statistics must ignore the padding
  const ids = randomIds(B, T, fx.spec.vocabSize, 4);
  const taps = listTaps(fx.spec).filter((t) => t.name.startsWith('layers.'));
  const stats = listTapStats(fx.spec).map((s) => s.name);
  assert.equal(stats.length, taps.length * 3 + fx.spec.numLayers);
  const common = { threads: 1, device: 'cpu' as const, logits: false };
  const full = await ForwardRunner.create(fx.dir, { ...common, mode: 'whole', taps: taps.map((t) => t.name) });
  const whole = await ForwardRunner.create(fx.dir, { ...common, mode: 'whole', stats });
  const streamed = await ForwardRunner.create(fx.dir, { ...common, mode: 'streamed', stats });
  try {
    const f = await full.run(ids, B, T);
    const w = await whole.run(ids, B, T);
    const s = await streamed.run(ids, B, T);
    assert.equal(w.taps.size, stats.length, 'only the statistics come back');
    for (const t of taps) {
      const want = rowStats(f.taps.get(t.name)!, B, T, t.width);
      for (const kind of ['absmean', 'mean', 'm2'] as const) {
        const name = tapStatName(t.name, kind);
        const got = w.taps.get(name)!;
        assert.equal(got.length, B * t.width, `${name}: [batch, width]`);
        // A mean can be ~0 against its row's spread: scale the floor by the row's mean |a| instead.
        if (kind === 'mean') {
          const absmean = want.absmean;
          for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want.mean[i]!) <= 1e-5 * absmean[i]! + 1e-30, `${name}[${i}]: ${got[i]} vs ${want.mean[i]}`);
        } else assertClose(name, got, want[kind], 1e-5);
        assert.deepEqual(s.taps.get(name), got, `${name}: streamed = whole`);
      }
    }
    for (const l of fx.spec.layers) {
      const name = blockImportanceStatName(l.index);
      const D = fx.spec.hiddenSize;
      const d = cosineDistances(f.taps.get(`layers.${l.index}.input`)!, f.taps.get(`layers.${l.index}.output`)!, B * T, D);
      const want = Array.from({ length: B }, (_, b) => d.slice(b * T, (b + 1) * T).reduce((x, y) => x + y, 0));
      assertClose(name, w.taps.get(name)!, want, 1e-5);
      assert.deepEqual(s.taps.get(name), w.taps.get(name), `${name}: streamed = whole`);
    }
    // Adding statistics leaves a full tap as it was.
    const both = await ForwardRunner.create(fx.dir, { ...common, mode: 'whole', taps: ['layers.0.mamba.x', 'layers.1.norm'], stats: ['layers.0.stats.mamba.x.absmean'] });
    try {
      const r = await both.run(ids, B, T);
      assert.deepEqual(r.taps.get('layers.0.mamba.x'), f.taps.get('layers.0.mamba.x'));
      assert.deepEqual(r.taps.get('layers.1.norm'), f.taps.get('layers.1.norm'));
      assert.deepEqual(r.taps.get('layers.0.stats.mamba.x.absmean'), w.taps.get('layers.0.stats.mamba.x.absmean'));
    } finally {
      await both.release();
    }
  } finally {
    await full.release();
    await whole.release();
    await streamed.release();
  }
});

/** Runs emitBlockImportance alone on given h_in, h_out [B·T, D]. */
async function blockImportanceGraph(spec: import('../../src/core/arch/spec').HybridModelSpec, hIn: Float32Array, hOut: Float32Array, B: number, T: number, D: number): Promise<Float32Array> {
  const noWeights: WeightSource = { get: (n) => assert.fail(`no weight ${n} expected`) };
  const cx = new ForwardContext(spec, noWeights, 'bi', { stats: [blockImportanceStatName(0)] });
  const shapeOnly = cx.g.input('ids', 'int64', ['batch', 'seq']);
  cx.setBatchSeqFrom(shapeOnly);
  const a = cx.g.input('h_in', 'float32', ['bt', D]);
  const b = cx.g.input('h_out', 'float32', ['bt', D]);
  emitBlockImportance(cx, 0, a, b);
  const session = await ort.InferenceSession.create(serializeModel(cx.g.build()), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await session.run({ ids: new ort.Tensor('int64', new BigInt64Array(B * T), [B, T]), h_in: new ort.Tensor('float32', hIn, [B * T, D]), h_out: new ort.Tensor('float32', hOut, [B * T, D]) });
    return out[blockImportanceStatName(0)]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

test('block importance in the graph: accurate when cos ≈ 1, torch norm clamp for zero vectors', async () => {
  const fx = await writeFixtureCheckpoint(join(root, 'bi'), FX);
  const rng = new Rng(8);
  const B = 2;
  const T = 6;
  const D = 64;
  const hIn = Float32Array.from({ length: B * T * D }, () => 3 + rng.normal());
  const hOut = new Float32Array(hIn.length);
  // Row 0: outputs that differ from the inputs by relative perturbations of 1e-3 … 1e-1 (1 − cos from
  // ~1e-7 to ~1e-3, where float32 1 − cos would keep at most a digit); row 1: zero vectors on either side.
  for (let t = 0; t < T; t++) {
    const eps = 10 ** (-3 + (2 * t) / (T - 1));
    for (let i = 0; i < D; i++) hOut[t * D + i] = hIn[t * D + i]! * (1 + eps * rng.normal());
  }
  for (let t = T; t < 2 * T; t++) for (let i = 0; i < D; i++) hOut[t * D + i] = t % 3 === 0 ? 0 : 1 + rng.normal();
  for (let i = 0; i < D; i++) hIn[(T + 1) * D + i] = 0;
  for (let i = 0; i < D; i++) hIn[(T + 3) * D + i] = 0;
  const got = await blockImportanceGraph(fx.spec, hIn, hOut, B, T, D);
  const d = cosineDistances(hIn, hOut, B * T, D);
  const perToken0 = Array.from(d.slice(0, T));
  assert.ok(Math.min(...perToken0) < 1e-6, `the test needs a token with 1 − cos < 1e-6 (got ${Math.min(...perToken0)})`);
  // Token by token through single-row graphs, so a small term is not hidden by a large one in the sum.
  for (let t = 0; t < T; t++) {
    const one = await blockImportanceGraph(fx.spec, hIn.slice(t * D, (t + 1) * D), hOut.slice(t * D, (t + 1) * D), 1, 1, D);
    assertClose(`token ${t} (1 − cos = ${d[t]!.toExponential(1)})`, one, [d[t]!], 1e-3);
  }
  const want1 = d.slice(T).reduce((x, y) => x + y, 0);
  assertClose('row with zero vectors', got.slice(1), [want1], 1e-5);
  // The clamped tokens: zero input or zero output → cos = 0 → 1 − cos = 1 each.
  assert.equal(d[T + 1], 1);
  assert.equal(d[T + 3], 1);
});

test('unknown or misplaced statistics are typed errors naming the valid forms, in whole and streamed mode', async () => {
  const fx = await writeFixtureCheckpoint(join(root, 'bad'), FX);
  const bad = [
    'layers.0.stats.mlp.down_proj_input.absmean', // layer 0 is Mamba
    'layers.1.stats.norm.median',
    `layers.${fx.spec.numLayers}.stats.norm.absmean`,
    'stats.norm_f.absmean',
  ];
  for (const mode of ['whole', 'streamed'] as const) {
    for (const s of bad) {
      await assert.rejects(
        ForwardRunner.create(fx.dir, { mode, stats: [s], device: 'cpu', threads: 1, logits: false }),
        (e) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && /absmean\|mean\|m2/.test(e.message),
        `${mode}: ${s}`,
      );
    }
  }
});
