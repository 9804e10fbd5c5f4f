import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSpec } from '../../src/core/arch/index';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { checkpointFingerprint } from '../../src/core/checkpoint/fingerprint';
import { HybridCompressError } from '../../src/core/errors';
import { referenceForward } from '../../src/core/model/reference';
import { writeSafetensors } from '../../src/core/safetensors/writer';
import { fixtureConfig, writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { NEMOTRON_H_4B_PARAMS, NEMOTRON_H_8B, PAPER_TABLE_1 } from '../../src/core/testing/nemotron-h-8b';
import { importanceLayout, randomImportance } from '../../src/core/calibrate/importance-file';
import type { PipelineContext, PruneJobParams } from '../../src/core/prune/job-params';
import { validatePruneParams, validateSearchParams } from '../../src/core/prune/settings';
import { lmLoss } from '../../src/core/prune/evaluate';
import { countPrunedParams } from '../../src/core/prune/param-count';
import { prunedParams, sourceDims } from '../../src/core/prune/config';
import { runPrune } from '../../src/core/prune/prune-job';
import { runSearch } from '../../src/core/prune/search-job';
import { KD_NEEDS_DATA } from '../../src/core/prune/job-params';
import { rankCandidates, type ScoredCandidate } from '../../src/core/prune/search';
import { axisChoices, enumerateCandidates, formatWidthLimits, PAPER_DEPTH_LIMIT, PAPER_WIDTH_LIMITS, parseGridSteps, parseWidthLimits, SEARCH_TOLERANCE, searchGrid } from '../../src/core/prune/search-space';
import { buildPlan, planDims } from '../../src/core/prune/plan';
import { checkTargets } from '../../src/core/prune/targets';
import { modelOptExportConfig } from '../../src/core/prune/modelopt';
import { Rng } from '../../src/core/util/random';
import { readAll, tempDir } from './helpers';

const FX: FixtureOptions = { pattern: 'M-M*M-', hiddenSize: 32, vocabSize: 300, mambaHeads: 8, mambaHeadDim: 4, nGroups: 2, stateSize: 8, intermediateSize: 48, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 8, tokenizer: true };

function ctx(): PipelineContext & { logs: string[]; phases: Set<string> } {
  const logs: string[] = [];
  const phases = new Set<string>();
  return { signal: new AbortController().signal, progress: (p) => phases.add(p.phase), log: (t) => logs.push(t), logs, phases };
}

test('closed-form parameter count equals the spec-based count on random dims of both families', () => {
  const specs = [
    buildSpec(fixtureConfig(FX)),
    buildSpec(fixtureConfig({ ...FX, extraConfig: { use_bias: true, mlp_bias: true, attention_bias: true, use_conv_bias: false } })),
    buildSpec(fixtureConfig({ ...FX, tieEmbeddings: true })),
    buildSpec(fixtureConfig({ family: 'mamba2', numLayers: 3, hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2 })),
    buildSpec(fixtureConfig(NEMOTRON_H_8B)),
  ];
  const rng = new Rng(5);
  for (const spec of specs) {
    for (let i = 0; i < 25; i++) {
      const base = sourceDims(spec);
      const G = spec.mamba?.nGroups ?? 1;
      const d = {
        hiddenSize: 1 + rng.int(spec.hiddenSize),
        intermediateSize: spec.mlp ? 1 + rng.int(spec.mlp.intermediateSize) : undefined,
        mambaNumHeads: spec.mamba ? G * (1 + rng.int(spec.mamba.numHeads / G)) : undefined,
        mambaHeadDim: spec.mamba ? 1 + rng.int(spec.mamba.headDim) : undefined,
        numAttentionHeads: spec.attention ? spec.attention.numKvHeads * (1 + rng.int(spec.attention.numHeads / spec.attention.numKvHeads)) : undefined,
        keptLayers: base.keptLayers.filter(() => rng.next() < 0.8),
      };
      if (d.keptLayers.length === 0) d.keptLayers = [0];
      if (spec.family === 'mamba2') {
        // Only inner sizes that are whole multiples of hidden_size are expressible (integer expand).
        const inner = d.mambaNumHeads! * d.mambaHeadDim!;
        const divisors = Array.from({ length: Math.min(inner, spec.hiddenSize) }, (_, k) => k + 1).filter((x) => inner % x === 0);
        d.hiddenSize = divisors[rng.int(divisors.length)]!;
      }
      assert.equal(countPrunedParams(spec, d), prunedParams(spec, d), JSON.stringify(d));
    }
  }
});

test('search grid at 8B: the paper\'s ranges on Table 1\'s granularity by default; ModelOpt\'s 40 %/20 % grid on 256/512/8/2 lacks the paper\'s 4B', () => {
  const spec = buildSpec(fixtureConfig(NEMOTRON_H_8B));
  const g = searchGrid(spec, { widthLimits: PAPER_WIDTH_LIMITS, depthLimit: PAPER_DEPTH_LIMIT });
  assert.deepEqual(g.hiddenSize, [4096, 3840, 3584, 3328, 3072]);
  assert.equal(g.ffnHiddenSize![0], 21504);
  assert.equal(g.ffnHiddenSize!.at(-1), 9984);
  assert.equal(g.ffnHiddenSize!.length, 91);
  assert.ok(g.ffnHiddenSize!.slice(1).every((f) => f % 128 === 0));
  assert.deepEqual(g.mambaNumHeads, [128, 120, 112, 104, 96, 88, 80, 72, 64]);
  assert.deepEqual(g.mambaHeadDim, Array.from({ length: 33 }, (_, i) => 64 - i));
  assert.deepEqual(g.numAttentionHeads, [32], 'attention is not pruned (the paper)');
  assert.deepEqual(g.numLayers, Array.from({ length: 27 }, (_, i) => 52 - i));
  assert.deepEqual(axisChoices(100, 30, 0.5), [100, 90, 60]);
  // ModelOpt's NAS grid: the FFN floor is 13312, so Nemotron-H-4B (FFN 12288) is not a candidate.
  const modelopt = { widthLimits: parseWidthLimits('0.4'), depthLimit: 0.2, steps: parseGridSteps('hidden-size=256,ffn-hidden-size=512,mamba-head-dim=8,num-layers=2') };
  const mg = searchGrid(spec, modelopt);
  assert.deepEqual(mg.hiddenSize, [4096, 3840, 3584, 3328, 3072, 2816, 2560]);
  assert.equal(mg.ffnHiddenSize!.at(-1), 13312);
  assert.deepEqual(mg.mambaHeadDim, [64, 56, 48, 40]);
  assert.deepEqual(mg.numLayers, [52, 50, 48, 46, 44, 42]);
  assert.deepEqual(mg.numAttentionHeads, [32, 24], 'one width limit for every axis, as ModelOpt');
  const scores = randomImportance(spec, 1);
  const has4b = (e: { candidates: { params: number; dims: { hiddenSize: number; intermediateSize?: number; mambaNumHeads?: number; mambaHeadDim?: number; keptLayers: number[] } }[] }) =>
    e.candidates.some((c) => c.params === NEMOTRON_H_4B_PARAMS && c.dims.hiddenSize === 3072 && c.dims.intermediateSize === 12288 && c.dims.mambaNumHeads === 112 && c.dims.mambaHeadDim === 64 && c.dims.keptLayers.length === 52);
  assert.ok(!has4b(enumerateCandidates(spec, scores, { ...modelopt, targetParams: NEMOTRON_H_4B_PARAMS, tolerance: 0.05 })));
  const paper = enumerateCandidates(spec, scores, { targetParams: NEMOTRON_H_4B_PARAMS, tolerance: SEARCH_TOLERANCE, widthLimits: PAPER_WIDTH_LIMITS, depthLimit: PAPER_DEPTH_LIMIT });
  assert.ok(has4b(paper));
  assert.equal(paper.candidates[0]!.params, NEMOTRON_H_4B_PARAMS, 'closest to the budget first');
  assert.ok(paper.candidates.every((c) => Math.abs(c.params - NEMOTRON_H_4B_PARAMS) <= 0.05 * NEMOTRON_H_4B_PARAMS));
});

test('every configuration of the paper\'s Table 1 is on the default 8B grid, and its 4B candidates (#1–#24) are within ±5 % of Nemotron-H-4B', () => {
  const spec = buildSpec(fixtureConfig(NEMOTRON_H_8B));
  const bounds = { targetParams: NEMOTRON_H_4B_PARAMS, tolerance: SEARCH_TOLERANCE, widthLimits: PAPER_WIDTH_LIMITS, depthLimit: PAPER_DEPTH_LIMIT };
  const key = (L: number, h: number, f: number, mh: number, md: number) => `${L}/${h}/${f}/${mh}/${md}`;
  for (const seed of [1, 2]) {
    // The layers a depth candidate keeps follow the layer scores; any ranking must keep Table 1 reachable.
    const e = enumerateCandidates(spec, randomImportance(spec, seed), bounds);
    const found = new Set(e.candidates.map((c) => key(c.dims.keptLayers.length, c.dims.hiddenSize, c.dims.intermediateSize!, c.dims.mambaNumHeads!, c.dims.mambaHeadDim!)));
    PAPER_TABLE_1.forEach(([L, h, f, mh, md], i) => {
      const on = (axis: number[] | undefined, v: number) => axis!.includes(v);
      assert.ok(on(e.grid.numLayers, L) && on(e.grid.hiddenSize, h) && on(e.grid.ffnHiddenSize, f) && on(e.grid.mambaNumHeads, mh) && on(e.grid.mambaHeadDim, md), `Table 1 #${i + 1} on the grid`);
      // #25 is the paper's "more than 4B" depth-only model: on the grid, outside the budget.
      assert.equal(found.has(key(L, h, f, mh, md)), i < 24, `Table 1 #${i + 1} ${i < 24 ? 'is' : 'is not'} a candidate (seed ${seed})`);
    });
  }
});

test('search candidates are legal targets whose closed-form count is the pruned model\'s (Nemotron-H with attention, Mamba2 with integer expand)', () => {
  const specs = [buildSpec(fixtureConfig(FX)), buildSpec(fixtureConfig({ family: 'mamba2', numLayers: 3, hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2 }))];
  for (const spec of specs) {
    const scores = randomImportance(spec, 3);
    const e = enumerateCandidates(spec, scores, { targetParams: spec.params.total * 0.7, tolerance: 0.2, widthLimits: parseWidthLimits('0.6'), depthLimit: 0.5 });
    assert.ok(e.candidates.length > 5, `${spec.family}: ${e.candidates.length} candidates`);
    if (spec.attention) assert.ok(e.grid.numAttentionHeads!.every((h) => h % spec.attention!.numKvHeads === 0) && e.grid.numAttentionHeads!.length > 1);
    assert.ok(e.grid.mambaNumHeads!.every((h) => h % spec.mamba!.nGroups === 0));
    for (const c of e.candidates) {
      checkTargets(spec, c.targets);
      assert.equal(c.params, prunedParams(spec, planDims(spec, buildPlan(spec, scores, c.targets, 'fp'))), JSON.stringify(c.targets));
    }
  }
  assert.throws(() => parseWidthLimits('hidden-size=25%,ffn=10%'), /unknown axis "ffn"/);
  assert.throws(() => parseWidthLimits('hidden-size=1'), /from 0 up to \(not including\) 1/);
  assert.throws(() => parseGridSteps('mamba-num-heads=0'), /integer ≥ 1/);
  assert.throws(() => searchGrid(specs[0]!, { widthLimits: PAPER_WIDTH_LIMITS, depthLimit: 0, steps: parseGridSteps('mamba-num-heads=3') }), /--grid-steps mamba-num-heads=3: must be a multiple of n_groups=2/);
  assert.deepEqual(parseWidthLimits('0.4,num-attention-heads=0'), { hiddenSize: 0.4, ffnHiddenSize: 0.4, mambaNumHeads: 0.4, mambaHeadDim: 0.4, numAttentionHeads: 0 });
  assert.equal(formatWidthLimits(PAPER_WIDTH_LIMITS), 'hidden-size=25%,ffn-hidden-size=54%,mamba-num-heads=50%,mamba-head-dim=50%,num-attention-heads=0%');
  assert.deepEqual(parseWidthLimits(formatWidthLimits(PAPER_WIDTH_LIMITS)), PAPER_WIDTH_LIMITS);
});

test('candidates are ranked by loss; losses equal to 3 decimals are broken by tokens/s', () => {
  const c = (id: number, loss: number | null, tps: number): ScoredCandidate => ({ id, loss, tokensPerS: tps, rank: null, params: 0, targets: {}, dims: { hiddenSize: 1, keptLayers: [] } });
  const ranked = rankCandidates([c(1, 1.3804, 100), c(2, 1.3801, 300), c(3, 1.2, 10), c(4, null, 999), c(5, 2, 1)]);
  assert.deepEqual(ranked.map((x) => [x.id, x.rank]), [[3, 1], [2, 2], [1, 3], [5, 4], [4, null]]);
});

test('lmLoss is the mean next-token cross-entropy', () => {
  // Uniform logits over V give log V; a peaked correct logit gives about 0.
  assert.ok(Math.abs(lmLoss(new Float64Array(2 * 3 * 5), [[0, 1, 2], [3, 4, 0]], 5) - Math.log(5)) < 1e-12);
  const logits = new Float64Array(3 * 4);
  logits[0 * 4 + 2] = 50;
  logits[1 * 4 + 3] = 50;
  assert.ok(lmLoss(logits, [[0, 2, 3]], 4) < 1e-12);
});

test('runPrune: plan, write, verify (zero-shot loss before/after equals the reference forward), report', async (t) => {
  const dir = tempDir(t);
  const f = await writeFixtureCheckpoint(join(dir, 'src'), FX);
  const c = ctx();
  const params = validatePruneParams({ model: f.dir, importance: 'random', seed: 3, out: join(dir, 'out'), targets: { hiddenSize: 24, mambaNumHeads: 6, ffnHiddenSize: 30 }, emitModelOptConfig: true, rows: 2, seqLen: 16, device: 'cpu' });
  const r = await runPrune(params, c);
  assert.deepEqual([...c.phases].sort(), ['fingerprint', 'verify', 'write']);
  assert.equal(r.pruned.hidden_size, 24);
  assert.equal(r.pruned.mamba_num_heads, 6);
  assert.equal(r.source.params, f.spec.params.total);
  const out = await openCheckpoint(join(dir, 'out'));
  t.after(() => out.close());
  assert.equal(r.pruned.params, out.spec.params.total);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'out', 'modelopt_export_config.json'), 'utf8')), { hidden_size: 24, ffn_hidden_size: 30, num_attention_heads: 4, mamba_num_heads: 6, mamba_head_dim: 4, num_layers: 6 });
  const v = r.verification!;
  assert.ok(!('skipped' in v));
  // Independent recomputation of the "after" loss with the same random rows (seed 3).
  const rng = new Rng(3);
  const ids = Array.from({ length: 2 }, () => Array.from({ length: 16 }, () => rng.int(300)));
  const expected = lmLoss(referenceForward(out.spec, await readAll(out), ids).logits, ids, 300);
  assert.match(v.engine, /^onnxruntime \(cpu\)$/);
  assert.ok(Math.abs(v.loss_after - expected) < 1e-4, `engine loss ${v.loss_after} vs reference ${expected}`);
  assert.ok(Number.isFinite(v.loss_before) && v.loss_before !== v.loss_after);
});

test('runPrune: --plan reproduces a saved plan exactly; --dry-run writes nothing; --target-params picks a legal cut', async (t) => {
  const dir = tempDir(t);
  const f = await writeFixtureCheckpoint(join(dir, 'src'), FX);
  const base: PruneJobParams = { model: f.dir, importance: 'random', seed: 8, targets: { hiddenSize: 20, mambaHeadDim: 3, numLayers: 5 }, verify: false, out: join(dir, 'a') };
  await runPrune(base, ctx());
  const again = await runPrune({ ...base, importance: 'random', seed: undefined, targets: {}, plan: join(dir, 'a', 'pruning_plan.json'), out: join(dir, 'b') }, ctx());
  assert.equal(again.importance, `plan ${join(dir, 'a', 'pruning_plan.json')}`);
  const a = await openCheckpoint(join(dir, 'a'));
  const b = await openCheckpoint(join(dir, 'b'));
  t.after(() => Promise.all([a.close(), b.close()]));
  assert.deepEqual(await readAll(b), await readAll(a));
  await assert.rejects(runPrune({ ...base, plan: join(dir, 'a', 'pruning_plan.json'), out: join(dir, 'c') }, ctx()), /--plan applies a saved plan as it is; drop --hidden-size, --mamba-head-dim, --num-layers/);
  // A plan made for another model is refused unless overridden.
  const other = await writeFixtureCheckpoint(join(dir, 'other'), { ...FX, seed: 99 });
  await assert.rejects(runPrune({ ...base, model: other.dir, targets: {}, plan: join(dir, 'a', 'pruning_plan.json'), out: join(dir, 'd') }, ctx()), /was made for model .* --allow-fingerprint-mismatch/);

  const dry = await runPrune({ ...base, dryRun: true, out: join(dir, 'dry') }, ctx());
  assert.ok(!existsSync(join(dir, 'dry')) && dry.output === undefined && dry.pruned.num_layers === 5);

  // --target-params alone: the search's winner on the same rows, and the report says so.
  const target = Math.round(f.spec.params.total * 0.7);
  const budget = { targetParams: String(target), maxCandidates: 6, rows: 2, seqLen: 12, device: 'cpu' as const };
  const auto = await runPrune({ ...base, ...budget, targets: {}, dryRun: true }, ctx());
  assert.ok(Math.abs(auto.pruned.params - target) <= 0.05 * target, `${auto.pruned.params} near ${target}`);
  assert.match(auto.notes.join('\n'), /pruned to the search's winner, #\d+ of \d+ candidates .* ranked by zero-shot loss .*zero-shot only \(--kd-steps N adds/);
  const searched = await runSearch({ model: f.dir, importance: 'random', seed: 8, ...budget }, ctx());
  assert.equal(auto.search?.ranking, 'zero-shot loss');
  assert.equal(auto.search?.scored, 6);
  const { tokens_per_s: _a, ...won } = auto.search!.winner;
  const { tokens_per_s: _b, ...best } = searched.winner!;
  assert.deepEqual(won, best, 'the same winner, with the same loss (tokens/s is measured anew)');
  assert.deepEqual([auto.pruned.params, auto.pruned.hidden_size, auto.pruned.num_layers], [searched.winner!['params'], searched.winner!['hidden_size'], searched.winner!['num_layers']]);
  assert.ok(auto.search!.runners_up.every((c) => (c['loss'] as number) >= (searched.winner!['loss'] as number) - 1e-3));
  await assert.rejects(runPrune({ ...base, targetParams: '10%', dryRun: true }, ctx()), /more than 5\.0% away/);
  await assert.rejects(runPrune({ ...base, targets: {}, targetParams: '10%', dryRun: true }, ctx()), /none of the [\d,]+ grid candidates lies within 5\.0% .* \(the grid spans [\d,]+ … [\d,]+ with --max-width-pruning hidden-size=25%/);
});

test('runPrune with an importance file: run folder or file, fingerprint checked (with override), bad files rejected', async (t) => {
  const dir = tempDir(t);
  const f = await writeFixtureCheckpoint(join(dir, 'src'), FX);
  const ck = await openCheckpoint(f.dir);
  const fp = await checkpointFingerprint(ck);
  await ck.close();
  const rnd = randomImportance(f.spec, 4);
  const write = async (path: string, fingerprint: string) =>
    writeSafetensors(
      path,
      importanceLayout(f.spec).map(({ name, shape }) => ({ name, dtype: 'F32', shape, data: new Uint8Array(rnd.require(name, shape, 't').slice().buffer) })),
      { metadata: { format: 'hybrid-compress/importance@1', fingerprint } },
    );
  await write(join(dir, 'run', 'importance.safetensors'), fp.id);
  await write(join(dir, 'stale.safetensors'), 'someone-else');
  const base: PruneJobParams = { model: f.dir, importance: join(dir, 'run'), targets: { mambaNumHeads: 4 }, verify: false, dryRun: true };
  const r = await runPrune(base, ctx());
  assert.equal(r.importance, join(dir, 'run', 'importance.safetensors'));
  await assert.rejects(runPrune({ ...base, importance: join(dir, 'stale.safetensors') }, ctx()), /computed for model someone-else/);
  const forced = await runPrune({ ...base, importance: join(dir, 'stale.safetensors'), allowFingerprintMismatch: true }, ctx());
  assert.match(forced.notes[0]!, /someone-else/);
  writeFileSync(join(dir, 'junk.safetensors'), Buffer.alloc(4));
  await assert.rejects(runPrune({ ...base, importance: join(dir, 'junk.safetensors') }, ctx()), (e: unknown) => e instanceof HybridCompressError);
  await assert.rejects(runPrune({ ...base, importance: join(dir, 'missing') }, ctx()), /does not exist/);
});

test('runSearch: candidates within tolerance scored and ranked, search.json written, winner pruned; --kd-steps without data is refused', async (t) => {
  const dir = tempDir(t);
  const f = await writeFixtureCheckpoint(join(dir, 'src'), FX);
  const c = ctx();
  const target = Math.round(f.spec.params.total * 0.75);
  const r = await runSearch(validateSearchParams({ model: f.dir, importance: 'random', seed: 2, targetParams: String(target), maxCandidates: 4, rows: 2, seqLen: 12, device: 'cpu', report: join(dir, 'search.json'), out: join(dir, 'best') }), c);
  assert.equal(r.scored, 4);
  assert.ok(r.within_tolerance >= 4);
  const scored = r.candidates.filter((x) => x['rank'] !== null);
  assert.deepEqual(scored.map((x) => x['rank']), [1, 2, 3, 4]);
  for (let i = 1; i < scored.length; i++) assert.ok(Number((scored[i - 1]!['loss'] as number).toFixed(3)) <= Number((scored[i]!['loss'] as number).toFixed(3)));
  for (const x of r.candidates) assert.ok(Math.abs((x['params'] as number) - target) <= 0.05 * target);
  const file = JSON.parse(readFileSync(join(dir, 'search.json'), 'utf8'));
  assert.equal(file.format, 'hybrid-compress/search@1');
  assert.deepEqual(Object.keys(file.grid), ['hidden_size', 'ffn_hidden_size', 'mamba_num_heads', 'mamba_head_dim', 'num_attention_heads', 'num_layers']);
  assert.ok(existsSync(join(dir, 'best', 'search.json')));
  const best = await openCheckpoint(join(dir, 'best'));
  t.after(() => best.close());
  assert.equal(best.spec.params.total, r.winner!['params']);
  assert.equal(best.spec.hiddenSize, r.winner!['hidden_size']);
  assert.equal(r.kd, null);
  await assert.rejects(runSearch({ model: f.dir, importance: 'random', targetParams: '70%', kdSteps: 100 }, ctx()), (e: unknown) => e instanceof HybridCompressError && e.message === KD_NEEDS_DATA && e.context.option === 'data');
  await assert.rejects(runSearch(validateSearchParams({ model: f.dir, importance: 'random', targetParams: '20%', tolerance: 0.001 }), ctx()), /none of the .* grid candidates/);
});

test('job parameters are validated field by field', () => {
  assert.throws(() => validatePruneParams(null), /"params" must be an object/);
  assert.throws(() => validatePruneParams({ model: '/m', importance: 'random', targets: {} }), /"out" is required/);
  assert.throws(() => validatePruneParams({ model: '/m', importance: 'random', targets: { hiddenSize: 'x' }, out: '/o' }), /targets: "hiddenSize" must be an integer ≥ 1, got "x"/);
  assert.throws(() => validatePruneParams({ model: '/m', importance: 'random', targets: {}, out: '/o', metric: 'l2' }), /"metric" must be one of activation\|flap/);
  assert.throws(() => validateSearchParams({ model: '/m', importance: 'random' }), /"targetParams" must be a non-empty string/);
  assert.throws(() => validateSearchParams({ model: '/m', importance: 'random', targetParams: '1e6', tolerance: 2 }), /"tolerance" must be a fraction like 0\.05 or 5%, between 0 and 1, got 2/);
});

test('ModelOpt export_config names every axis of the model, in ModelOpt hparam order', () => {
  const spec = buildSpec(fixtureConfig(NEMOTRON_H_8B));
  const cfg = modelOptExportConfig(spec, { ...sourceDims(spec), hiddenSize: 3072, intermediateSize: 12288, mambaNumHeads: 112 });
  assert.equal(JSON.stringify(cfg), JSON.stringify({ hidden_size: 3072, ffn_hidden_size: 12288, num_attention_heads: 32, mamba_num_heads: 112, mamba_head_dim: 64, num_layers: 52 }));
  const m2 = buildSpec(fixtureConfig({ family: 'mamba2', numLayers: 3 }));
  assert.deepEqual(Object.keys(modelOptExportConfig(m2, sourceDims(m2))), ['hidden_size', 'mamba_num_heads', 'mamba_head_dim', 'num_layers']);
});

test('a real calibrate run feeds prune: every name and shape it writes is accepted; its scores decide the cut', async (t) => {
  const dir = tempDir(t);
  const f = await writeFixtureCheckpoint(join(dir, 'src'), { ...FX, chunkSize: 16 });
  const data = join(dir, 'train.txt');
  writeFileSync(data, Array.from({ length: 40 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog ${i * 7}`).join('\n') + '\n');
  const { runCalibration, CALIBRATION_DEFAULTS } = await import('../../src/core/calibrate/calibrate');
  const run = join(dir, 'run');
  await runCalibration({ ...CALIBRATION_DEFAULTS, model: f.dir, data, samples: 4, seqLen: 24, batch: 2, depth: 'kl', depthSamples: 2, device: 'cpu', mode: 'whole' }, run, 'k');
  const { loadImportance } = await import('../../src/core/calibrate/importance-file');
  const scores = await loadImportance(run);
  for (const { name, shape } of importanceLayout(f.spec)) assert.deepEqual(scores.require(name, shape, 'test').length, shape.reduce((a, b) => a * b, 1), name);
  const base: PruneJobParams = { model: f.dir, importance: run, targets: { hiddenSize: 20, mambaNumHeads: 4, mambaHeadDim: 3, ffnHiddenSize: 24, numAttentionHeads: 2, numLayers: 5 }, out: join(dir, 'out'), data, rows: 2, seqLen: 24, device: 'cpu' };
  const r = await runPrune(base, ctx());
  assert.equal(r.importance, join(run, 'importance.safetensors'));
  const v = r.verification!;
  assert.ok(!('skipped' in v) && v.data === data && Number.isFinite(v.loss_after));
  const plan = JSON.parse(readFileSync(join(dir, 'out', 'pruning_plan.json'), 'utf8')) as { hidden_size: number[]; dropped_layers: number[] };
  const emb = scores.require('embedding.channels', [32], 't');
  const best = [...emb.keys()].sort((a, b) => emb[b]! - emb[a]! || a - b).slice(0, 20).sort((a, b) => a - b);
  assert.deepEqual(plan.hidden_size, best);
  const kl = scores.require('depth.kl', [6], 't');
  assert.deepEqual(plan.dropped_layers, [[...kl.keys()].sort((a, b) => kl[a]! - kl[b]! || b - a)[0]]);
  await runPrune({ ...base, metric: 'flap', out: join(dir, 'flap'), verify: false }, ctx());
});
