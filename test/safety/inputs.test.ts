// Resume trusts nothing on disk; non-finite weights are named; bad arguments and config values get a clear
// error. Real CLI processes over real files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { encodeFromFloat } from '../../src/core/safetensors/dtype';
import { writeSafetensors } from '../../src/core/safetensors/writer';
import { checkDataFile } from '../../src/extension/viewmodel/data-file';
import { cliRun, tempDir, writeRows } from './helpers';
import { mkdirSync, symlinkSync } from 'node:fs';

const TINY: FixtureOptions = { pattern: 'M-M*', hiddenSize: 32, vocabSize: 300, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 8, tokenizer: true };

/** Sets one element of one tensor to NaN in a single-file F32 checkpoint. */
async function poison(dir: string, tensor: string): Promise<void> {
  const file = join(dir, 'model.safetensors');
  const st = SafetensorsFile.open(file);
  const tensors = [];
  for (const [name, info] of st.tensors) {
    const v = await st.readFloat32(name);
    if (name === tensor) v[3] = NaN;
    tensors.push({ name, dtype: info.dtype, shape: info.shape, data: encodeFromFloat(info.dtype, v) });
  }
  await st.close();
  await writeSafetensors(file, tensors, { metadata: { format: 'pt' } });
}

const steps = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l.replace(/\bNaN\b/g, 'null')) as { step: number; loss?: number }).filter((p) => p.loss !== undefined).map((p) => p.step);

test('resume validates what it reads: a pointer out of the run, a deleted pointer, a cut trainer-state.json, a garbled metrics.jsonl', async (t) => {
  const dir = tempDir(t);
  const teacher = (await writeFixtureCheckpoint(join(dir, 'teacher'), TINY)).dir;
  const student = (await writeFixtureCheckpoint(join(dir, 'student'), { ...TINY, hiddenSize: 16 })).dir;
  const data = writeRows(join(dir, 'rows.jsonl'), 8, 16, 300);
  const out = join(dir, 'run');
  const args = (n: number, ...extra: string[]) => ['distill', '--teacher', teacher, '--student', student, '--data', data, '--out', out, '--steps', String(n), '--save-every', '4', '--seq-len', '16', '--batch', '2', '--packing', 'none', '--device', 'cpu', '--threads', '1', ...extra];
  assert.equal(cliRun(args(10), dir).status, 0);
  const latest = join(out, 'checkpoints', 'latest');
  assert.equal(readFileSync(latest, 'utf8').trim(), 'step-0000008');

  writeFileSync(latest, '../../elsewhere\n');
  let r = cliRun(args(12, '--resume'), dir);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /checkpoints\/latest: names "\.\.\/\.\.\/elsewhere", not a checkpoint folder of this run/);

  rmSync(latest);
  r = cliRun(args(12, '--resume'), dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /resumed from step 8/);
  let s = steps(join(out, 'metrics.jsonl'));
  assert.deepEqual(s, Array.from({ length: 12 }, (_, i) => i + 1), 'every step once, in order');

  const state = join(out, 'checkpoints', 'step-0000008', 'trainer-state.json');
  writeFileSync(state, readFileSync(state, 'utf8').slice(0, 40));
  r = cliRun(args(14, '--resume'), dir);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /trainer-state\.json: is not valid JSON .*cut short/);

  // Rebuild a good run, then garble metrics.jsonl: the resumed curve holds each step once, and says what it dropped.
  rmSync(out, { recursive: true });
  assert.equal(cliRun(args(10), dir).status, 0);
  const m = join(out, 'metrics.jsonl');
  const lines = readFileSync(m, 'utf8').split('\n');
  writeFileSync(m, [...lines.slice(0, 3), '{"step":4,"loss":1.', 'garbage', ...lines.slice(5)].join('\n'));
  r = cliRun(args(12, '--resume'), dir);
  assert.equal(r.status, 0, r.stderr);
  s = steps(m);
  assert.equal(new Set(s).size, s.length);
  assert.deepEqual(s.filter((x) => x > 8), [9, 10, 11, 12]);
});

test('a NaN weight is named with the model it belongs to; eval, generate and prune fail on it instead of printing garbage', async (t) => {
  const dir = tempDir(t);
  const teacher = (await writeFixtureCheckpoint(join(dir, 'teacher'), TINY)).dir;
  const student = (await writeFixtureCheckpoint(join(dir, 'student'), { ...TINY, hiddenSize: 16 })).dir;
  const data = writeRows(join(dir, 'rows.jsonl'), 8, 16, 300);
  const distill = (out: string) => cliRun(['distill', '--teacher', teacher, '--student', student, '--data', data, '--out', join(dir, out), '--steps', '2', '--seq-len', '16', '--batch', '2', '--packing', 'none', '--device', 'cpu'], dir);
  await poison(teacher, 'backbone.layers.1.mixer.up_proj.weight');
  let r = distill('kd1');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /teacher .*weight tensor "backbone\.layers\.1\.mixer\.up_proj\.weight" holds NaN/);
  r = cliRun(['eval', teacher, '--data', data, '--samples', '2', '--seq-len', '16', '--batch', '2', '--packing', 'none', '--device', 'cpu'], dir);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /"backbone\.layers\.1\.mixer\.up_proj\.weight" holds NaN/);
  r = cliRun(['generate', teacher, '--prompt', 'hello', '--max-new-tokens', '3', '--device', 'cpu'], dir);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /up_proj\.weight" holds NaN/);
  r = cliRun(['prune', teacher, '--importance', 'random', '--hidden-size', '16', '--out', join(dir, 'p'), '--data', data, '--rows', '2', '--seq-len', '16', '--device', 'cpu'], dir);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /source .*up_proj\.weight" holds NaN/);
  await poison(student, 'backbone.layers.0.mixer.out_proj.weight');
  await writeFixtureCheckpoint(join(dir, 'teacher'), TINY); // the teacher healthy again
  r = distill('kd2');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /student .*"backbone\.layers\.0\.mixer\.out_proj\.weight" holds NaN/);
  assert.doesNotMatch(r.stderr, /last good checkpoint/);
});

test('bad arguments and config values: a clear one-line error naming the option and what is legal', async (t) => {
  const dir = tempDir(t);
  const m = (await writeFixtureCheckpoint(join(dir, 'm'), TINY)).dir;
  const cases: [string[], RegExp][] = [
    [['prune', m, '--importance', 'random', '--out', join(dir, 'o'), '--hidden-size', '-32'], /--hidden-size must be an integer ≥ 1, got "-32"/],
    [['eval', m, '--data', 'x', '--samples', '3', '--samples', '4'], /--samples is given twice \("3" and "4"\); give it once/],
    [['eval', m, '--data', 'x', '--threads', '999'], /--threads must be an integer from 0 to \d+, got "999"/],
    [['eval', m, '--data', '--samples', '3'], /--data needs a value/],
    [['eval', m, '--data', 'x', '--sampels', '3'], /--sampels is not an option of eval/],
  ];
  for (const [args, re] of cases) {
    const r = cliRun(args, dir);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
  const config = join(m, 'config.json');
  const text = readFileSync(config, 'utf8');
  for (const [value, re] of [['NaN', /"layer_norm_epsilon" is NaN; expected a positive number/], ['-1', /"layer_norm_epsilon" is -1; expected a positive finite number/]] as const) {
    writeFileSync(config, text.replace(/"layer_norm_epsilon": [^,]+,/, `"layer_norm_epsilon": ${value},`));
    const r = cliRun(['inspect', m], dir);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
  }
});

test('the Compress panel\'s data file must be a file inside the workspace (no "..", no absolute path elsewhere, no link out)', (t) => {
  const dir = tempDir(t);
  const ws = join(dir, 'ws');
  mkdirSync(join(ws, 'data'), { recursive: true });
  writeFileSync(join(ws, 'data', 'a.txt'), 'x');
  writeFileSync(join(dir, 'secret.txt'), 'x');
  symlinkSync(join(dir, 'secret.txt'), join(ws, 'data', 'link.txt'));
  assert.equal(checkDataFile('data/a.txt', [ws]), join(ws, 'data', 'a.txt'));
  for (const bad of ['../secret.txt', join(dir, 'secret.txt'), 'data/link.txt', 'data', 'nope.txt']) assert.throws(() => checkDataFile(bad, [ws]), /not a file inside this workspace|not a regular file/, bad);
});
