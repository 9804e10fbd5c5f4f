import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec, mambaGroupOfHead, kvHeadOfQueryHead } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { HybridCompressError } from '../../src/core/errors';
import { ImportanceScores, randomImportance, importanceLayout, checkImportanceFingerprint } from '../../src/core/calibrate/importance-file';
import { buildPlan, formatPlan, planDims, PLAN_FORMAT, type PruningPlan } from '../../src/core/prune/plan';
import { checkPlan, parsePlan } from '../../src/core/prune/plan-check';
import { applyPruneAxis, checkTargets, parseTargetParams, nearbyLegal } from '../../src/core/prune/targets';
import { mambaChannelScores, rankMambaHeads, topK } from '../../src/core/calibrate/index';
import { Rng } from '../../src/core/util/random';

// 6 layers: M - M * M -, 8 Mamba heads × 4 channels in 2 groups, 4 query / 2 KV heads, FFN 32, hidden 16.
const spec = buildSpec(fixtureConfig({ pattern: 'M-M*M-', hiddenSize: 16, mambaHeads: 8, mambaHeadDim: 4, nGroups: 2, intermediateSize: 32, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 4 }));
const FP = 'fp-test';

/** Importance scores with chosen values (others random). */
function scoresWith(overrides: Record<string, number[]>, seed = 3): ImportanceScores {
  const base = randomImportance(spec, seed);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const { name, shape } of importanceLayout(spec)) {
    const data = overrides[name] ? Float32Array.from(overrides[name]!) : base.require(name, shape, 'test');
    tensors.set(name, { shape, data });
  }
  return new ImportanceScores('/scores/importance.safetensors', { format: 'hybrid-compress/importance@1', fingerprint: FP }, tensors);
}

function expectReject(fn: () => unknown, option: string, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HybridCompressError, `expected a HybridCompressError, got ${String(e)}`);
    assert.equal(e.code, 'OPTION_INVALID');
    assert.equal(e.context.option, option);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" lacks "${f}"`);
    return true;
  });
}

test('illegal targets are rejected before any work, naming the option and nearby legal values', () => {
  const imp = randomImportance(spec, 1);
  expectReject(() => buildPlan(spec, imp, { mambaNumHeads: 5 }, FP), 'mamba-num-heads', 'multiple of n_groups=2', 'nearby legal values: 4, 6');
  expectReject(() => buildPlan(spec, imp, { mambaNumHeads: 10 }, FP), 'mamba-num-heads', 'nearby legal values: 8');
  expectReject(() => buildPlan(spec, imp, { mambaNumHeads: 0 }, FP), 'mamba-num-heads', 'nearby legal values: 2');
  expectReject(() => buildPlan(spec, imp, { mambaHeadDim: 5 }, FP), 'mamba-head-dim', 'between 1 and mamba_head_dim=4', 'nearby legal values: 4');
  expectReject(() => buildPlan(spec, imp, { hiddenSize: 17 }, FP), 'hidden-size', 'nearby legal values: 16');
  expectReject(() => buildPlan(spec, imp, { hiddenSize: 2.5 }, FP), 'hidden-size', 'nearby legal values: 2, 3');
  expectReject(() => buildPlan(spec, imp, { ffnHiddenSize: 33 }, FP), 'ffn-hidden-size', 'intermediate_size=32');
  expectReject(() => buildPlan(spec, imp, { numAttentionHeads: 3 }, FP), 'num-attention-heads', 'multiple of num_key_value_heads=2', 'nearby legal values: 2, 4');
  expectReject(() => buildPlan(spec, imp, { numAttentionHeads: 6 }, FP), 'num-attention-heads', 'nearby legal values: 4');
  expectReject(() => buildPlan(spec, imp, { numLayers: 0 }, FP), 'num-layers', 'between 1 and num_hidden_layers=6');
  expectReject(() => buildPlan(spec, imp, { numLayers: 7 }, FP), 'num-layers');
  expectReject(() => buildPlan(spec, imp, { numLayers: 4, dropLayers: [1] }, FP), 'num-layers', 'exclusive');
  expectReject(() => buildPlan(spec, imp, { dropLayers: [6] }, FP), 'drop-layers', 'from 0 to 5');
  expectReject(() => buildPlan(spec, imp, { dropLayers: [1, 1] }, FP), 'drop-layers', 'twice');
  expectReject(() => buildPlan(spec, imp, { dropLayers: [0, 1, 2, 3, 4, 5] }, FP), 'drop-layers', 'at least one');
  const m2 = buildSpec(fixtureConfig({ family: 'mamba2', numLayers: 2, hiddenSize: 16, mambaHeads: 4, mambaHeadDim: 8 }));
  expectReject(() => buildPlan(m2, randomImportance(m2, 1), { ffnHiddenSize: 8 }, FP), 'ffn-hidden-size', 'no MLP (-) layers');
  expectReject(() => buildPlan(m2, randomImportance(m2, 1), { numAttentionHeads: 2 }, FP), 'num-attention-heads', 'no attention (*) layers');
  const moe = buildSpec(fixtureConfig({ pattern: 'ME', hiddenSize: 16, mambaHeads: 8, mambaHeadDim: 4, nGroups: 2 }));
  expectReject(() => checkTargets(moe, { hiddenSize: 8 }), 'hidden-size', 'MoE');
  assert.deepEqual(nearbyLegal(100, { min: 8, max: 128, step: 8 }), [96, 104]);
});

test('pure Mamba2 targets must keep heads × head_dim a whole multiple of hidden_size (transformers: integer expand)', () => {
  const m2 = buildSpec(fixtureConfig({ family: 'mamba2', numLayers: 2, hiddenSize: 48, mambaHeads: 12, mambaHeadDim: 8, nGroups: 2, stateSize: 8 }));
  checkTargets(m2, { mambaNumHeads: 6 }); // 48 = 1 × 48
  checkTargets(m2, { hiddenSize: 32, mambaNumHeads: 8 }); // 64 = 2 × 32
  expectReject(() => checkTargets(m2, { mambaNumHeads: 10 }), 'mamba-num-heads', 'legal values with the other targets as given: 6, 12');
  expectReject(() => checkTargets(m2, { mambaHeadDim: 5 }), 'mamba-head-dim', 'whole multiple of hidden_size = 48');
  expectReject(() => checkTargets(m2, { hiddenSize: 40 }), 'hidden-size', 'legal values with the other targets as given: 16, 24, 32, 48');
});

test('--target-params accepts absolute counts and shares, and rejects the rest', () => {
  assert.equal(parseTargetParams('4e9', 8e9), 4e9);
  assert.equal(parseTargetParams('4.5B', 8e9), 4.5e9);
  assert.equal(parseTargetParams('900M', 8e9), 9e8);
  assert.equal(parseTargetParams('50%', 8e9), 4e9);
  expectReject(() => parseTargetParams('lots', 8e9), 'target-params', 'like 4e9');
  expectReject(() => parseTargetParams('9e9', 8e9), 'target-params', 'at most');
  expectReject(() => parseTargetParams('0%', 8e9), 'target-params');
});

test('Mamba heads are ranked within their B/C group: same count per group, each kept head from its own group', () => {
  const H = 8;
  const G = 2;
  for (let seed = 1; seed <= 20; seed++) {
    const plan = buildPlan(spec, randomImportance(spec, seed), { mambaNumHeads: 4 }, FP);
    for (const l of plan.layers) {
      if (l.kind !== 'M') continue;
      assert.equal(l.mamba_heads.length, 4);
      l.mamba_heads.forEach((h, pos) => assert.equal(mambaGroupOfHead({ numHeads: H, nGroups: G }, h), Math.floor(pos / 2), `head ${h} at position ${pos}`));
      assert.deepEqual([...l.mamba_heads], [...l.mamba_heads].sort((a, b) => a - b), 'ascending by default');
    }
  }
});

test('global head ranking differs from group ranking when the best heads crowd one group', () => {
  // Raw x scores: group 0's heads (0..3) all beat group 1's.
  const act = Array.from({ length: 32 }, (_, i) => (Math.floor(i / 4) < 4 ? 10 + i : 1 + (i % 3)));
  const imp = scoresWith({ 'layers.0.mamba.activations': act });
  const group = buildPlan(spec, imp, { mambaNumHeads: 4 }, FP).layers[0]!;
  const global = buildPlan(spec, imp, { mambaNumHeads: 4 }, FP, { mambaHeadRanking: 'global' }).layers[0]!;
  assert.ok(group.kind === 'M' && global.kind === 'M');
  assert.deepEqual(global.mamba_heads, [0, 1, 2, 3]);
  assert.deepEqual(group.mamba_heads.slice(0, 2), [2, 3]);
  assert.ok(group.mamba_heads.slice(2).every((h) => h >= 4));
});

test('head channels: one ranking shared by all heads; head scores recomputed over the kept channels', () => {
  const rng = new Rng(11);
  const act = Array.from({ length: 32 }, () => rng.next());
  const plan = buildPlan(spec, scoresWith({ 'layers.0.mamba.activations': act }), { mambaHeadDim: 2, mambaNumHeads: 4 }, FP);
  const l = plan.layers[0]!;
  assert.ok(l.kind === 'M');
  // Brute force: channel score = L2 over heads; keep the top 2; head score = L2 over those channels.
  const cs = [0, 1, 2, 3].map((d) => Math.hypot(...[0, 1, 2, 3, 4, 5, 6, 7].map((h) => act[h * 4 + d]!)));
  const chans = [0, 1, 2, 3].sort((a, b) => cs[b]! - cs[a]!).slice(0, 2).sort((a, b) => a - b);
  assert.deepEqual(l.mamba_head_channels, chans);
  const hs = [0, 1, 2, 3, 4, 5, 6, 7].map((h) => Math.hypot(...chans.map((d) => act[h * 4 + d]!)));
  const best = (g: number) => [0, 1, 2, 3].map((j) => g * 4 + j).sort((a, b) => hs[b]! - hs[a]!).slice(0, 2).sort((a, b) => a - b);
  assert.deepEqual(l.mamba_heads, [...best(0), ...best(1)]);
  assert.deepEqual([...mambaChannelScores({ numHeads: 8, headDim: 4, data: act })].map((x) => x.toFixed(12)), cs.map((x) => x.toFixed(12)));
});

test('--metric flap ranks heads and neurons by the FLAP scores', () => {
  const flap = [9, 1, 1, 8, 1, 7, 6, 1];
  const mlpFlap = Array.from({ length: 32 }, (_, i) => (i % 5 === 0 ? 100 + i : i / 100));
  const imp = scoresWith({ 'layers.0.mamba.flap': flap, 'layers.1.mlp.flap': mlpFlap });
  const plan = buildPlan(spec, imp, { mambaNumHeads: 4, ffnHiddenSize: 7 }, FP, { metric: 'flap' });
  const m = plan.layers[0]!;
  const f = plan.layers[1]!;
  assert.ok(m.kind === 'M' && f.kind === '-');
  assert.deepEqual(m.mamba_heads, [0, 3, 5, 6]);
  assert.deepEqual(f.mlp_neurons, [0, 5, 10, 15, 20, 25, 30]);
});

test('attention heads are kept within KV groups; MLP neurons and hidden channels by score', () => {
  const imp = scoresWith({ 'layers.3.attention.heads': [1, 2, 9, 8], 'embedding.channels': Array.from({ length: 16 }, (_, i) => (i * 7) % 16) });
  const plan = buildPlan(spec, imp, { numAttentionHeads: 2, hiddenSize: 4 }, FP);
  const a = plan.layers.find((l) => l.kind === '*')!;
  assert.ok(a.kind === '*');
  assert.deepEqual(a.attention_heads, [1, 2]);
  a.attention_heads.forEach((h, pos) => assert.equal(kvHeadOfQueryHead({ numHeads: 4, numKvHeads: 2 }, h), pos));
  // scores (i*7)%16: the top four are 15 (i=9), 14 (i=2), 13 (i=11), 12 (i=4).
  assert.deepEqual(plan.hidden_size, [2, 4, 9, 11]);
});

test('--sort-by-importance lists kept indices best first within each group', () => {
  const imp = scoresWith({ 'layers.0.mamba.heads': [1, 4, 3, 2, 8, 5, 7, 6] });
  // Without raw activations the recorded head scores are used.
  const noAct = new ImportanceScores('x', {}, new Map(importanceLayout(spec).filter((t) => t.name !== 'layers.0.mamba.activations').map((t) => [t.name, { shape: t.shape, data: imp.require(t.name, t.shape, 't') }])));
  const plan = buildPlan(spec, noAct, { mambaNumHeads: 4 }, FP, { sortByImportance: true });
  const l = plan.layers[0]!;
  assert.ok(l.kind === 'M');
  assert.deepEqual(l.mamba_heads, [1, 2, 4, 6]);
  assert.deepEqual(topK([1, 5, 5, 2], 2, { sortByImportance: true }), [1, 2], 'ties: the lower index first');
  assert.deepEqual(rankMambaHeads([1, 4, 3, 2, 8, 5, 7, 6], 2, 4, 'group', { sortByImportance: true }), [1, 2, 3, 0, 4, 6, 7, 5]);
});

test('depth: --num-layers drops the lowest depth.kl, else depth.block_importance; --drop-layers drops exactly those', () => {
  const withKl = scoresWith({ 'depth.kl': [5, 1, 6, 2, 7, 8], 'depth.block_importance': [0, 9, 9, 9, 9, 9] });
  assert.deepEqual(buildPlan(spec, withKl, { numLayers: 4 }, FP).dropped_layers, [1, 3]);
  const noKl = new ImportanceScores('x', {}, new Map(importanceLayout(spec).filter((t) => t.name !== 'depth.kl').map((t) => [t.name, { shape: t.shape, data: withKl.require(t.name, t.shape, 't') }])));
  const p = buildPlan(spec, noKl, { numLayers: 5 }, FP);
  assert.deepEqual(p.dropped_layers, [0]);
  assert.deepEqual(p.layers.map((l) => l.source_index), [1, 2, 3, 4, 5]);
  const d = buildPlan(spec, withKl, { dropLayers: [4, 1] }, FP);
  assert.deepEqual(d.dropped_layers, [1, 4]);
  assert.equal(d.config_changes['hybrid_override_pattern'], 'MM*-');
  assert.equal(d.config_changes['num_hidden_layers'], 4);
});

test('pruning_plan.json has exactly the issue format and round-trips through parsePlan/checkPlan', () => {
  const plan = buildPlan(spec, randomImportance(spec, 5), { hiddenSize: 12, mambaNumHeads: 6, mambaHeadDim: 3, ffnHiddenSize: 20, numAttentionHeads: 2, dropLayers: [2] }, 'abc-def');
  const text = formatPlan(plan);
  const back = parsePlan(text);
  assert.deepEqual(Object.keys(back), ['format', 'source', 'hidden_size', 'layers', 'dropped_layers', 'config_changes']);
  assert.equal(back.format, PLAN_FORMAT);
  assert.equal(back.source, 'abc-def');
  assert.deepEqual(Object.keys(back.layers[0]!), ['source_index', 'kind', 'mamba_heads', 'mamba_head_channels']);
  assert.deepEqual(Object.keys(back.layers[1]!), ['source_index', 'kind', 'mlp_neurons']);
  assert.deepEqual(Object.keys(back.layers.find((l) => l.kind === '*')!), ['source_index', 'kind', 'attention_heads']);
  assert.deepEqual(back.config_changes, {
    hidden_size: 12,
    intermediate_size: 20,
    mamba_num_heads: 6,
    mamba_head_dim: 3,
    num_attention_heads: 2,
    hybrid_override_pattern: 'M-*M-',
    num_hidden_layers: 5,
  });
  assert.deepEqual(planDims(spec, back), { hiddenSize: 12, intermediateSize: 20, mambaNumHeads: 6, mambaHeadDim: 3, numAttentionHeads: 2, keptLayers: [0, 1, 3, 4, 5] });
  checkPlan(spec, back);
});

test('checkPlan rejects inconsistent plans, naming the field', () => {
  const good = buildPlan(spec, randomImportance(spec, 5), { mambaNumHeads: 4 }, FP);
  const bad = (edit: (p: PruningPlan) => void, ...fragments: string[]) => {
    const p = JSON.parse(JSON.stringify(good)) as PruningPlan;
    edit(p);
    assert.throws(
      () => checkPlan(spec, p, 'plan.json'),
      (e: unknown) => e instanceof HybridCompressError && e.code === 'DATA_INVALID' && fragments.every((f) => e.message.includes(f)),
    );
  };
  bad((p) => ((p as { format: string }).format = 'x'), '"format"');
  bad((p) => (p.hidden_size = [0, 0]), '"hidden_size"', 'twice');
  bad((p) => (p.hidden_size = [99]), '"hidden_size"', 'from 0 to');
  bad((p) => (p.layers[0] = { ...p.layers[0]!, kind: '-' } as never), 'kind');
  bad((p) => p.layers.reverse(), 'ascending');
  bad((p) => ((p.layers[0] as { mamba_heads: number[] }).mamba_heads = [0, 1, 4]), 'multiple of n_groups=2');
  bad((p) => ((p.layers[0] as { mamba_heads: number[] }).mamba_heads = [0, 1, 4, 5, 6, 7]), 'same count in every layer');
  bad((p) => (p.dropped_layers = [3]), '"dropped_layers"');
  bad((p) => (p.config_changes = {}), '"config_changes"');
  assert.throws(() => parsePlan('{"format": 1', 'p.json'), /not valid JSON/);
  assert.throws(() => parsePlan('{"format": "x"}', 'p.json'), /"source" is missing/);
});

test('importance problems are typed errors naming the file and tensor', () => {
  const imp = new ImportanceScores('/runs/x/importance.safetensors', { format: 'hybrid-compress/importance@1', fingerprint: 'other' }, new Map([['embedding.channels', { shape: [15], data: new Float32Array(15) }]]));
  assert.throws(
    () => buildPlan(spec, imp, { hiddenSize: 8 }, FP),
    (e: unknown) => e instanceof HybridCompressError && e.code === 'SHAPE_MISMATCH' && e.context.tensor === 'embedding.channels' && /\[15\].*\[16\]/.test(e.message),
  );
  assert.throws(
    () => buildPlan(spec, imp, { ffnHiddenSize: 8 }, FP),
    (e: unknown) => e instanceof HybridCompressError && e.code === 'DATA_INVALID' && e.context.tensor === 'layers.1.mlp.neurons' && e.message.includes('--importance random'),
  );
  const fp = { config: 'c'.repeat(64), tensors: 't'.repeat(64), id: 'cccc-tttt' };
  assert.throws(() => checkImportanceFingerprint(imp, fp, false), (e: unknown) => e instanceof HybridCompressError && e.message.includes('--allow-fingerprint-mismatch'));
  assert.match(checkImportanceFingerprint(imp, fp, true)!, /computed for model other/);
  const noAct = new ImportanceScores('/runs/z/importance.safetensors', {}, new Map(importanceLayout(spec).filter((x) => !x.name.endsWith('.activations')).map((x) => [x.name, { shape: x.shape, data: new Float32Array(x.shape.reduce((a, b) => a * b, 1)).fill(1) }])));
  assert.equal(buildPlan(spec, noAct, { mambaNumHeads: 4 }, FP).layers.length, 6, 'recorded head scores suffice for a head cut');
  assert.throws(
    () => buildPlan(spec, noAct, { mambaNumHeads: 4, mambaHeadDim: 2 }, FP),
    (e: unknown) => e instanceof HybridCompressError && e.context.tensor === 'layers.0.mamba.activations' && /--mamba-num-heads with --mamba-head-dim/.test(e.message),
  );
  const nan = new ImportanceScores('/runs/y/importance.safetensors', {}, new Map([['embedding.channels', { shape: [16], data: Float32Array.from({ length: 16 }, (_, i) => (i === 5 ? NaN : i)) }]]));
  assert.throws(() => buildPlan(spec, nan, { hiddenSize: 8 }, FP), (e: unknown) => e instanceof HybridCompressError && e.code === 'NON_FINITE' && e.context.tensor === 'embedding.channels' && /index 5/.test(e.message));
  const ok = new ImportanceScores('f', { fingerprint: 'cccc-tttt' }, new Map());
  assert.equal(checkImportanceFingerprint(ok, fp, false), undefined);
  assert.equal(checkImportanceFingerprint(randomImportance(spec, 1), fp, false), undefined);
});

test('random importance is deterministic per seed and covers the whole layout', () => {
  const a = randomImportance(spec, 42);
  const b = randomImportance(spec, 42);
  const c = randomImportance(spec, 43);
  const names = importanceLayout(spec).map((t) => t.name);
  assert.deepEqual(a.names(), names);
  assert.ok(names.includes('layers.0.mamba.activations') && names.includes('layers.3.attention.heads') && names.includes('depth.kl'));
  const x = a.require('layers.0.mamba.activations', [8, 4], 't');
  assert.deepEqual(x, b.require('layers.0.mamba.activations', [8, 4], 't'));
  assert.notDeepEqual(x, c.require('layers.0.mamba.activations', [8, 4], 't'));
  assert.notDeepEqual(buildPlan(spec, a, { mambaNumHeads: 4 }, FP).layers, buildPlan(spec, c, { mambaNumHeads: 4 }, FP).layers);
});

test('--prune-axis re-expresses a Mamba cut on heads or on head channels with the same inner size', () => {
  const byChannels = applyPruneAxis(spec, { mambaNumHeads: 4 }, 'channels');
  assert.deepEqual(byChannels.targets, { mambaNumHeads: 8, mambaHeadDim: 2 });
  const byHeads = applyPruneAxis(spec, { mambaHeadDim: 2 }, 'heads');
  assert.deepEqual(byHeads.targets, { mambaNumHeads: 4, mambaHeadDim: 4 });
  assert.match(byHeads.note, /inner size 16 → mamba_num_heads 4 × mamba_head_dim 4 = 16/);
  expectReject(() => applyPruneAxis(spec, { mambaNumHeads: 4, mambaHeadDim: 2 }, 'heads'), 'prune-axis', 'not both');
});
