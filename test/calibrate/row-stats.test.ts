// The accumulators fed per-row statistics (what the engine's graph reduces each row to) against the same
// accumulators fed the full rows; and the collector's statistics path against its full-tap path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivationAccumulator, MeanAccumulator, VarianceAccumulator, cosineDistances } from '../../src/core/calibrate/index';
import { ImportanceCollector, calibrationStats, calibrationTaps } from '../../src/core/calibrate/collector';
import { referenceForward } from '../../src/core/model/reference';
import { listTapStats } from '../../src/core/model/forward-graph';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';
import { makeModel, randomIds } from '../reference/helpers';

function close(name: string, a: ArrayLike<number>, b: ArrayLike<number>, rel: number): void {
  assert.equal(a.length, b.length, `${name}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= rel * Math.max(1e-300, Math.abs(b[i]!)), `${name}[${i}]: ${a[i]} vs ${b[i]}`);
}

/** Per-row mean |a|, mean and Σ(a − mean)² of [rows, T, C] data, in float64. */
function rowStats(a: ArrayLike<number>, rows: number, T: number, C: number): { absmean: Float64Array; mean: Float64Array; m2: Float64Array } {
  const absmean = new Float64Array(rows * C);
  const mean = new Float64Array(rows * C);
  const m2 = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      let sa = 0;
      for (let t = 0; t < T; t++) {
        const v = a[(r * T + t) * C + c]!;
        s += v;
        sa += Math.abs(v);
      }
      const mu = s / T;
      let q = 0;
      for (let t = 0; t < T; t++) q += (a[(r * T + t) * C + c]! - mu) ** 2;
      absmean[r * C + c] = sa / T;
      mean[r * C + c] = mu;
      m2[r * C + c] = q;
    }
  }
  return { absmean, mean, m2 };
}

const is = (code: string, re: RegExp) => (e: unknown) => e instanceof HybridCompressError && e.code === code && re.test(e.message);

test('ActivationAccumulator.addRowMeans gives the score of add on the full rows; bad input leaves the state untouched', () => {
  const rng = new Rng(31);
  const T = 9;
  const C = 6;
  const viaRows = new ActivationAccumulator(C, 'layers.1.norm');
  const viaMeans = new ActivationAccumulator(C, 'layers.1.norm');
  for (const rows of [2, 1, 4]) {
    const data = Float32Array.from({ length: rows * T * C }, () => rng.normal() * (1 + rng.next()));
    viaRows.add(data, rows, T, C);
    viaMeans.addRowMeans(rowStats(data, rows, T, C).absmean, rows);
  }
  assert.equal(viaMeans.rows, 7);
  close('score', viaMeans.score(), viaRows.score(), 1e-14);
  const before = viaMeans.toJSON();
  assert.throws(() => viaMeans.addRowMeans(new Float64Array(5), 1), is('SHAPE_MISMATCH', /shape \[1, 6\] needs 6/));
  assert.throws(() => viaMeans.addRowMeans(Float64Array.from([1, 1, 1, 1, 1, 1, 1, 1, NaN, 1, 1, 1]), 2), is('NON_FINITE', /row 1 .*channel 2/));
  assert.throws(() => viaMeans.addRowMeans(Float64Array.from([1, -1, 1, 1, 1, 1]), 1), is('NON_FINITE', /negative mean/));
  assert.deepEqual(viaMeans.toJSON(), before);
});

test('VarianceAccumulator.addMoments (per-row mean and m2, Chan combination) equals add on the samples, also with a large mean', () => {
  const rng = new Rng(32);
  const C = 4;
  for (const offset of [0, 1e4]) {
    const viaSamples = new VarianceAccumulator(C);
    const viaMoments = new VarianceAccumulator(C);
    for (const [rows, T] of [[3, 7], [1, 7], [5, 7], [2, 7]] as const) {
      const data = Float32Array.from({ length: rows * T * C }, () => offset + (0.01 + rng.next()) * rng.normal());
      viaSamples.add(data, rows * T, C);
      const s = rowStats(data, rows, T, C);
      viaMoments.addMoments(s.mean, s.m2, rows, T);
    }
    assert.equal(viaMoments.count, viaSamples.count);
    close(`variance (offset ${offset})`, viaMoments.variance(), viaSamples.variance(), 1e-9);
    close(`mean (offset ${offset})`, viaMoments.mean, viaSamples.mean, 1e-12);
  }
  const v = new VarianceAccumulator(2, 'layers.0.flap');
  assert.throws(() => v.addMoments([0, 0], [0, 0, 0, 0], 2, 3), is('SHAPE_MISMATCH', /layers\.0\.flap means: got 2 values/));
  assert.throws(() => v.addMoments([0, 0], [0, -1], 1, 3), is('NON_FINITE', /negative sum of squared deviations/));
  assert.throws(() => v.addMoments([0, Infinity], [0, 0], 1, 3), is('NON_FINITE', /non-finite/));
  assert.throws(() => v.addMoments([0, 0], [0, 0], 1, 0), is('OPTION_INVALID', /samples per group/));
  assert.equal(v.count, 0);
});

test('MeanAccumulator.addSum equals addAll of the values', () => {
  const values = [0.25, 0.5, 1e-7, 0.125];
  const a = new MeanAccumulator();
  a.addAll(values);
  const b = new MeanAccumulator();
  b.addSum(values[0]! + values[1]!, 2);
  b.addSum(values[2]! + values[3]!, 2);
  assert.equal(b.count, 4);
  assert.ok(Math.abs(b.mean() - a.mean()) <= 1e-16);
  assert.throws(() => b.addSum(NaN, 1), is('NON_FINITE', /NaN/));
  assert.throws(() => b.addSum(1, -1), is('OPTION_INVALID', /non-negative integer/));
});

test('ImportanceCollector: the statistics path gives the full-tap path\'s scores on reference-forward activations', async () => {
  const { spec, weights } = makeModel({ pattern: 'M-M*-', hiddenSize: 16, vocabSize: 40, mambaHeads: 8, mambaHeadDim: 4, stateSize: 3, nGroups: 2, intermediateSize: 24, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 4, seed: 9 });
  const rng = new Rng(6);
  const T = 7;
  const viaTaps = new ImportanceCollector(spec);
  const viaStats = new ImportanceCollector(spec);
  const known = new Set(listTapStats(spec).map((s) => s.name));
  for (const rows of [2, 3]) {
    const ref = referenceForward(spec, weights, randomIds(rng, rows, T, spec.vocabSize), { taps: true });
    for (const l of spec.layers) {
      const n = l.index;
      viaTaps.addLayer(n, ref.taps, rows, T);
      const stats = new Map<string, Float64Array>();
      for (const name of calibrationStats(spec, n)) {
        assert.ok(known.has(name), `${name} is a statistic the graph offers`);
        if (name.endsWith('.block_importance.sum')) {
          const d = cosineDistances(ref.taps.get(`layers.${n}.input`)!, ref.taps.get(`layers.${n}.output`)!, rows * T, spec.hiddenSize);
          stats.set(name, Float64Array.from({ length: rows }, (_, r) => d.slice(r * T, (r + 1) * T).reduce((x, y) => x + y, 0)));
          continue;
        }
        const m = /^layers\.\d+\.stats\.(.+)\.(absmean|mean|m2)$/.exec(name)!;
        const tap = `layers.${n}.${m[1]}`;
        assert.ok(calibrationTaps(spec, n).includes(tap), `${name} reduces a tap the full path reads`);
        const C = ref.taps.get(tap)!.length / (rows * T);
        stats.set(name, rowStats(ref.taps.get(tap)!, rows, T, C)[m[2] as 'absmean' | 'mean' | 'm2']);
      }
      viaStats.addLayerStats(n, stats, rows, T);
    }
    viaTaps.endBatch(rows, T);
    viaStats.endBatch(rows, T);
  }
  const readWeight = async (name: string) => Float32Array.from(weights.get(name)!);
  const a = await viaTaps.scores(readWeight);
  const b = await viaStats.scores(readWeight);
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [name, v] of a) close(name, b.get(name)!, v, 1e-6); // both are float32 in the end
  assert.deepEqual(viaStats.toState().layers.map((l) => Object.keys(l).sort()), viaTaps.toState().layers.map((l) => Object.keys(l).sort()));
  assert.throws(() => viaStats.addLayerStats(0, new Map(), 1, T), is('RUNTIME_ERROR', /did not return statistic "layers\.0\.stats\.norm\.absmean"/));
});
