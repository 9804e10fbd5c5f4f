import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from '../../src/core/arch/index';
import { isLegal } from '../../src/core/prune/targets';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { bytesPerParam, compressAxes, estimateTargets, legalValues, modelVMFromSpec, normalizeTargets, snapToAxis } from '../../src/extension/viewmodel/model-vm';
import { checkTargets } from '../../src/core/prune/targets';

const opts = { hiddenSize: 64, pattern: 'M-M*M-', mambaHeads: 8, mambaHeadDim: 16, nGroups: 2, stateSize: 16, convKernel: 4, intermediateSize: 96, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 16, vocabSize: 272 };
const spec = buildSpec(fixtureConfig(opts));

test('axes offer exactly the pruner’s legal values', () => {
  const axes = compressAxes(spec);
  const byKey = new Map(axes.map((a) => [a.key, a]));
  assert.deepEqual([...byKey.keys()], ['hiddenSize', 'intermediateSize', 'mambaNumHeads', 'mambaHeadDim', 'numAttentionHeads', 'numLayers']);
  const heads = byKey.get('mambaNumHeads')!;
  assert.deepEqual([heads.min, heads.max, heads.step], [2, 8, 2]);
  assert.deepEqual(legalValues(heads), [8, 6, 4, 2]);
  assert.deepEqual(legalValues(byKey.get('numAttentionHeads')!), [4, 2]);
  for (const a of axes) for (const v of legalValues(a, 20)) assert.ok(isLegal(v, a), `${a.key}=${v}`);
  assert.equal(snapToAxis(5, heads), 6);
  assert.equal(snapToAxis(1, heads), 2);
  assert.equal(snapToAxis(99, heads), 8);
  const long = legalValues(byKey.get('hiddenSize')!, 10);
  assert.ok(long.length <= 12 && long[0] === 64 && long[long.length - 1] === 1);
});

test('estimate matches a hand count of what pruning Mamba heads and FFN neurons removes', () => {
  const H = 8, P = 16, K = 4, D = 64, F = 96;
  const mambaLayers = 3, mlpLayers = 2;
  const h = 4, f = 48;
  // Per Mamba layer, removing (H-h) heads of P channels: in_proj rows 2·ΔI + Δheads (z, x and dt), conv ΔI·K weights
  // (+ ΔI bias), A_log/D/dt_bias one per head, the gated norm ΔI, out_proj ΔI columns.
  const dI = (H - h) * P;
  const convBias = spec.mamba!.convBias ? dI : 0;
  const perMamba = (2 * dI + (H - h)) * D + dI * K + convBias + 3 * (H - h) + dI + D * dI;
  const perMlp = 2 * D * (F - f); // up_proj rows and down_proj columns (no bias)
  const expected = spec.params.total - mambaLayers * perMamba - mlpLayers * perMlp;
  const e = estimateTargets(spec, { mambaNumHeads: h, intermediateSize: f }, 2);
  assert.equal(e.error, undefined);
  assert.equal(e.params, expected);
  assert.equal(e.bytes, expected * 2);
  assert.ok(Math.abs(e.ratio - expected / spec.params.total) < 1e-12);
});

test('illegal targets give an error naming the option and the legal values, and the source size', () => {
  const e = estimateTargets(spec, { mambaNumHeads: 5 }, 4);
  assert.match(e.error ?? '', /--mamba-num-heads 5 is not legal: must be a multiple of n_groups=2.*nearby legal values: 4, 6/);
  assert.equal(e.params, spec.params.total);
});

test('dropping layers estimates by removing the cheapest layers (an upper bound)', () => {
  const e = estimateTargets(spec, { numLayers: 5 }, 4);
  const cheapest = Math.min(...spec.layers.map((l) => l.params));
  assert.equal(e.params, spec.params.total - cheapest);
});

test('model view model and bytes per parameter', () => {
  assert.equal(bytesPerParam({ BF16: 100, F32: 100 }), 3);
  assert.equal(bytesPerParam({}), 4);
  const vm = modelVMFromSpec('/w/models/tiny', spec, 1234, 4);
  assert.equal(vm.name, 'tiny');
  assert.equal(vm.layers.length, 6);
  assert.equal(vm.layers.reduce((a, l) => a + l.params, 0) + spec.params.byComponent.embedding + spec.params.byComponent.lm_head + spec.normF.shape[0]!, spec.params.total);
  assert.deepEqual(vm.mamba, { numHeads: 8, headDim: 16, nGroups: 2, stateSize: 16 });
});

test('pure Mamba2: the width axes list only values an integer expand allows, and moving one adjusts the others', () => {
  const m2 = buildSpec(fixtureConfig({ family: 'mamba2', numLayers: 2, hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, stateSize: 8 }));
  const byKey = (t = {}) => new Map(compressAxes(m2, t).map((a) => [a.key, a]));
  const axes = byKey();
  assert.deepEqual(axes.get('mambaHeadDim')!.values, [4, 8], 'with hidden 32, 8·p or h·p must be a multiple of 32 for some h');
  assert.deepEqual(axes.get('mambaNumHeads')!.values, [4, 8]);
  const hidden = axes.get('hiddenSize')!.values!;
  for (const d of [30, 24, 32, 7]) assert.ok(hidden.includes(d), `${d} divides some heads × head_dim (6 × 5, 6 × 4, 8 × 4, 2 × 7)`);
  for (const d of [11, 13, 22, 25, 27, 31]) assert.ok(!hidden.includes(d), `${d} divides no heads × head_dim with heads ≤ 8, head_dim ≤ 8`);
  assert.match(axes.get('hiddenSize')!.rule, /integer expand/);
  assert.deepEqual(byKey({ hiddenSize: 16 }).get('mambaHeadDim')!.values, [2, 4, 6, 8]);
  assert.equal(compressAxes(spec).some((a) => a.values), false, 'nemotron_h axes are independent');
  // Every combination the panel can reach by moving one axis to an offered value is legal after normalising.
  let t = {};
  for (const [key, v] of [['hiddenSize', 16], ['mambaNumHeads', 2], ['mambaHeadDim', 6], ['hiddenSize', 4], ['hiddenSize', 32], ['mambaNumHeads', 4]] as const) {
    const axis = byKey(t).get(key)!;
    assert.ok(axis.values!.includes(v), `${key}=${v} offered in ${JSON.stringify(axis.values)}`);
    const r = normalizeTargets(m2, t, { ...t, [key]: v });
    assert.doesNotThrow(() => checkTargets(m2, r.targets), JSON.stringify(r.targets));
    assert.equal((r.targets as Record<string, number>)[key] ?? { hiddenSize: 32, mambaNumHeads: 8, mambaHeadDim: 8 }[key], v, 'the moved axis keeps its value');
    assert.equal(estimateTargets(m2, r.targets, 4).error, undefined);
    if (r.note) assert.match(r.note, /integer expand/);
    t = r.targets;
  }
  const moved = normalizeTargets(m2, {}, { mambaHeadDim: 4, mambaNumHeads: 6 });
  assert.match(moved.note ?? '', /→/);
  const same = normalizeTargets(spec, {}, { mambaHeadDim: 3 });
  assert.deepEqual(same, { targets: { mambaHeadDim: 3 } });
});
