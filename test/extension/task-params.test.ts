import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HybridCompressError } from '../../src/core/errors';
import { cliEquivalent, parseRecipeDataList, TASK_ACTIONS, TASK_PROPERTIES, taskToJob } from '../../src/extension/viewmodel/task-params';

const ws = '/work/space';
const now = new Date('2026-03-04T05:06:07.890Z');

test('a calibrate task becomes a calibrate job with absolute paths and a run folder', () => {
  const r = taskToJob({ type: 'hybrid-compress', action: 'calibrate', model: 'models/tiny', data: '/data/c.jsonl', samples: 16, seqLen: 64, device: 'cpu' }, ws, now);
  assert.equal(r.kind, 'calibrate');
  assert.deepEqual(r.params, { model: '/work/space/models/tiny', data: '/data/c.jsonl', samples: 16, seqLen: 64, device: 'cpu', out: '/work/space/.hybrid-compress/runs/20260304T050607Z-calibrate', workspace: ws });
  assert.equal(r.runDir, r.params['out']);
  assert.equal(r.label, 'calibrate tiny');
  assert.equal(cliEquivalent(r), 'hybrid-compress calibrate /work/space/models/tiny --data /data/c.jsonl --samples 16 --seq-len 64 --device cpu --out /work/space/.hybrid-compress/runs/20260304T050607Z-calibrate');
});

test('prune: importance "random" kept, targets gathered into the job’s targets object', () => {
  const r = taskToJob({ type: 'hybrid-compress', action: 'prune', model: 'm', importance: 'random', mambaNumHeads: 4, ffnHiddenSize: 64, dropLayers: '1, 3', samples: 8, out: 'pruned', force: true }, ws, now);
  assert.equal(r.params['importance'], 'random');
  assert.equal(r.params['out'], '/work/space/pruned');
  // The run folder is under .hybrid-compress/runs even with an explicit `out` (the pruned checkpoint).
  assert.equal(r.runDir, '/work/space/.hybrid-compress/runs/20260304T050607Z-prune');
  assert.deepEqual(r.params['targets'], { ffnHiddenSize: 64, mambaNumHeads: 4, dropLayers: [1, 3] });
  assert.equal(r.params['rows'], 8);
  for (const k of ['mambaNumHeads', 'ffnHiddenSize', 'dropLayers', 'samples']) assert.equal(r.params[k], undefined, k);
  assert.equal(cliEquivalent(r), 'hybrid-compress prune /work/space/m --importance random --out /work/space/pruned --force --rows 8 --ffn-hidden-size 64 --mamba-num-heads 4 --drop-layers 1,3');
  assert.throws(() => taskToJob({ action: 'prune', model: 'm', importance: 'random', dropLayers: 'a,b' }, ws, now), /"dropLayers" must be comma-separated layer indices/);
});

test('bad definitions are one-line errors naming the property and what is valid', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ action: 'train' }, /"action" must be one of calibrate, prune, search, distill, eval, distill-external/],
    [{ action: 'calibrate', model: 'm' }, /"data" is required for action "calibrate"/],
    [{ action: 'distill', teacher: 't', data: 'd' }, /"student" is required/],
    [{ action: 'eval', model: 'm', data: 'd', samples: 0 }, /"samples" must be a positive integer/],
    [{ action: 'eval', model: 'm', data: 'd', device: 'tpu' }, /"device" must be one of auto, cpu, webgpu, cuda/],
    [{ action: 'eval', model: 'm', data: 'd', sampels: 3 }, /"sampels" is not a property of hybrid-compress tasks \(valid: action, model/],
    [{ action: 'distill', teacher: 't', student: 's', data: 'd', lr: -1 }, /"lr" must be a non-negative number/],
  ];
  for (const [def, re] of cases) {
    assert.throws(() => taskToJob(def, ws, now), (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && re.test(e.message), JSON.stringify(def));
  }
});

test('package.json taskDefinitions list exactly the properties the host accepts, with matching types', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8'));
  const def = pkg.contributes.taskDefinitions.find((d: { type: string }) => d.type === 'hybrid-compress');
  assert.deepEqual(def.required, ['action']);
  assert.deepEqual(Object.keys(def.properties).sort(), Object.keys(TASK_PROPERTIES).sort());
  for (const [k, t] of Object.entries(TASK_PROPERTIES)) assert.equal(def.properties[k].type, t, k);
  assert.deepEqual(def.properties.action.enum, [...TASK_ACTIONS]);
});

test('prune/search without "out": the pruned checkpoint goes inside the run folder', () => {
  const r = taskToJob({ action: 'search', model: 'models/tiny', importance: 'random', targetParams: '50%' }, ws, now);
  assert.equal(r.runDir, '/work/space/.hybrid-compress/runs/20260304T050607Z-search');
  assert.equal(r.params['out'], '/work/space/.hybrid-compress/runs/20260304T050607Z-search/tiny-pruned');
  assert.equal(r.explicitOut, false);
});

test('search: kdSteps, topK and kdLr pass through as the CLI has them, with its rules', () => {
  const r = taskToJob({ action: 'search', model: 'm', importance: 'random', targetParams: '50%', data: 'd.txt', kdSteps: 20, topK: 2, kdLr: 0.002 }, ws, now);
  assert.equal(r.params['kdSteps'], 20);
  assert.equal(r.params['topK'], 2);
  assert.equal(r.params['kdLr'], 0.002);
  assert.match(cliEquivalent(r), /--kd-steps 20 --top-k 2 --kd-lr 0\.002/);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ kdSteps: 20 }, /"data" is required with "kdSteps"/],
    [{ data: 'd', kdLr: 0.01 }, /"kdLr" applies only with "kdSteps"/],
    [{ data: 'd', kdSteps: 5, kdLr: 0 }, /"kdLr" must be a number > 0/],
    [{ data: 'd', kdSteps: 0 }, /"kdSteps" must be a positive integer/],
    [{ data: 'd', kdSteps: 1.5 }, /"kdSteps" must be a positive integer/],
  ];
  for (const [extra, re] of cases) assert.throws(() => taskToJob({ action: 'search', model: 'm', importance: 'random', targetParams: '50%', ...extra }, ws, now), re, JSON.stringify(extra));
  assert.throws(() => taskToJob({ action: 'prune', model: 'm', importance: 'random', kdSteps: 3 }, ws, now), /"kdSteps" applies only to action "search", not "prune"/);
  assert.throws(() => taskToJob({ action: 'search', model: 'm', targetParams: '50%' }, ws, now), /"importance" is required for action "search"/);
});

test('distill-external: recipe inputs validated, prefixes resolved, the recipe command line shown', () => {
  const r = taskToJob({ action: 'distill-external', teacher: 'ckpt/models/big', student: 'out/small', data: '0.7:data/web_text_document, /d/code_text_document', steps: 1000, nodes: 2, gpusPerNode: 8, tp: 4, warmupSteps: 10 }, ws, now);
  assert.equal(r.kind, 'distill-external');
  assert.equal(r.runDir, '/work/space/.hybrid-compress/runs/20260304T050607Z-distill-external');
  assert.equal(r.params['out'], r.runDir);
  assert.equal(r.params['data'], '0.7:/work/space/data/web_text_document,/d/code_text_document');
  assert.equal(r.params['teacher'], '/work/space/ckpt/models/big');
  assert.equal(
    cliEquivalent(r),
    'hybrid-compress recipe megatron --teacher /work/space/ckpt/models/big --student /work/space/out/small --data 0.7:/work/space/data/web_text_document --data /d/code_text_document --steps 1000 --nodes 2 --gpus-per-node 8 --tp 4 --warmup 10 --out /work/space/.hybrid-compress/runs/20260304T050607Z-distill-external',
  );
  // A Hub id teacher that is not a workspace folder is kept as given.
  assert.equal(taskToJob({ action: 'distill-external', teacher: 'nvidia/Nemotron-H-8B-Base-8K', student: 's', mockData: true, steps: 100 }, ws, now).params['teacher'], 'nvidia/Nemotron-H-8B-Base-8K');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ student: 's', steps: 100, mockData: true }, /"teacher" is required for action "distill-external"/],
    [{ teacher: 't', student: 's', mockData: true }, /"steps" is required/],
    [{ teacher: 't', student: 's', steps: 100 }, /"data" is required for action "distill-external": Megatron dataset prefixes/],
    [{ teacher: 't', student: 's', steps: 100, data: '/d/x', mockData: true }, /"mockData" cannot be combined with "data"/],
    [{ teacher: 't', student: 's', steps: 100, data: '0:/d/x' }, /weight of "0:\/d\/x" must be a positive number/],
    [{ teacher: 't', student: 's', steps: 100, data: ' , ' }, /must name at least one Megatron dataset prefix/],
    [{ teacher: 't', student: 's', steps: 100, mockData: true, tp: 0 }, /"tp" must be a positive integer/],
  ];
  for (const [def, re] of cases) assert.throws(() => taskToJob({ action: 'distill-external', ...def }, ws, now), re, JSON.stringify(def));
  assert.throws(() => taskToJob({ action: 'distill', teacher: 't', student: 's', data: 'd', tp: 2 }, ws, now), /"tp" applies only to action "distill-external"/);
  assert.deepEqual(parseRecipeDataList('1e-1:a, b'), [{ weight: 0.1, prefix: 'a' }, { weight: 1, prefix: 'b' }]);
});
