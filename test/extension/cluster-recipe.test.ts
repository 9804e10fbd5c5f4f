// "Distill on cluster…" view-model: the parallel sizes offered must be exactly those the recipe generator
// accepts (checked against planMegatronRecipe itself, not a copy of its rules), plus input parsing and
// the Runs tree's handling of recipe runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { HybridCompressError } from '../../src/core/errors';
import { loadRecipeData } from '../../src/core/recipes/data';
import { planMegatronRecipe, type MegatronRecipeOptions } from '../../src/core/recipes/megatron';
import { checkDataPrefixes, checkSteps, describeTokens, legalGlobalBatch, parseLayout, pipelineParallelChoices, recipeDefaults, tensorParallelChoices } from '../../src/extension/viewmodel/cluster-recipe';
import { curvesPathOf, keyFigure } from '../../src/extension/viewmodel/run-summary';
import { taskToJob } from '../../src/extension/viewmodel/task-params';
import { recipeOptionsFrom } from '../../src/core/recipes/settings';

/** The option planMegatronRecipe names when it refuses, or undefined when it accepts. */
function refusal(o: MegatronRecipeOptions): string | undefined {
  try {
    planMegatronRecipe(o, loadRecipeData());
    return undefined;
  } catch (e) {
    assert.ok(e instanceof HybridCompressError, String(e));
    return String(e.context.option);
  }
}

test('TP and PP choices are exactly the sizes the recipe generator accepts', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'hc-cluster-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // Teacher: 12 Mamba heads in 6 groups, 6 attention heads over 3 KV heads, FFN 36 → common divisors 1, 3 (and 2 fails on KV heads 3).
  const teacher = await writeFixtureCheckpoint(join(root, 't'), { pattern: 'M-M*-M', hiddenSize: 24, mambaHeads: 12, mambaHeadDim: 4, nGroups: 6, attentionHeads: 6, kvHeads: 3, intermediateSize: 36, sparse: true });
  const student = await writeFixtureCheckpoint(join(root, 's'), { pattern: 'M-M*-M', hiddenSize: 24, mambaHeads: 6, mambaHeadDim: 4, nGroups: 6, attentionHeads: 6, kvHeads: 3, intermediateSize: 18, sparse: true });
  const specs = [teacher.spec, student.spec];
  for (const gpusPerNode of [1, 4, 6, 8]) {
    const tps = tensorParallelChoices(specs, gpusPerNode);
    for (let tp = 1; tp <= gpusPerNode + 1; tp++) {
      const o: MegatronRecipeOptions = { teacher: teacher.dir, student: student.dir, data: [], mockData: true, out: join(root, 'r'), steps: 100, gpusPerNode, tp, globalBatch: 8 * gpusPerNode };
      const why = refusal(o);
      assert.equal(tps.includes(tp), why === undefined, `gpus/node ${gpusPerNode}, TP ${tp}: offered ${tps.join(',')}, generator says ${why ?? 'ok'}`);
    }
  }
  assert.deepEqual(tensorParallelChoices(specs, 6), [1, 3]);
  for (const [nodes, gpusPerNode, tp] of [[1, 6, 3], [2, 6, 1], [3, 4, 1]] as const) {
    const world = nodes * gpusPerNode;
    const pps = pipelineParallelChoices(world, tp, specs);
    for (let pp = 1; pp <= 8; pp++) {
      const dp = world % (tp * pp) === 0 ? world / (tp * pp) : 1;
      const why = refusal({ teacher: teacher.dir, student: student.dir, data: [], mockData: true, out: join(root, 'r'), steps: 100, nodes, gpusPerNode, tp, pp, globalBatch: legalGlobalBatch(96, 1, dp) });
      assert.equal(pps.includes(pp), why === undefined, `${nodes}×${gpusPerNode} TP ${tp} PP ${pp}: offered ${pps.join(',')}, generator says ${why ?? 'ok'}`);
    }
  }
});

test('layout, global batch, steps and data prefixes: parsed and checked while typing', () => {
  assert.deepEqual(parseLayout('2x8'), { nodes: 2, gpusPerNode: 8 });
  assert.deepEqual(parseLayout(' 4 × 4 '), { nodes: 4, gpusPerNode: 4 });
  assert.deepEqual(parseLayout('8'), { nodes: 1, gpusPerNode: 8 });
  assert.equal(typeof parseLayout('0x8'), 'string');
  assert.equal(typeof parseLayout('two nodes'), 'string');
  // Nearest multiple of micro batch × DP; the default itself when already legal.
  assert.equal(legalGlobalBatch(768, 1, 8), 768);
  assert.equal(legalGlobalBatch(768, 1, 10), 770);
  assert.equal(legalGlobalBatch(4, 2, 3), 6);
  for (const [gbs, mbs, dp] of [[768, 1, 12], [100, 2, 7], [5, 4, 4]] as const) assert.equal(legalGlobalBatch(gbs, mbs, dp) % (mbs * dp), 0);
  const d = recipeDefaults(loadRecipeData());
  assert.equal(d.globalBatch, loadRecipeData().distill.defaults.global_batch);
  assert.equal(checkSteps('100', 50), undefined);
  assert.match(checkSteps('50', 50)!, /more than the 50 warm-up steps/);
  assert.match(checkSteps('1e3', 50)!, /whole number/);
  assert.equal(describeTokens(25_000, 768, 4096), '25,000 steps × 768 × 4096 = 78.6B tokens');
  assert.equal(checkDataPrefixes('0.7:/d/web_text_document, /d/code_text_document'), undefined);
  assert.match(checkDataPrefixes('/d/corpus.jsonl')!, /raw text/);
  assert.match(checkDataPrefixes(' ')!, /at least one/);
});

test('recipe options from a task: defaults left to the data file, the run folder as output', () => {
  const req = taskToJob({ action: 'distill-external', teacher: '/t', student: '/s', data: '0.5:/d/a,/d/b', steps: 300, tp: 2, warmupSteps: 20, out: '/w/run' }, '/w');
  const o = recipeOptionsFrom(req.params, req.workspace);
  assert.deepEqual(o, { teacher: '/t', student: '/s', data: [{ weight: 0.5, prefix: '/d/a' }, { weight: 1, prefix: '/d/b' }], mockData: false, out: '/w/run', steps: 300, hfExport: true, tp: 2, warmup: 20 });
  assert.deepEqual(recipeOptionsFrom(taskToJob({ action: 'distill-external', teacher: '/t', student: '/s', mockData: true, steps: 100 }, '/w').params, '/w').data, []);
});

test('Runs tree: a recipe run shows its size and follows its Megatron output folder; prune/search show params', () => {
  const base = { id: 'i', status: 'done' as const, created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z', inputs: {}, timings: {}, dir: '/w/run' };
  const recipe = { ...base, kind: 'distill-external', settings: { outputDir: '/lustre/kd' }, result: { output_dir: '/lustre/kd', world_size: 32, total_tokens: 80e9 } };
  assert.equal(keyFigure(recipe.result, 'distill-external'), 'recipe · 32 GPUs · 80.00B tokens');
  assert.equal(curvesPathOf(recipe, false), '/lustre/kd');
  assert.equal(curvesPathOf({ ...recipe, result: undefined }, false), '/lustre/kd');
  assert.equal(curvesPathOf({ ...base, kind: 'distill', settings: {} }, false), '/w/run');
  assert.equal(curvesPathOf({ ...base, kind: 'prune', settings: {} }, false), undefined);
  assert.equal(curvesPathOf({ ...base, kind: 'calibrate', settings: {} }, true), '/w/run');
  assert.equal(keyFigure({ params_before: 4e6, params_after: 2.1e6, params_ratio: 0.525, loss_after: 5.12345 }, 'prune'), '2.1M params (52.5%) · loss 5.1235');
  assert.equal(keyFigure({ params_after: 3e6, params_ratio: 0.75, loss_after: 5, loss_after_kd: 4.5 }, 'search'), '3.0M params (75.0%) · loss after KD 4.5000');
  // A result without the figures falls back to the generic keys.
  assert.equal(keyFigure({ params: 1000 }, 'prune'), '1.0K params');
});
