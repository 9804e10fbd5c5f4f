import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from '../../src/core/arch/index';
import { isLegal } from '../../src/core/prune/targets';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { checkTargets } from '../../src/core/prune/targets';
import { Rng } from '../../src/core/util/random';
import { bytesPerParam, compressAxes, estimateTargets, modelVMFromSpec } from '../../src/extension/viewmodel/model-vm';
import { axisValues } from '../../webview/shared/axis-values';
import type { Targets } from '../../webview/protocol';

const opts = { hiddenSize: 64, pattern: 'M-M*M-', mambaHeads: 8, mambaHeadDim: 16, nGroups: 2, stateSize: 16, convKernel: 4, intermediateSize: 96, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 16, vocabSize: 272 };
const spec = buildSpec(fixtureConfig(opts));

test('axes offer exactly the pruner’s legal values', () => {
  const axes = compressAxes(spec);
  const byKey = new Map(axes.map((a) => [a.key, a]));
  assert.deepEqual([...byKey.keys()], ['hiddenSize', 'ffnHiddenSize', 'mambaNumHeads', 'mambaHeadDim', 'numAttentionHeads', 'numLayers']);
  const heads = byKey.get('mambaNumHeads')!;
  assert.deepEqual([heads.min, heads.max, heads.step], [2, 8, 2]);
  const model = modelVMFromSpec('/m', spec, 0, 4);
  assert.deepEqual(axisValues(heads, {}, model), [2, 4, 6, 8]);
  assert.deepEqual(axisValues(byKey.get('numAttentionHeads')!, {}, model), [2, 4]);
  for (const a of axes) for (const v of axisValues(a, {}, model)) assert.ok(isLegal(v, a), `${a.key}=${v}`);
  assert.equal(axisValues(byKey.get('hiddenSize')!, {}, model).length, 64);
  assert.ok(axes.every((a) => a.coupled === undefined), 'nemotron_h axes are independent');
});

test('pure Mamba2: sliders offer only combinations transformers can express (integer expand), and the pruner agrees', () => {
  const m2 = buildSpec(fixtureConfig({ family: 'mamba2', numLayers: 2, hiddenSize: 48, mambaHeads: 12, mambaHeadDim: 8, nGroups: 2, stateSize: 8, vocabSize: 300 }));
  const model = modelVMFromSpec('/m2', m2, 0, 4);
  const axes = compressAxes(m2).filter((a) => a.key !== 'numLayers');
  assert.deepEqual(axes.map((a) => a.key), ['hiddenSize', 'mambaNumHeads', 'mambaHeadDim']);
  assert.ok(axes.every((a) => a.coupled?.includes('integer expand')));
  // At the source (12 × 8 = 96 = 2 × 48) the hidden slider offers the divisors of 96 up to 48.
  assert.deepEqual(axisValues(axes[0]!, {}, model), [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48]);
  const rng = new Rng(3);
  let targets: Targets = {};
  for (let i = 0; i < 200; i++) {
    const a = axes[rng.int(axes.length)]!;
    const vals = axisValues(a, targets, model);
    assert.ok(vals.length > 0, `${a.key} offers nothing at ${JSON.stringify(targets)}`);
    targets = { ...targets, [a.key]: vals[rng.int(vals.length)] };
    checkTargets(m2, targets);
    assert.equal(estimateTargets(m2, targets, 4).error, undefined, JSON.stringify(targets));
    // A grid value the slider leaves out is refused by the pruner, naming the rule.
    const grid = axisValues({ ...a, coupled: undefined }, targets, model);
    const left = grid.find((v) => !axisValues(a, targets, model).includes(v));
    if (left !== undefined) assert.throws(() => checkTargets(m2, { ...targets, [a.key]: left }), /whole multiple of hidden_size.*integer expand/);
  }
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
  const e = estimateTargets(spec, { mambaNumHeads: h, ffnHiddenSize: f }, 2);
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
