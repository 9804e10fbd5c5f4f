// The importance functions fed from the float64 reference forward's taps, the way calibration feeds them
// from the engine: checks properties that tie the scores to the model's behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivationAccumulator, blockImportance, flapColumnScores, flapHeadScores, klDivergence, rankMamba, VarianceAccumulator } from '../../src/core/calibrate/index';
import { referenceForward } from '../../src/core/model/reference';
import { Rng } from '../../src/core/util/random';
import { makeModel, randomIds, roleName } from '../reference/helpers';

const MODEL = { pattern: 'M-M*-', hiddenSize: 16, vocabSize: 40, mambaHeads: 8, mambaHeadDim: 4, stateSize: 3, nGroups: 2, intermediateSize: 24, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 4, seed: 7 };

test('depth scores: a layer whose mixer outputs zero has BI = 0 and KL = 0, the others are positive', () => {
  const { spec, weights } = makeModel(MODEL);
  weights.get(roleName(spec.layers[1]!, 'down_proj'))!.fill(0); // layer 1 (MLP) is now the identity
  const rows = 2;
  const T = 6;
  const ids = randomIds(new Rng(5), rows, T, spec.vocabSize);
  const full = referenceForward(spec, weights, ids, { taps: true });
  for (const l of spec.layers) {
    const bi = blockImportance(full.taps.get(`layers.${l.index}.input`)!, full.taps.get(`layers.${l.index}.output`)!, rows * T, spec.hiddenSize);
    const dropped = referenceForward(spec, weights, ids, { skipLayers: [l.index] }).logits;
    const kl = klDivergence(full.logits, dropped, rows * T, spec.vocabSize);
    if (l.index === 1) {
      assert.ok(Math.abs(bi) < 1e-12 && kl < 1e-12, `identity layer: bi ${bi}, kl ${kl}`);
    } else {
      assert.ok(bi > 1e-6 && kl > 1e-9, `layer ${l.index}: bi ${bi}, kl ${kl}`);
    }
  }
});

test('width scores from reference taps: group-aware Mamba ranking and FLAP respond to a silenced head', () => {
  const { spec, weights } = makeModel(MODEL);
  const m = spec.mamba!;
  const I = m.innerSize;
  const P = m.headDim;
  const layer = spec.layers[0]!;
  // Silence head 5 (group 1): its x rows in in_proj are zero, so its x activations are exactly 0, and
  // its out_proj columns are zero, so its FLAP score is 0.
  const inProj = weights.get(roleName(layer, 'in_proj'))!;
  inProj.fill(0, (I + 5 * P) * spec.hiddenSize, (I + 6 * P) * spec.hiddenSize);
  const outProj = weights.get(roleName(layer, 'out_proj'))!;
  for (let o = 0; o < spec.hiddenSize; o++) outProj.fill(0, o * I + 5 * P, o * I + 6 * P);

  const rows = 3;
  const T = 5;
  const { taps } = referenceForward(spec, weights, randomIds(new Rng(6), rows, T, spec.vocabSize), { taps: true });
  const act = new ActivationAccumulator(I, 'layers.0.mamba.x');
  act.add(taps.get('layers.0.mamba.x')!, rows, T, I);
  const s = act.score();
  for (let p = 0; p < P; p++) assert.equal(s[5 * P + p], 0);
  // Keep 3 of 4 heads per group: head 5 is the one dropped from group 1, every group keeps 3.
  const r = rankMamba({ numHeads: m.numHeads, headDim: P, data: s }, { nGroups: m.nGroups, keepHeadsPerGroup: 3 });
  assert.equal(r.heads.filter((h) => h >= 4).length, 3);
  assert.ok(!r.heads.includes(5));

  const v = new VarianceAccumulator(I);
  v.add(taps.get('layers.0.mamba.out_proj_input')!, rows * T, I);
  const flap = flapHeadScores(flapColumnScores(outProj, spec.hiddenSize, I, v.variance()), m.numHeads, P);
  assert.equal(flap[5], 0);
  flap.forEach((f, h) => h !== 5 && assert.ok(f > 0));
});
