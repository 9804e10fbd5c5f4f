import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { OUTPUT_MARKER } from '../../src/core/runs/layout';
import { join } from 'node:path';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { HybridCompressError } from '../../src/core/errors';
import { referenceForward } from '../../src/core/model/reference';
import { runForward } from '../../src/core/runtime/index';
import { randomImportance } from '../../src/core/calibrate/importance-file';
import { buildPlan, PLAN_FILE, type PruningPlan } from '../../src/core/prune/plan';
import { parsePlan } from '../../src/core/prune/plan-check';
import { applyPlan } from '../../src/core/prune/apply';
import type { PruneTargets } from '../../src/core/prune/targets';
import { hashDir, maxAbsDiff, readAll, referenceSlice, tempDir } from './helpers';
import { decodeConfigText, type ConfigText } from '../../src/core/arch/config-codec';

const BASE: FixtureOptions = {
  pattern: 'M-M*M-',
  hiddenSize: 24,
  vocabSize: 300,
  mambaHeads: 8,
  mambaHeadDim: 4,
  nGroups: 2,
  stateSize: 8,
  intermediateSize: 40,
  attentionHeads: 4,
  kvHeads: 2,
  attentionHeadDim: 6,
  tokenizer: true,
};
const IDS = [
  [1, 17, 250, 9, 44, 3, 120],
  [5, 6, 7, 8, 9, 10, 11],
];

type T = { after: (fn: () => unknown) => void };

async function opened(t: T, dir: string) {
  const c = await openCheckpoint(dir);
  t.after(() => c.close());
  return c;
}

async function prune(t: T, dir: string, fx: FixtureOptions, targets: PruneTargets, opts: { seed?: number; sort?: boolean; ranking?: 'group' | 'global'; edit?: (w: Map<string, Float32Array>) => void } = {}) {
  const f = await writeFixtureCheckpoint(join(dir, 'src'), fx);
  const src = await opened(t, f.dir);
  const plan = buildPlan(src.spec, randomImportance(src.spec, opts.seed ?? 9), targets, 'fp', { sortByImportance: opts.sort, mambaHeadRanking: opts.ranking });
  const before = hashDir(f.dir);
  const res = await applyPlan(src, plan, { out: join(dir, 'out') });
  assert.equal(hashDir(f.dir), before, 'the source folder is never written');
  const out = await opened(t, res.dir);
  return { f, src, plan, res, out };
}

test('every tensor kind is sliced as the reference slicer says (F32, with all biases), and the pruned model runs', async (t) => {
  const dir = tempDir(t);
  const fx: FixtureOptions = { ...BASE, extraConfig: { use_bias: true, mlp_bias: true, attention_bias: true } };
  const { src, plan, out, res } = await prune(t, dir, fx, { hiddenSize: 20, mambaNumHeads: 4, mambaHeadDim: 3, ffnHiddenSize: 25, numAttentionHeads: 2, dropLayers: [2] });
  const srcW = await readAll(src);
  const expected = referenceSlice(src.spec, srcW, plan);
  const got = await readAll(out);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
  for (const [name, v] of expected) assert.deepEqual(got.get(name), v, name);
  // Every role the spec knows appears: biases of all projections included.
  const leaves = new Set([...got.keys()].map((n) => n.split('.').slice(-2).join('.')));
  for (const l of ['in_proj.bias', 'out_proj.bias', 'conv1d.bias', 'q_proj.bias', 'k_proj.bias', 'o_proj.bias', 'up_proj.bias', 'down_proj.bias', 'mixer.A_log', 'mixer.dt_bias', 'mixer.D']) {
    assert.ok(leaves.has(l), `covers ${l}`);
  }
  assert.equal(res.params, out.spec.params.total);
  // The pruned checkpoint runs, and equals the reference forward on the reference-sliced weights.
  const a = referenceForward(out.spec, got, IDS);
  const b = referenceForward(out.spec, expected, IDS);
  assert.ok(a.logits.every(Number.isFinite));
  assert.equal(maxAbsDiff(a.logits, b.logits), 0);
  // …and the ONNX engine runs the pruned checkpoint from disk to the same logits.
  const engine = await runForward(res.dir, BigInt64Array.from(IDS.flat(), BigInt), IDS.length, IDS[0]!.length, { device: 'cpu' });
  assert.ok(maxAbsDiff(engine.logits, a.logits) < 1e-4, `engine vs reference: ${maxAbsDiff(engine.logits, a.logits)}`);
});

test('B and C rows of in_proj and conv1d are byte-identical to the source; dtypes are kept per tensor (BF16, F16)', async (t) => {
  for (const dtype of ['BF16', 'F16'] as const) {
    const dir = tempDir(t, `dt-${dtype}`);
    const { src, plan, out } = await prune(t, dir, { ...BASE, dtype }, { hiddenSize: 16, mambaNumHeads: 2, mambaHeadDim: 2, ffnHiddenSize: 8 });
    const m = src.spec.mamba!;
    const I = m.innerSize;
    const GN2 = 2 * m.nGroups * m.stateSize;
    for (const [k, e] of plan.layers.entries()) {
      if (e.kind !== 'M') continue;
      const sName = `backbone.layers.${e.source_index}.mixer.in_proj.weight`;
      const oName = `backbone.layers.${k}.mixer.in_proj.weight`;
      const sRow = src.spec.hiddenSize * 2;
      const oRow = 16 * 2;
      const sIn = await src.readBytes(sName);
      const oIn = await out.readBytes(oName);
      const Ik = e.mamba_heads.length * e.mamba_head_channels.length;
      for (let j = 0; j < GN2; j++) {
        // Same row, same kept hidden columns: compare column by column on the raw 2-byte values.
        for (const [c, sc] of plan.hidden_size.entries()) {
          const so = (2 * I + j) * sRow + sc * 2;
          const oo = (2 * Ik + j) * oRow + c * 2;
          assert.equal(oIn[oo]! | (oIn[oo + 1]! << 8), sIn[so]! | (sIn[so + 1]! << 8));
        }
      }
      const sConv = await src.readBytes(`backbone.layers.${e.source_index}.mixer.conv1d.weight`);
      const oConv = await out.readBytes(`backbone.layers.${k}.mixer.conv1d.weight`);
      const K = m.convKernel * 2;
      assert.deepEqual(oConv.subarray(Ik * K, (Ik + GN2) * K), sConv.subarray(I * K, (I + GN2) * K), 'conv B/C channels');
    }
    for (const [name, tns] of out.tensors) {
      const s = src.tensors.get(name.replace(/layers\.(\d+)\./, (_, k) => `layers.${plan.layers[Number(k)]!.source_index}.`))!;
      assert.equal(tns.dtype, s.dtype, `${name} keeps ${s.dtype}`);
    }
    assert.ok(out.tensors.get('backbone.layers.0.mixer.A_log')!.dtype === 'F32' && out.tensors.get('backbone.embeddings.weight')!.dtype === dtype);
    // Values equal the reference slice of the decoded source (decoding is exact for both dtypes).
    const expected = referenceSlice(src.spec, await readAll(src), plan);
    const got = await readAll(out);
    for (const [name, v] of expected) assert.deepEqual(got.get(name), v, name);
  }
});

test('identity property: every target at its source size reproduces the logits (and, in ascending order, the bytes)', async (t) => {
  const dir = tempDir(t);
  const full: PruneTargets = { hiddenSize: 24, mambaNumHeads: 8, mambaHeadDim: 4, ffnHiddenSize: 40, numAttentionHeads: 4, numLayers: 6 };
  const { src, out } = await prune(t, join(dir, 'a'), BASE, full);
  const srcW = await readAll(src);
  const outW = await readAll(out);
  for (const [n, v] of srcW) assert.deepEqual(outW.get(n), v, n);
  const ref = referenceForward(src.spec, srcW, IDS).logits;
  assert.equal(maxAbsDiff(referenceForward(out.spec, outW, IDS).logits, ref), 0);
  // Sorted by importance: heads permuted within groups, channels/neurons/hidden permuted — same function.
  const sorted = await prune(t, join(dir, 'b'), BASE, full, { sort: true, seed: 4 });
  const perm = sorted.plan.layers[0]!;
  assert.ok(perm.kind === 'M' && perm.mamba_heads.some((h, i) => h !== i), 'the plan really permutes heads');
  const pl = referenceForward(sorted.out.spec, await readAll(sorted.out), IDS).logits;
  assert.ok(maxAbsDiff(pl, ref) < 1e-9, `permuted model drifts by ${maxAbsDiff(pl, ref)}`);
});

test('pruned parts that contribute nothing leave the logits unchanged (MLP neurons, attention heads, whole layers)', async (t) => {
  const dir = tempDir(t);
  const f = await writeFixtureCheckpoint(join(dir, 'src0'), BASE);
  const src0 = await opened(t, f.dir);
  const spec = src0.spec;
  const w = await readAll(src0);
  const plan = buildPlan(spec, randomImportance(spec, 21), { ffnHiddenSize: 10, numAttentionHeads: 2, dropLayers: [4] }, 'fp');
  // Silence exactly what the plan removes: dropped neurons' up_proj rows, dropped heads' o_proj columns,
  // the dropped layer's out_proj (its residual branch becomes zero).
  for (const e of plan.layers) {
    const p = `backbone.layers.${e.source_index}.mixer`;
    if (e.kind === '-') {
      const up = w.get(`${p}.up_proj.weight`)!;
      for (let r = 0; r < 40; r++) if (!e.mlp_neurons.includes(r)) up.fill(0, r * 24, (r + 1) * 24);
    } else if (e.kind === '*') {
      const o = w.get(`${p}.o_proj.weight`)!;
      for (let h = 0; h < 4; h++) if (!e.attention_heads.includes(h)) for (let r = 0; r < 24; r++) o.fill(0, r * 24 + h * 6, r * 24 + h * 6 + 6);
    }
  }
  w.get('backbone.layers.4.mixer.out_proj.weight')!.fill(0);
  const { writeCheckpointShards } = await import('../../src/core/safetensors/writer');
  const silenced = join(dir, 'src');
  mkdirSync(silenced);
  writeFileSync(join(silenced, 'config.json'), readFileSync(join(f.dir, 'config.json')));
  await writeCheckpointShards(silenced, [...src0.tensors.values()].map((x) => ({ name: x.name, dtype: 'F32', shape: x.shape, data: new Uint8Array(w.get(x.name)!.buffer) })));
  const src = await opened(t, silenced);
  const res = await applyPlan(src, plan, { out: join(dir, 'out') });
  const out = await opened(t, res.dir);
  const before = referenceForward(spec, w, IDS).logits;
  const after = referenceForward(out.spec, await readAll(out), IDS).logits;
  assert.ok(maxAbsDiff(before, after) < 1e-9, `logits moved by ${maxAbsDiff(before, after)}`);
  // Control: the same plan on the un-silenced model does change the logits.
  const res2 = await applyPlan(src0, plan, { out: join(dir, 'out2') });
  const out2 = await opened(t, res2.dir);
  const ctl = referenceForward(out2.spec, await readAll(out2), IDS).logits;
  assert.ok(maxAbsDiff(referenceForward(spec, await readAll(src0), IDS).logits, ctl) > 1e-3);
});

test('depth pruning renumbers the survivors and rewrites the pattern; config keeps every other key (Infinity included)', async (t) => {
  const dir = tempDir(t);
  const fx: FixtureOptions = { ...BASE, timeStepLimit: [0, Infinity], extraConfig: { custom_key: 'kept', rope_theta: 10000 } };
  const { src, out, res } = await prune(t, dir, fx, { dropLayers: [1, 3] });
  assert.equal(out.spec.pattern, 'MMM-');
  assert.equal(out.config['num_hidden_layers'], 4);
  assert.equal(out.config['custom_key'], 'kept');
  assert.deepEqual(out.config['time_step_limit'], [0, Infinity]);
  // Members the pruner did not change keep their source text exactly (non-finite spelling included).
  const srcText = decodeConfigText(readFileSync(join(src.dir, 'config.json'), 'utf8'));
  const outText = decodeConfigText(readFileSync(join(res.dir, 'config.json'), 'utf8'));
  const raw = (c: ConfigText, k: string) => c.text.slice(...c.spans.get(k)!);
  for (const k of Object.keys(src.config)) if (k !== 'num_hidden_layers' && k !== 'hybrid_override_pattern') assert.equal(raw(outText, k), raw(srcText, k), k);
  assert.match(raw(outText, 'time_step_limit'), /^\[\s*0\.0,\s*\{\s*"__float__": "Infinity"\s*\}\s*\]$/);
  assert.deepEqual(Object.keys(out.config), Object.keys(src.config), 'key order preserved');
  const srcW = await readAll(src);
  const outW = await readAll(out);
  const map = [0, 2, 4, 5];
  for (const [k, s] of map.entries()) {
    for (const leaf of ['norm.weight', s === 5 ? 'mixer.up_proj.weight' : 'mixer.in_proj.weight']) {
      assert.deepEqual(outW.get(`backbone.layers.${k}.${leaf}`), srcW.get(`backbone.layers.${s}.${leaf}`), `layer ${k} ← ${s} ${leaf}`);
    }
  }
  assert.ok(!out.tensors.has('backbone.layers.4.norm.weight'));
  // The dropped model equals the source with those layers skipped.
  const skipped = referenceForward(src.spec, srcW, IDS, { skipLayers: [1, 3] }).logits;
  assert.ok(maxAbsDiff(referenceForward(out.spec, outW, IDS).logits, skipped) < 1e-12);
});

test('layers_block_type configs, mamba2 models and the model. prefix are rewritten in their own keys', async (t) => {
  const dir = tempDir(t);
  const a = await prune(t, join(dir, 'a'), { ...BASE, useLayersBlockType: true, prefix: 'model.' }, { dropLayers: [0], mambaNumHeads: 6 });
  assert.deepEqual(a.out.config['layers_block_type'], ['mlp', 'mamba', 'attention', 'mamba', 'mlp']);
  assert.equal(a.out.config['hybrid_override_pattern'], undefined);
  assert.ok(a.out.tensors.has('model.layers.0.mixer.up_proj.weight'));
  const fx: FixtureOptions = { family: 'mamba2', numLayers: 3, hiddenSize: 24, vocabSize: 300, mambaHeads: 6, mambaHeadDim: 8, nGroups: 2, stateSize: 8 };
  const b = await prune(t, join(dir, 'b'), fx, { hiddenSize: 20, mambaNumHeads: 4, mambaHeadDim: 5, numLayers: 2 });
  assert.equal(b.out.config['num_heads'], 4);
  assert.equal(b.out.config['head_dim'], 5);
  assert.equal(b.out.config['num_hidden_layers'], 2);
  // transformers' Mamba2Config: intermediate = expand × hidden_size, expand an int (written without a point).
  assert.equal(b.out.config['expand'], 1);
  assert.match(readFileSync(join(b.res.dir, 'config.json'), 'utf8'), /"expand": 1,/);
  const expected = referenceSlice(b.src.spec, await readAll(b.src), b.plan);
  const got = await readAll(b.out);
  for (const [name, v] of expected) assert.deepEqual(got.get(name), v, name);
  const ref = referenceForward(b.out.spec, got, IDS).logits;
  assert.ok(ref.every(Number.isFinite));
  const engine = await runForward(b.res.dir, BigInt64Array.from(IDS.flat(), BigInt), IDS.length, IDS[0]!.length, { device: 'cpu' });
  assert.ok(maxAbsDiff(engine.logits, ref) < 1e-4, `engine vs reference: ${maxAbsDiff(engine.logits, ref)}`);
});

test('sharded sources give sharded outputs with a consistent index; side files are copied; plan written', async (t) => {
  const dir = tempDir(t);
  const { res, out, src } = await prune(t, dir, { ...BASE, maxShardBytes: 20_000 }, { hiddenSize: 12, ffnHiddenSize: 20 });
  assert.ok(src.sharded && src.weightFiles.length > 2);
  assert.ok(out.sharded);
  assert.equal(res.files.length, src.weightFiles.length);
  const idx = JSON.parse(readFileSync(join(res.dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  assert.equal(Object.keys(idx.weight_map).length, out.tensors.size);
  assert.equal(idx.metadata.total_size, [...out.tensors.values()].reduce((s, x) => s + x.byteLength, 0));
  assert.deepEqual(res.copiedFiles, ['special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  assert.deepEqual(readFileSync(join(res.dir, 'tokenizer.json')), readFileSync(join(src.dir, 'tokenizer.json')));
  const plan = parsePlan(readFileSync(join(res.dir, PLAN_FILE), 'utf8'));
  assert.equal(plan.hidden_size.length, 12);
  assert.ok(!readdirSync(dir).some((n) => n.includes('.partial-')), 'no temp folder left behind');
});

test('output folder rules: --out must not exist unless --force, never inside or around the source (real paths); --force replaces only this tool\'s output', async (t) => {
  const dir = tempDir(t);
  const f = await writeFixtureCheckpoint(join(dir, 'src'), BASE);
  const src = await opened(t, f.dir);
  const plan = buildPlan(src.spec, randomImportance(src.spec, 1), { hiddenSize: 20 }, 'fp');
  const outDir = join(dir, 'out');
  mkdirSync(outDir);
  writeFileSync(join(outDir, 'old.txt'), 'x');
  const optionError = (option: string, frag: string) => (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && e.context.option === option && e.message.includes(frag);
  await assert.rejects(applyPlan(src, plan, { out: outDir }), optionError('out', '--force'));
  // --force never deletes a folder this tool did not write.
  await assert.rejects(applyPlan(src, plan, { out: outDir, force: true }), optionError('out', 'not a checkpoint this tool wrote'));
  assert.ok(existsSync(join(outDir, 'old.txt')));
  await assert.rejects(applyPlan(src, plan, { out: join(f.dir, 'inner') }), optionError('out', 'inside the source'));
  await assert.rejects(applyPlan(src, plan, { out: f.dir, force: true }), optionError('out', 'the source'));
  await assert.rejects(applyPlan(src, plan, { out: dir, force: true }), optionError('out', 'contains the source'));
  // Through a symbolic link the source is still the source.
  symlinkSync(f.dir, join(dir, 'link'));
  await assert.rejects(applyPlan(src, plan, { out: join(dir, 'link'), force: true }), optionError('out', 'through a symbolic link'));
  await assert.rejects(applyPlan(src, plan, { out: join(dir, 'link', 'model.safetensors'), force: true }), optionError('out', 'inside the source'));
  const before = hashDir(f.dir);
  const fresh = join(dir, 'pruned');
  const res = await applyPlan(src, plan, { out: fresh });
  assert.ok(existsSync(join(fresh, OUTPUT_MARKER)) && res.params > 0);
  // A second run over its own output needs --force, and then replaces it.
  await assert.rejects(applyPlan(src, plan, { out: fresh }), optionError('out', '--force'));
  await applyPlan(src, plan, { out: fresh, force: true });
  assert.equal(hashDir(f.dir), before);
  // A cancelled run leaves neither the output nor its temp folder.
  const ac = new AbortController();
  ac.abort(new HybridCompressError('CANCELLED', 'stop'));
  await assert.rejects(applyPlan(src, plan, { out: join(dir, 'out3'), signal: ac.signal }), /stop/);
  assert.ok(!existsSync(join(dir, 'out3')));
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), []);
  // A plan for another layer layout is refused before writing.
  const bad = JSON.parse(JSON.stringify(plan)) as PruningPlan;
  bad.hidden_size = [0, 0];
  await assert.rejects(applyPlan(src, bad, { out: join(dir, 'out4') }), /twice/);
  assert.ok(!existsSync(join(dir, 'out4')));
});

test('MoE (E) layers are carried over unchanged (renumbered) while other axes are pruned', async (t) => {
  const dir = tempDir(t);
  const fx: FixtureOptions = { pattern: 'ME-M', hiddenSize: 16, vocabSize: 64, mambaHeads: 4, mambaHeadDim: 4, nGroups: 2, stateSize: 4, intermediateSize: 24, extraConfig: { n_routed_experts: 2, num_experts_per_tok: 1, moe_intermediate_size: 8, moe_shared_expert_intermediate_size: 8 } };
  const { src, out } = await prune(t, dir, fx, { mambaNumHeads: 2, ffnHiddenSize: 12, dropLayers: [0] });
  assert.equal(out.spec.pattern, 'E-M');
  const moe = [...src.tensors.keys()].filter((n) => n.startsWith('backbone.layers.1.mixer.'));
  assert.ok(moe.length > 4);
  for (const n of moe) assert.deepEqual(await out.readBytes(n.replace('layers.1.', 'layers.0.')), await src.readBytes(n), n);
});
