import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HybridCompressError } from '../../src/core/errors';
import { cliEquivalent, TASK_PROPERTIES, taskToJob } from '../../src/extension/viewmodel/task-params';

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
  assert.deepEqual(r.params['targets'], { intermediateSize: 64, mambaNumHeads: 4, dropLayers: [1, 3] });
  assert.equal(r.params['rows'], 8);
  for (const k of ['mambaNumHeads', 'ffnHiddenSize', 'dropLayers', 'samples']) assert.equal(r.params[k], undefined, k);
  assert.equal(cliEquivalent(r), 'hybrid-compress prune /work/space/m --importance random --out /work/space/pruned --force --ffn-hidden-size 64 --mamba-num-heads 4 --drop-layers 1,3 --samples 8');
  assert.throws(() => taskToJob({ action: 'prune', model: 'm', importance: 'random', dropLayers: 'a,b' }, ws, now), /"dropLayers" must be comma-separated layer indices/);
});

test('bad definitions are one-line errors naming the property and what is valid', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ action: 'train' }, /"action" must be one of calibrate, prune, search, distill, eval/],
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
  assert.deepEqual(def.properties.action.enum, ['calibrate', 'prune', 'search', 'distill', 'eval']);
});
