// External-data folders: plain checkpoints are read in place; Hugging Face cache snapshots (symlinks into
// blobs/) are read from the blobs folder; symlinks into several folders fall back to hard links in a
// cache folder. Sessions do not depend on the process cwd.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { referenceForward } from '../../src/core/model/reference';
import { ForwardRunner } from '../../src/core/runtime/forward-runner';
import { resolveWeightsFolder } from '../../src/core/runtime/weights-folder';
import { maxAbsDiff } from '../reference/helpers';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'hc-wfolder-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

const O: FixtureOptions = { pattern: 'M*', hiddenSize: 16, mambaHeads: 4, mambaHeadDim: 4, nGroups: 2, stateSize: 8, attentionHeads: 2, kvHeads: 1, intermediateSize: 16, vocabSize: 32, seed: 31 };
const IDS = BigInt64Array.from([3n, 1n, 4n, 1n, 5n, 9n, 2n, 6n]);
const ROWS = [[3, 1, 4, 1, 5, 9, 2, 6]];

test('a plain checkpoint folder is used as is', async () => {
  const fx = await writeFixtureCheckpoint(join(root, 'plain'), O);
  const wf = resolveWeightsFolder(fx.dir, [join(fx.dir, 'model.safetensors')]);
  assert.equal(wf.mode, 'checkpoint');
  assert.equal(wf.locations.get(join(fx.dir, 'model.safetensors')), 'model.safetensors');
  assert.equal(wf.message, undefined);
});

test('Hugging Face cache layout (snapshot symlinks into blobs/) is read in place, from any cwd', async () => {
  const src = await writeFixtureCheckpoint(join(root, 'hf-src'), O);
  const repo = join(root, 'hub', 'models--x--tiny');
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  const snap = join(repo, 'snapshots', 'abc123');
  mkdirSync(snap, { recursive: true });
  for (const [i, f] of ['config.json', 'model.safetensors'].entries()) {
    renameSync(join(src.dir, f), join(repo, 'blobs', `sha${i}`));
    symlinkSync(join('..', '..', 'blobs', `sha${i}`), join(snap, f));
  }
  const lines: string[] = [];
  const cwd = process.cwd();
  process.chdir(tmpdir()); // external data must not resolve against the cwd
  try {
    const r = await ForwardRunner.create(snap, { threads: 1, device: 'cpu', log: (l) => lines.push(l) });
    try {
      assert.equal(r.weightsFolder.mode, 'symlink-target');
      assert.equal(r.weightsFolder.folder, join(repo, 'blobs'));
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /symlinks \(Hugging Face cache layout\)/);
      const out = await r.run(IDS, 1, 8);
      assert.ok(maxAbsDiff(out.logits, referenceForward(src.spec, src.weights, ROWS).logits) <= 1e-4);
    } finally {
      await r.release();
    }
  } finally {
    process.chdir(cwd);
  }
});

test('shards symlinked into different folders fall back to hard links in a cache folder', async () => {
  const fx = await writeFixtureCheckpoint(join(root, 'sharded'), { ...O, maxShardBytes: 4096 });
  const shards = readdirSync(fx.dir).filter((f) => f.endsWith('.safetensors')).sort();
  assert.ok(shards.length >= 2, `fixture has ${shards.length} shards`);
  shards.forEach((s, i) => {
    const elsewhere = join(root, `store${i % 2}`);
    mkdirSync(elsewhere, { recursive: true });
    renameSync(join(fx.dir, s), join(elsewhere, s));
    symlinkSync(join(elsewhere, s), join(fx.dir, s));
  });
  const cacheRoot = join(root, 'cache');
  const lines: string[] = [];
  const r = await ForwardRunner.create(fx.dir, { threads: 1, device: 'cpu', cacheRoot, log: (l) => lines.push(l) });
  try {
    assert.equal(r.weightsFolder.mode, 'cache');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /hard-linked|copied/);
    // Hard links share the inode: no extra disk space.
    const linked = readdirSync(r.weightsFolder.folder);
    assert.equal(linked.length, shards.length);
    assert.ok(linked.every((f) => statSync(join(r.weightsFolder.folder, f)).nlink >= 2));
    const out = await r.run(IDS, 1, 8);
    assert.ok(maxAbsDiff(out.logits, referenceForward(fx.spec, fx.weights, ROWS).logits) <= 1e-4);
  } finally {
    await r.release();
  }
  // A second resolution reuses the cache folder.
  const again = resolveWeightsFolder(fx.dir, shards.map((s) => join(fx.dir, s)), { cacheRoot });
  assert.equal(again.folder, r.weightsFolder.folder);

});
