import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HybridCompressError } from '../../src/core/errors';
import { taskDefinition } from '../../src/core/pipeline/actions';
import { cliEquivalent, taskToJob } from '../../src/extension/viewmodel/task-params';

const ws = '/work/space';
const now = new Date('2026-03-04T05:06:07.890Z');

test('a calibrate task becomes a calibrate job with absolute paths, the schema defaults and a run folder', () => {
  const r = taskToJob({ type: 'hybrid-compress', action: 'calibrate', model: 'models/tiny', data: '/data/c.jsonl', samples: 16, seqLen: 64, device: 'cpu' }, ws, now);
  assert.equal(r.kind, 'calibrate');
  assert.equal(r.params['model'], '/work/space/models/tiny');
  assert.equal(r.params['out'], '/work/space/.hybrid-compress/runs/20260304T050607Z-calibrate');
  assert.equal(r.params['batch'], 1, 'default from CALIBRATE_SCHEMA');
  assert.equal(r.runDir, r.params['out']);
  assert.equal(r.label, 'calibrate tiny');
  assert.equal(cliEquivalent(r), 'hybrid-compress calibrate /work/space/models/tiny --data /data/c.jsonl --samples 16 --seq-len 64 --device cpu --out /work/space/.hybrid-compress/runs/20260304T050607Z-calibrate');
});

test('prune: importance "random" kept, targets named as the CLI names them', () => {
  const r = taskToJob({ type: 'hybrid-compress', action: 'prune', model: 'm', importance: 'random', mambaNumHeads: 4, ffnHiddenSize: 64, dropLayers: '1, 3', rows: 8, out: 'pruned', force: true }, ws, now);
  assert.equal(r.params['importance'], 'random');
  assert.equal(r.params['out'], '/work/space/pruned');
  // The run folder is under .hybrid-compress/runs even with an explicit `out` (the pruned checkpoint).
  assert.equal(r.runDir, '/work/space/.hybrid-compress/runs/20260304T050607Z-prune');
  assert.deepEqual(r.params['dropLayers'], [1, 3]);
  assert.equal(cliEquivalent(r), 'hybrid-compress prune /work/space/m --importance random --rows 8 --force --out /work/space/pruned --ffn-hidden-size 64 --mamba-num-heads 4 --drop-layers 1,3');
  assert.throws(() => taskToJob({ action: 'prune', model: 'm', importance: 'random', dropLayers: 'a,b' }, ws, now), /"dropLayers" must be a comma-separated list of integers/);
});

test('bad definitions are one-line errors naming the property and what is valid', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ action: 'train' }, /"action" must be one of calibrate, prune, search, distill, eval, distill-external/],
    [{ action: 'calibrate', model: 'm' }, /"data" is required/],
    [{ action: 'distill', teacher: 't', data: 'd' }, /"student" is required/],
    [{ action: 'eval', model: 'm', data: 'd', samples: 0 }, /"samples" must be an integer ≥ 1, got 0/],
    [{ action: 'eval', model: 'm', data: 'd', device: 'tpu' }, /"device" must be one of auto\|cpu\|webgpu\|webgpu-f16\|cuda/],
    [{ action: 'eval', model: 'm', data: 'd', sampels: 3 }, /"sampels" is not a property of "eval" tasks \(valid: model, data, samples/],
    [{ action: 'distill', teacher: 't', student: 's', data: 'd', lr: -1 }, /"lr" must be a number ≥ 0, got -1/],
    [{ action: 'distill', teacher: 't', student: 's', data: 'd', tp: 2 }, /"tp" is not a property of "distill" tasks/],
    [{ action: 'prune', model: 'm', importance: 'random', candidatesOnly: true }, /"candidatesOnly" is not a property of "prune" tasks/],
  ];
  for (const [def, re] of cases) {
    assert.throws(() => taskToJob(def, ws, now), (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && re.test(e.message) && e.message.startsWith('hybrid-compress task: '), JSON.stringify(def));
  }
});

test("package.json's taskDefinitions are exactly what the action schemas generate", () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8'));
  const def = pkg.contributes.taskDefinitions.find((d: { type: string }) => d.type === 'hybrid-compress');
  // On a mismatch: node -e "console.log(JSON.stringify(require('tsx/cjs/api').require('./src/core/pipeline/actions.ts', __filename).taskDefinition(), null, 2))"
  assert.deepEqual(def, taskDefinition());
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
    [{ kdSteps: 20 }, /--kd-steps needs --data/],
    [{ data: 'd', kdLr: 0.01 }, /--kd-lr only applies with --kd-steps/],
    [{ data: 'd', kdSteps: 5, kdLr: 0 }, /--kd-lr must be a number > 0/],
    [{ data: 'd', kdSteps: 1.5 }, /"kdSteps" must be an integer ≥ 0/],
  ];
  for (const [extra, re] of cases) assert.throws(() => taskToJob({ action: 'search', model: 'm', importance: 'random', targetParams: '50%', ...extra }, ws, now), re, JSON.stringify(extra));
  assert.throws(() => taskToJob({ action: 'search', model: 'm', targetParams: '50%' }, ws, now), /--importance is required/);
});

test('distill-external: recipe inputs validated, prefixes resolved, the recipe command line shown', () => {
  const r = taskToJob({ action: 'distill-external', teacher: 'ckpt/models/big', student: 'out/small', data: '0.7:data/web_text_document, /d/code_text_document', steps: 1000, nodes: 2, gpusPerNode: 8, tp: 4, warmupSteps: 10 }, ws, now);
  assert.equal(r.kind, 'distill-external');
  assert.equal(r.runDir, '/work/space/.hybrid-compress/runs/20260304T050607Z-distill-external');
  assert.equal(r.params['out'], r.runDir);
  assert.deepEqual(r.params['data'], ['0.7:/work/space/data/web_text_document', '/d/code_text_document']);
  assert.equal(r.params['teacher'], '/work/space/ckpt/models/big');
  assert.equal(
    cliEquivalent(r),
    'hybrid-compress recipe megatron --teacher /work/space/ckpt/models/big --student /work/space/out/small --data 0.7:/work/space/data/web_text_document --data /d/code_text_document --out /work/space/.hybrid-compress/runs/20260304T050607Z-distill-external --steps 1000 --tp 4 --nodes 2 --gpus-per-node 8 --warmup 10',
  );
  // A Hub id teacher that is not a workspace folder is kept as given.
  assert.equal(taskToJob({ action: 'distill-external', teacher: 'nvidia/Nemotron-H-8B-Base-8K', student: 's', mockData: true, steps: 100 }, ws, now).params['teacher'], 'nvidia/Nemotron-H-8B-Base-8K');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ student: 's', steps: 100, mockData: true }, /"teacher" is required/],
    [{ teacher: 't', student: 's', mockData: true }, /--steps is required/],
    [{ teacher: 't', student: 's', steps: 100 }, /"data" is required for action "distill-external": Megatron dataset prefixes/],
    [{ teacher: 't', student: 's', steps: 100, data: '/d/x', mockData: true }, /--mock-data cannot be combined with --data/],
    [{ teacher: 't', student: 's', steps: 100, data: '0:/d/x' }, /weight of "0:\/d\/x" must be a positive number/],
    [{ teacher: 't', student: 's', steps: 100, mockData: true, tp: 0 }, /"tp" must be an integer ≥ 1, got 0/],
  ];
  for (const [def, re] of cases) assert.throws(() => taskToJob({ action: 'distill-external', ...def }, ws, now), re, JSON.stringify(def));
});
