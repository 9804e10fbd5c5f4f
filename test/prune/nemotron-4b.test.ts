import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { allTensorSpecs, buildSpec } from '../../src/core/arch/index';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { checkpointFingerprint } from '../../src/core/checkpoint/fingerprint';
import { fixtureConfig, writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { NEMOTRON_H_4B, NEMOTRON_H_4B_PARAMS, NEMOTRON_H_8B } from '../../src/core/testing/nemotron-h-8b';
import { randomImportance } from '../../src/core/calibrate/importance-file';
import { buildPlan } from '../../src/core/prune/plan';
import { applyPlan } from '../../src/core/prune/apply';
import { prunedParams } from '../../src/core/prune/config';
import { planDims } from '../../src/core/prune/plan';
import { tempDir } from './helpers';

test('the shape-only 8B fixture pruned to hidden 3072 / FFN 12288 / 112 Mamba heads is exactly Nemotron-H-4B', async (t) => {
  const dir = tempDir(t, '8b');
  const f = await writeFixtureCheckpoint(join(dir, '8b'), { ...NEMOTRON_H_8B, maxShardBytes: 5_000_000_000 });
  const src = await openCheckpoint(f.dir);
  t.after(() => src.close());
  const fp = await checkpointFingerprint(src);
  const plan = buildPlan(src.spec, randomImportance(src.spec, 1), { hiddenSize: 3072, ffnHiddenSize: 12288, mambaNumHeads: 112 }, fp.id);
  assert.equal(prunedParams(src.spec, planDims(src.spec, plan)), NEMOTRON_H_4B_PARAMS, 'parameter count known before writing');
  for (const l of plan.layers) if (l.kind === 'M') assert.equal(l.mamba_heads.length, 112);
  const res = await applyPlan(src, plan, { out: join(dir, '4b') });
  assert.ok(res.shapeOnly, 'a shape-only source gives a shape-only output');
  assert.equal(res.bytesWritten, 0);
  const out = await openCheckpoint(res.dir);
  t.after(() => out.close());
  assert.equal(out.spec.params.total, NEMOTRON_H_4B_PARAMS);
  assert.equal(out.spec.params.total, 4_489_223_040);
  const want = buildSpec(fixtureConfig(NEMOTRON_H_4B));
  const wantShapes = new Map(allTensorSpecs(want).map((x) => [x.name, x.shape]));
  assert.equal(out.tensors.size, wantShapes.size);
  for (const [name, shape] of wantShapes) assert.deepEqual(out.tensors.get(name)?.shape, shape, name);
  for (const x of out.tensors.values()) assert.equal(x.dtype, src.tensors.get(x.name)!.dtype, `${x.name} keeps its dtype`);
  for (const k of ['hidden_size', 'intermediate_size', 'mamba_num_heads', 'mamba_head_dim', 'n_groups', 'num_attention_heads', 'hybrid_override_pattern', 'num_hidden_layers']) {
    assert.deepEqual(out.config[k], want.config[k], k);
  }
  assert.equal(out.weightFiles.length, src.weightFiles.length, 'sharded like the source');
  const allocated = out.weightFiles.reduce((s, w) => s + statSync(w.path).blocks * 512, 0);
  assert.ok(allocated < 64 << 20, `shape-only output stays sparse (${allocated} bytes allocated)`);
  assert.ok(out.bytesOnDisk > 8.9e9, 'apparent size is that of the BF16 4B model');
});
