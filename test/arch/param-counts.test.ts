// Parameter counts: the published Nemotron-H-8B total (8,100,852,736) and the 4B target (4,489,223,040),
// from the spec and from a sparse, sharded, 8B-shaped checkpoint on disk; per-component and per-layer
// counts checked against a closed-form count written out here.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildSpec, allTensorSpecs, numel, COMPONENTS, type HybridModelSpec } from '../../src/core/arch/index';
import { fixtureConfig, writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { NEMOTRON_H_4B, NEMOTRON_H_4B_PARAMS, NEMOTRON_H_8B, NEMOTRON_H_8B_PARAMS, NEMOTRON_H_8B_PATTERN } from '../../src/core/testing/nemotron-h-8b';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { tempDir } from '../safetensors/helpers';

const tmp = tempDir('arch-counts');
after(tmp.cleanup);

interface Dims {
  V: number;
  D: number;
  F: number;
  H: number;
  P: number;
  N: number;
  G: number;
  K: number;
  Hq: number;
  Hkv: number;
  d: number;
}

/** Closed-form per-layer counts (pre-norm included), written from the tensor table, not from the adapter. */
function closedForm(x: Dims) {
  const I = x.H * x.P;
  const conv = I + 2 * x.G * x.N;
  const mamba = x.D + (2 * I + 2 * x.G * x.N + x.H) * x.D + conv * x.K + conv + 3 * x.H + I + x.D * I;
  const attention = x.D + 2 * x.Hq * x.d * x.D + 2 * x.Hkv * x.d * x.D;
  const mlp = x.D + 2 * x.F * x.D;
  return { mamba, attention, mlp };
}

const DIMS_8B: Dims = { V: 131072, D: 4096, F: 21504, H: 128, P: 64, N: 128, G: 8, K: 4, Hq: 32, Hkv: 8, d: 128 };
const DIMS_4B: Dims = { ...DIMS_8B, D: 3072, F: 12288, H: 112 };

function totalByFormula(x: Dims, pattern: string): number {
  const per = closedForm(x);
  let sum = 2 * x.V * x.D + x.D; // embedding, untied lm_head, final norm
  for (const c of pattern) sum += c === 'M' ? per.mamba : c === '*' ? per.attention : per.mlp;
  return sum;
}

function checkConsistency(spec: HybridModelSpec): void {
  const by = spec.params.byComponent;
  assert.deepEqual(Object.keys(by).sort(), [...COMPONENTS].sort());
  assert.equal(Object.values(by).reduce((a, b) => a + b, 0), spec.params.total, 'components add up to the total');
  const fromTensors = allTensorSpecs(spec).reduce((s, t) => s + numel(t.shape), 0);
  assert.equal(fromTensors, spec.params.total, 'tensor shapes add up to the total');
  const layerSum = spec.layers.reduce((s, l) => s + l.params, 0);
  assert.equal(layerSum + numel(spec.embedding.shape) + numel(spec.normF.shape) + (spec.lmHead ? numel(spec.lmHead.shape) : 0), spec.params.total, 'layers + top-level add up');
  for (const l of spec.layers) assert.equal(l.params, l.tensors.reduce((s, t) => s + numel(t.shape), 0));
}

test('Nemotron-H-8B shapes count exactly 8,100,852,736 parameters', () => {
  const spec = buildSpec(fixtureConfig(NEMOTRON_H_8B));
  assert.equal(spec.params.total, 8_100_852_736);
  assert.equal(spec.params.total, NEMOTRON_H_8B_PARAMS);
  assert.equal(spec.params.total, totalByFormula(DIMS_8B, NEMOTRON_H_8B_PATTERN));
  assert.equal(spec.pattern, NEMOTRON_H_8B_PATTERN);
  assert.equal(spec.numLayers, 52);
  checkConsistency(spec);
});

test('the 4B variant (hidden 3072, FFN 12288, 112 Mamba heads) counts exactly 4,489,223,040', () => {
  const spec = buildSpec(fixtureConfig(NEMOTRON_H_4B));
  assert.equal(spec.params.total, 4_489_223_040);
  assert.equal(spec.params.total, NEMOTRON_H_4B_PARAMS);
  assert.equal(spec.params.total, totalByFormula(DIMS_4B, NEMOTRON_H_8B_PATTERN));
  checkConsistency(spec);
});

test('8B per-component and per-layer counts match the closed form', () => {
  const spec = buildSpec(fixtureConfig(NEMOTRON_H_8B));
  const x = DIMS_8B;
  const per = closedForm(x);
  const count = (c: string) => [...NEMOTRON_H_8B_PATTERN].filter((k) => k === c).length;
  assert.deepEqual([count('M'), count('*'), count('-')], [24, 4, 24]);
  const by = spec.params.byComponent;
  assert.equal(by.embedding, x.V * x.D);
  assert.equal(by.lm_head, x.V * x.D);
  assert.equal(by.mamba, count('M') * (per.mamba - x.D));
  assert.equal(by.attention, count('*') * (per.attention - x.D));
  assert.equal(by.mlp, count('-') * (per.mlp - x.D));
  assert.equal(by.norm, 52 * x.D + x.D);
  assert.equal(by.moe + by.other, 0);
  for (const l of spec.layers) assert.equal(l.params, l.kind === 'M' ? per.mamba : l.kind === '*' ? per.attention : per.mlp, `layer ${l.index}`);
  // Derived Mamba sizes of the research notes: I=8192, conv_dim=10240, in_proj rows=18560.
  assert.deepEqual([spec.mamba!.innerSize, spec.mamba!.convDim, spec.mamba!.inProjSize], [8192, 10240, 18560]);
});

test('a sparse, sharded 8B-shaped checkpoint on disk opens and counts exactly 8,100,852,736', async () => {
  const dir = join(tmp.dir, '8b');
  await writeFixtureCheckpoint(dir, { ...NEMOTRON_H_8B, sparse: true, maxShardBytes: 5_000_000_000 });
  const shards = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
  assert.ok(shards.length >= 3, `expected several shards, got ${shards.join(', ')}`);
  const apparent = shards.reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  const used = shards.reduce((s, f) => s + statSync(join(dir, f)).blocks * 512, 0);
  assert.ok(apparent > 16e9, `apparent size ${apparent}`);
  assert.ok(used < 64 << 20, `sparse shards use ${used} bytes of disk`);
  const ckpt = await openCheckpoint(dir);
  try {
    assert.equal(ckpt.spec.params.total, 8_100_852_736);
    assert.equal(ckpt.sharded, true);
    // BF16 weights, F32 SSM scalars: bytes on disk follow from the dtype counts.
    const d = ckpt.dtypeCounts();
    assert.equal((d['BF16'] ?? 0) + (d['F32'] ?? 0), 8_100_852_736);
    assert.equal(ckpt.bytesOnDisk - ckpt.weightFiles.reduce((s, f) => s + (f.size - sizeOfData(ckpt, f.path)), 0), 2 * (d['BF16'] ?? 0) + 4 * (d['F32'] ?? 0));
  } finally {
    await ckpt.close();
  }
});

function sizeOfData(ckpt: Awaited<ReturnType<typeof openCheckpoint>>, file: string): number {
  let n = 0;
  for (const t of ckpt.tensors.values()) if (t.file === file) n += t.byteLength;
  return n;
}
