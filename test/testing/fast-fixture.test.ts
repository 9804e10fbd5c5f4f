// Multi-gigabyte fixtures (`fixture --preset 8b|4b`): values from a per-tensor counter-based stream, so
// they depend only on (seed, name, position) — not on chunking or write order — with the scales of the
// small fixtures (N(0,1) embedding, 1/√fan_in projections), written chunk by chunk; the model runs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillApproxNormal, tensorKey } from '../../src/core/testing/fast-weights';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { ForwardRunner } from '../../src/core/runtime/forward-runner';

const dir = mkdtempSync(join(tmpdir(), 'hc-fast-fixture-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('approximate normals: any chunk equals the same positions of a longer fill; mean 0, std = scale', () => {
  const key = tensorKey(1234, 'backbone.layers.0.mixer.in_proj.weight');
  const whole = new Float32Array(1 << 20);
  fillApproxNormal(whole, key, 0, 0.5);
  const part = new Float32Array(1000);
  fillApproxNormal(part, key, 300_000, 0.5);
  assert.deepEqual(part, whole.subarray(300_000, 301_000));
  let s = 0;
  let s2 = 0;
  for (const x of whole) {
    s += x;
    s2 += x * x;
  }
  const mean = s / whole.length;
  const std = Math.sqrt(s2 / whole.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(std / 0.5 - 1) < 0.005, `std ${std}`);
  assert.notEqual(tensorKey(1234, 'a'), tensorKey(1235, 'a'));
  assert.notEqual(tensorKey(1234, 'a'), tensorKey(1234, 'b'));
});

const BIG: FixtureOptions = { pattern: 'M-*', hiddenSize: 1024, vocabSize: 1024, mambaHeads: 16, mambaHeadDim: 64, nGroups: 2, stateSize: 16, intermediateSize: 1024, attentionHeads: 8, kvHeads: 2, attentionHeadDim: 128, dtype: 'BF16', stream: true, tieEmbeddings: false };

test('streamed fixture: seeded and reproducible, sensible scales per role, progress in bytes, and the model runs', async () => {
  const seen: number[] = [];
  const a = await writeFixtureCheckpoint(join(dir, 'a'), { ...BIG, seed: 7 }, { onBytes: (done, total) => seen.push(done / total) });
  const b = await writeFixtureCheckpoint(join(dir, 'b'), { ...BIG, seed: 7 });
  const c = await writeFixtureCheckpoint(join(dir, 'c'), { ...BIG, seed: 8 });
  assert.equal(a.weights.size, 0, 'streamed fixtures keep no values in memory');
  assert.equal(seen.at(-1), 1);
  assert.ok(seen.length > 10 && seen.every((x, i) => i === 0 || x >= seen[i - 1]!));
  const bytes = (d: string) => readFileSync(join(d, 'model.safetensors'));
  assert.ok(bytes(a.dir).equals(bytes(b.dir)), 'same seed, same bytes');
  assert.ok(!bytes(a.dir).equals(bytes(c.dir)), 'another seed, other bytes');

  const ck = await openCheckpoint(a.dir);
  const std = async (name: string) => {
    const v = await ck.readFloat32(name);
    let s2 = 0;
    for (const x of v) s2 += x * x;
    return Math.sqrt(s2 / v.length);
  };
  assert.ok(Math.abs((await std('backbone.embeddings.weight')) - 1) < 0.01);
  assert.ok(Math.abs((await std('backbone.layers.1.mixer.up_proj.weight')) * Math.sqrt(1024) - 1) < 0.01);
  assert.ok(Math.abs((await std('backbone.layers.0.mixer.in_proj.weight')) * Math.sqrt(1024) - 1) < 0.01);
  const aLog = await ck.readFloat32('backbone.layers.0.mixer.A_log');
  assert.ok(aLog.every((x) => x >= 0 && x <= Math.log(16)), 'small tensors keep their role-specific ranges');
  const runner = await ForwardRunner.create(ck, { device: 'cpu' });
  const ids = BigInt64Array.from({ length: 2 * 16 }, (_, i) => BigInt((i * 37) % 1024));
  const { logits } = await runner.run(ids, 2, 16);
  await runner.release();
  await ck.close();
  assert.ok(logits.every((x) => Number.isFinite(x)));
  let s2 = 0;
  for (const x of logits) s2 += x * x;
  const rms = Math.sqrt(s2 / logits.length);
  assert.ok(rms > 0.1 && rms < 100, `logit rms ${rms}`);
});
