import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockImportance, cosineDistances, flapColumnScores, flapHeadScores, klDivergence, klPerToken, VarianceAccumulator } from '../../src/core/calibrate/index';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';

test('FLAP: ‖W[:, j]‖² · Var(x_j) per input column, summed per head (brute force)', () => {
  const rng = new Rng(41);
  const out = 4;
  const H = 3;
  const P = 2;
  const I = H * P;
  const W = Float32Array.from({ length: out * I }, () => rng.normal());
  const n = 50;
  const x = Float32Array.from({ length: n * I }, (_, i) => rng.normal() * (1 + (i % I)));
  const acc = new VarianceAccumulator(I);
  acc.add(x.subarray(0, 20 * I), 20, I);
  acc.add(x.subarray(20 * I), 30, I);
  const cols = flapColumnScores(W, out, I, acc.variance());
  for (let j = 0; j < I; j++) {
    let norm2 = 0;
    for (let o = 0; o < out; o++) norm2 += W[o * I + j]! ** 2;
    let m = 0;
    for (let s = 0; s < n; s++) m += x[s * I + j]! / n;
    let v = 0;
    for (let s = 0; s < n; s++) v += (x[s * I + j]! - m) ** 2 / n;
    assert.ok(Math.abs(cols[j]! - norm2 * v) < 1e-9 * Math.max(1, norm2 * v), `column ${j}`);
  }
  const heads = flapHeadScores(cols, H, P);
  for (let h = 0; h < H; h++) assert.ok(Math.abs(heads[h]! - (cols[2 * h]! + cols[2 * h + 1]!)) < 1e-12);
  assert.throws(() => flapColumnScores(W, out, I, new Float64Array(I - 1)), (e: unknown) => e instanceof HybridCompressError && e.code === 'SHAPE_MISMATCH');
});

test('Block Importance: mean over tokens of 1 − cos(h_in, h_out); known cases and brute force', () => {
  const h = [1, 2, 3, -1, 0, 2];
  assert.ok(Math.abs(blockImportance(h, h, 2, 3)) < 1e-15, 'identity layer');
  assert.ok(Math.abs(blockImportance(h, h.map((v) => -2 * v), 2, 3) - 2) < 1e-15, 'reversed direction');
  assert.ok(Math.abs(blockImportance([1, 0], [0, 5], 1, 2) - 1) < 1e-15, 'orthogonal');
  assert.equal(blockImportance([0, 0], [1, 1], 1, 2), 1, 'a zero vector has cosine 0 (torch eps guard)');
  const rng = new Rng(42);
  const T = 6;
  const D = 5;
  const a = Float64Array.from({ length: T * D }, () => rng.normal());
  const b = Float64Array.from({ length: T * D }, () => rng.normal());
  let expect = 0;
  for (let t = 0; t < T; t++) {
    const ra = Array.from(a.subarray(t * D, (t + 1) * D));
    const rb = Array.from(b.subarray(t * D, (t + 1) * D));
    const dot = ra.reduce((s, v, i) => s + v * rb[i]!, 0);
    expect += (1 - dot / (Math.hypot(...ra) * Math.hypot(...rb))) / T;
  }
  assert.ok(Math.abs(blockImportance(a, b, T, D) - expect) < 1e-14);
  assert.equal(cosineDistances(a, b, T, D).length, T);
});

test('KL(p_full ‖ p_dropped): brute force on probabilities, zero for equal or shifted logits, non-negative', () => {
  const rng = new Rng(43);
  const T = 4;
  const V = 7;
  const p = Float32Array.from({ length: T * V }, () => 2 * rng.normal());
  const q = Float32Array.from({ length: T * V }, () => 2 * rng.normal());
  const per = klPerToken(p, q, T, V);
  let mean = 0;
  for (let t = 0; t < T; t++) {
    const sm = (x: Float32Array) => {
      const e = Array.from(x.subarray(t * V, (t + 1) * V), Math.exp);
      const z = e.reduce((a, b) => a + b);
      return e.map((v) => v / z);
    };
    const pp = sm(p);
    const qq = sm(q);
    const kl = pp.reduce((s, v, i) => s + v * Math.log(v / qq[i]!), 0);
    assert.ok(Math.abs(per[t]! - kl) < 1e-12, `token ${t}`);
    assert.ok(per[t]! > 0);
    mean += kl / T;
  }
  assert.ok(Math.abs(klDivergence(p, q, T, V) - mean) < 1e-12);
  assert.equal(klDivergence(p, p, T, V), 0);
  assert.ok(klDivergence(p, p.map((v) => v + 3), T, V) < 1e-12, 'softmax is shift-invariant');
  // Large logits stay finite (max-subtracted log-softmax).
  assert.ok(Number.isFinite(klDivergence([1000, 0], [0, 1000], 1, 2)));
  assert.throws(() => klDivergence([NaN, 1], [0, 1], 1, 2), (e: unknown) => e instanceof HybridCompressError && e.code === 'NON_FINITE');
});
