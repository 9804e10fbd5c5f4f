// Nothing the user did not name is destroyed: outputs are checked by real path against every source, an
// existing output needs --force, and --force replaces only this tool's own outputs. Real CLI processes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { cliRun, tempDir, writeRows } from './helpers';

const TINY = { pattern: 'M-M*', hiddenSize: 32, vocabSize: 300, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 8 } as const;

function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      h.update(n);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

test('eval --dump-logits and search --report never overwrite a source file; --force replaces only this tool\'s own file', async (t) => {
  const dir = tempDir(t);
  const src = (await writeFixtureCheckpoint(join(dir, 'src'), TINY)).dir;
  const data = writeRows(join(dir, 'rows.jsonl'), 2, 16, 300);
  const before = hashTree(src);
  const evalArgs = ['eval', src, '--data', data, '--samples', '2', '--seq-len', '16', '--batch', '2', '--packing', 'none', '--device', 'cpu'];
  let r = cliRun([...evalArgs, '--dump-logits', join(src, 'model.safetensors'), '--force'], dir);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--dump-logits .*model\.safetensors is the source|is inside the source/);
  r = cliRun(['search', src, '--importance', 'random', '--target-params', '50%', '--report', join(src, 'config.json'), '--force'], dir);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--report .*inside the source/);
  assert.equal(hashTree(src), before, 'the source is untouched');
  // A file of someone else: refused even with --force; the tool's own earlier dump: replaced with --force.
  const notes = join(dir, 'notes.safetensors');
  writeFileSync(notes, 'precious');
  r = cliRun([...evalArgs, '--dump-logits', notes, '--force'], dir);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /not a file this tool wrote/);
  assert.equal(readFileSync(notes, 'utf8'), 'precious');
  const dump = join(dir, 'logits.safetensors');
  assert.equal(cliRun([...evalArgs, '--dump-logits', dump], dir).status, 0);
  r = cliRun([...evalArgs, '--dump-logits', dump], dir);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /already exists; pass --force/);
  assert.equal(cliRun([...evalArgs, '--dump-logits', dump, '--force'], dir).status, 0);
});

test('prune through a symbolic link never reaches the source, and --force never deletes an unrelated folder', async (t) => {
  const dir = tempDir(t);
  const src = (await writeFixtureCheckpoint(join(dir, 'src'), TINY)).dir;
  symlinkSync(src, join(dir, 'l'));
  const before = hashTree(src);
  const prune = (model: string, out: string, ...extra: string[]) => cliRun(['prune', model, '--importance', 'random', '--hidden-size', '16', '--out', out, '--no-verify', ...extra], dir);
  let r = prune(join(dir, 'l'), src, '--force');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /the source/);
  r = prune(src, join(dir, 'l', 'model.safetensors'), '--force');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /through a symbolic link|inside the source/);
  const photos = join(dir, 'photos');
  mkdirSync(photos);
  writeFileSync(join(photos, 'cat.jpg'), 'meow');
  r = prune(src, photos, '--force');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /not a checkpoint this tool wrote/);
  assert.equal(readFileSync(join(photos, 'cat.jpg'), 'utf8'), 'meow');
  assert.equal(hashTree(src), before);
  // Its own output is replaced with --force.
  assert.equal(prune(src, join(dir, 'pruned')).status, 0);
  assert.equal(prune(src, join(dir, 'pruned'), '--force').status, 0);
});

test('distill --out refuses a folder that is not a run folder (a model folder is never filled with run files)', async (t) => {
  const dir = tempDir(t);
  const teacher = (await writeFixtureCheckpoint(join(dir, 'teacher'), TINY)).dir;
  const student = (await writeFixtureCheckpoint(join(dir, 'student'), { ...TINY, hiddenSize: 16 })).dir;
  const other = (await writeFixtureCheckpoint(join(dir, 'other'), TINY)).dir;
  const data = writeRows(join(dir, 'rows.jsonl'), 4, 16, 300);
  const before = hashTree(other);
  const r = cliRun(['distill', '--teacher', teacher, '--student', student, '--data', data, '--out', other, '--steps', '1', '--seq-len', '16', '--batch', '2', '--packing', 'none', '--device', 'cpu'], dir);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /not a run folder/);
  assert.equal(hashTree(other), before);
  assert.ok(!existsSync(join(other, 'metrics.jsonl')));
  const r2 = cliRun(['distill', '--teacher', teacher, '--student', student, '--data', data, '--out', student, '--steps', '1'], dir);
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /the source/);
});
