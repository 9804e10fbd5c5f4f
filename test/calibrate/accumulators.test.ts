import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivationAccumulator, MeanAccumulator, sumLayerScores, VarianceAccumulator } from '../../src/core/calibrate/index';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';

function randomBatch(rng: Rng, n: number, offset = 0, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => offset + scale * rng.normal());
}

/** sqrt(Σ_rows (mean_t |a|)²) straight from the definition, over a list of [rows, seq, C] batches. */
function bruteActivation(batches: { data: Float32Array; rows: number }[], seq: number, C: number): Float64Array {
  const out = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let ss = 0;
    for (const b of batches) {
      for (let r = 0; r < b.rows; r++) {
        const vals = Array.from({ length: seq }, (_, t) => Math.abs(b.data[(r * seq + t) * C + c]!));
        const m = vals.reduce((a, x) => a + x, 0) / seq;
        ss += m * m;
      }
    }
    out[c] = Math.sqrt(ss);
  }
  return out;
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, rel = 1e-12): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= rel * Math.max(1, Math.abs(b[i]!)), `index ${i}: ${a[i]} vs ${b[i]}`);
}

test('ActivationAccumulator: (batch = L2, seq = mean) score matches the definition over several batches', () => {
  const rng = new Rng(21);
  const seq = 5;
  const C = 7;
  const batches = [3, 1, 4].map((rows) => ({ rows, data: randomBatch(rng, rows * seq * C) }));
  const acc = new ActivationAccumulator(C, 'layers.0.norm');
  for (const b of batches) acc.add(b.data, b.rows, seq, C);
  assert.equal(acc.rows, 8);
  close(acc.score(), bruteActivation(batches, seq, C));
  // mean over t, not sum: doubling the sequence with a copy of itself leaves the score unchanged.
  const one = batches[0]!;
  const doubled = new Float32Array(one.rows * 2 * seq * C);
  for (let r = 0; r < one.rows; r++) {
    const row = one.data.subarray(r * seq * C, (r + 1) * seq * C);
    doubled.set(row, r * 2 * seq * C);
    doubled.set(row, (r * 2 + 1) * seq * C);
  }
  const a1 = new ActivationAccumulator(C);
  a1.add(one.data, one.rows, seq, C);
  const a2 = new ActivationAccumulator(C);
  a2.add(doubled, one.rows, 2 * seq, C);
  close(a2.score(), a1.score());
});

test('ActivationAccumulator: merge and JSON resume give the same score as one pass', () => {
  const rng = new Rng(22);
  const seq = 4;
  const C = 6;
  const batches = [2, 3, 2, 1].map((rows) => ({ rows, data: randomBatch(rng, rows * seq * C) }));
  const full = new ActivationAccumulator(C);
  batches.forEach((b) => full.add(b.data, b.rows, seq, C));
  const left = new ActivationAccumulator(C);
  const right = new ActivationAccumulator(C);
  batches.slice(0, 2).forEach((b) => left.add(b.data, b.rows, seq, C));
  batches.slice(2).forEach((b) => right.add(b.data, b.rows, seq, C));
  close(left.merge(right).score(), full.score(), 1e-15);
  assert.equal(left.rows, full.rows);
  // Interrupt after two batches, persist, resume.
  const first = new ActivationAccumulator(C);
  batches.slice(0, 2).forEach((b) => first.add(b.data, b.rows, seq, C));
  const resumed = ActivationAccumulator.fromJSON(JSON.parse(JSON.stringify(first)));
  batches.slice(2).forEach((b) => resumed.add(b.data, b.rows, seq, C));
  assert.deepEqual(resumed.score(), full.score());
  assert.equal(resumed.rows, 8);
});

test('ActivationAccumulator: wrong shapes, non-finite data and corrupt state are typed errors', () => {
  const acc = new ActivationAccumulator(3, 'layers.2.mlp.down_proj_input');
  const is = (code: string, re: RegExp) => (e: unknown) => e instanceof HybridCompressError && e.code === code && re.test(e.message);
  assert.throws(() => acc.add(new Float32Array(12), 2, 2, 4), is('SHAPE_MISMATCH', /4 channels, the accumulator 3/));
  assert.throws(() => acc.add(new Float32Array(11), 2, 2, 3), is('SHAPE_MISMATCH', /down_proj_input: got 11 values, shape \[2, 2, 3\] needs 12/));
  assert.throws(() => acc.add(Float32Array.from([1, 2, NaN, 1, 1, 1]), 1, 2, 3), is('NON_FINITE', /channel 2/));
  assert.throws(() => acc.merge(new ActivationAccumulator(4)), is('SHAPE_MISMATCH', /merge/));
  assert.throws(() => ActivationAccumulator.fromJSON({ kind: 'activation', channels: 3, rows: 1, sumSquares: [1, 2] }), is('DATA_INVALID', /3 finite numbers/));
  assert.throws(() => ActivationAccumulator.fromJSON({ kind: 'variance' }), is('DATA_INVALID', /kind "activation"/));
  assert.throws(() => new ActivationAccumulator(0), is('OPTION_INVALID', /positive integer/));
});

test('sumLayerScores adds per-layer embedding-channel scores', () => {
  const s = sumLayerScores([Float64Array.from([1, 2]), [0.5, 4], Float32Array.from([1, 1])]);
  assert.deepEqual(Array.from(s), [2.5, 7]);
  assert.throws(() => sumLayerScores([[1, 2], [1]]), HybridCompressError);
});

test('VarianceAccumulator: streaming variance equals the two-pass variance, also with a large mean', () => {
  const rng = new Rng(23);
  const C = 5;
  for (const offset of [0, 1e4]) {
    const batches = [7, 1, 12, 3].map((n) => ({ n, data: randomBatch(rng, n * C, offset, 0.01 + 2 * rng.next()) }));
    const acc = new VarianceAccumulator(C);
    batches.forEach((b) => acc.add(b.data, b.n, C));
    const all = batches.flatMap((b) => Array.from(b.data));
    const n = all.length / C;
    const expected = Array.from({ length: C }, (_, c) => {
      let m = 0;
      for (let s = 0; s < n; s++) m += all[s * C + c]! / n;
      let v = 0;
      for (let s = 0; s < n; s++) v += (all[s * C + c]! - m) ** 2 / n;
      return v;
    });
    assert.equal(acc.count, n);
    close(acc.variance(), expected, 1e-9);
    // merge and resume agree with the single stream
    const a = new VarianceAccumulator(C);
    const b = new VarianceAccumulator(C);
    batches.slice(0, 1).forEach((x) => a.add(x.data, x.n, C));
    batches.slice(1).forEach((x) => b.add(x.data, x.n, C));
    close(a.merge(b).variance(), acc.variance(), 1e-12);
    const resumed = VarianceAccumulator.fromJSON(JSON.parse(JSON.stringify(a)));
    close(resumed.variance(), acc.variance(), 1e-12);
  }
  assert.throws(() => new VarianceAccumulator(2).variance(), HybridCompressError);
  const empty = new VarianceAccumulator(2).merge(new VarianceAccumulator(2));
  assert.equal(empty.count, 0);
});

test('MeanAccumulator: running mean, merge, resume, non-finite rejection', () => {
  const a = new MeanAccumulator('depth.kl');
  a.addAll([1, 2, 3]);
  const b = new MeanAccumulator();
  b.addAll(Float64Array.from([10]));
  assert.equal(a.mean(), 2);
  assert.equal(MeanAccumulator.fromJSON(JSON.parse(JSON.stringify(a))).merge(b).mean(), 4);
  assert.throws(() => a.addAll([Infinity]), (e: unknown) => e instanceof HybridCompressError && e.code === 'NON_FINITE');
  assert.throws(() => new MeanAccumulator().mean(), HybridCompressError);
  assert.throws(() => MeanAccumulator.fromJSON({ kind: 'mean', sum: 'x', count: 1 }), HybridCompressError);
});
