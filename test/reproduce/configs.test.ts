import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { randomImportance } from '../../src/core/calibrate/importance-file';
import { buildPlan, type PruningPlan } from '../../src/core/prune/plan';
import { archParams, chooseDepth, scaled } from '../../scripts/reproduce/configs';
import { misgroupedHeads } from '../../scripts/reproduce/plan-stats';

// The bundled teacher's shape (weights are not needed: only parameter counts and plans).
const spec = buildSpec(
  fixtureConfig({ family: 'nemotron_h', vocabSize: 4096, hiddenSize: 256, pattern: 'M-M*M-M-', mambaHeads: 16, mambaHeadDim: 32, nGroups: 4, stateSize: 32, intermediateSize: 1024, attentionHeads: 8, kvHeads: 2, attentionHeadDim: 32, tieEmbeddings: false }),
);
const T = spec.params.total;

test('scaled rounds to the step and stays within [step, size]', () => {
  assert.equal(scaled(16, 0.75, 4), 12);
  assert.equal(scaled(1024, 0.375, 8), 384);
  assert.equal(scaled(16, 0.01, 4), 4);
  assert.equal(scaled(16, 2, 4), 16);
});

test('archParams is the teacher size unpruned and shrinks with every cut', () => {
  assert.equal(archParams(spec, {}), T);
  const a = archParams(spec, { mambaNumHeads: 8 });
  const b = archParams(spec, { mambaNumHeads: 8, ffnHiddenSize: 512 });
  const c = archParams(spec, { mambaNumHeads: 8, ffnHiddenSize: 512 }, [0, 1, 2, 3, 4, 5]);
  assert.ok(T > a && a > b && b > c);
});

test('chooseDepth keeps the top-scored layers, with the layer count nearest the target', () => {
  const scores = [8, 1, 7, 2, 6, 3, 5, 4];
  const d = chooseDepth(spec, scores, 0.5 * T);
  const k = d.keptLayers.length;
  const byScore = [0, 2, 4, 6, 7, 5, 3, 1];
  assert.deepEqual(d.keptLayers, byScore.slice(0, k).sort((a, b) => a - b));
  for (let n = 1; n < spec.numLayers; n++) {
    const p = archParams(spec, {}, byScore.slice(0, n).sort((a, b) => a - b));
    assert.ok(Math.abs(p - 0.5 * T) >= Math.abs(d.params - 0.5 * T));
  }
});

test('misgroupedHeads counts kept heads that land in another B/C group', () => {
  const layer = (heads: number[]) => ({ source_index: 0, kind: 'M' as const, mamba_heads: heads, mamba_head_channels: [] });
  const plan = (heads: number[]): PruningPlan => ({ format: 'hybrid-compress/plan@1', source: 'x', hidden_size: [], layers: [layer(heads)], dropped_layers: [], config_changes: {} });
  // Two per group, each from its own group: nothing moves.
  assert.deepEqual(misgroupedHeads(spec, plan([0, 1, 4, 5, 8, 9, 12, 13])), { misgrouped: 0, kept: 8 });
  // All eight from groups 0 and 1: new groups 1–3 get heads 2,3 (group 0), 4,5 and 6,7 (group 1).
  assert.deepEqual(misgroupedHeads(spec, plan([0, 1, 2, 3, 4, 5, 6, 7])), { misgrouped: 6, kept: 8 });
});

test('plans from the pruner: group-aware never moves heads; the global ranking can', () => {
  let moved = 0;
  for (const seed of [1, 2, 3]) {
    const scores = randomImportance(spec, seed);
    const group = buildPlan(spec, scores, { mambaNumHeads: 8 }, 'fp', { mambaHeadRanking: 'group' });
    assert.equal(misgroupedHeads(spec, group).misgrouped, 0);
    assert.equal(misgroupedHeads(spec, group).kept, 8 * 4);
    moved += misgroupedHeads(spec, buildPlan(spec, scores, { mambaNumHeads: 8 }, 'fp', { mambaHeadRanking: 'global' })).misgrouped;
  }
  assert.ok(moved > 0, 'random scores make the global ranking move some head across groups');
});
