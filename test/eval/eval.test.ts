// `eval` on the engine: the in-graph loss and the logits path agree with each other and with a float64
// cross-entropy computed from the reference forward; --dump-logits writes [rows, L, V] float32.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { evaluateLm } from '../../src/core/eval/lm-eval';
import { openModelDataset } from '../../src/core/eval/model-data';
import { referenceForward } from '../../src/core/model/reference';
import { crossEntropyReference } from '../../src/core/distill/loss-reference';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { HybridCompressError } from '../../src/core/errors';

const dir = mkdtempSync(join(tmpdir(), 'hc-eval-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('eval loss matches the float64 reference cross-entropy; logits dump has the documented layout', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'm'), { pattern: 'M*-M', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, chunkSize: 16, tokenizer: true, seed: 3 });
  const data = join(dir, 'val.txt');
  writeFileSync(data, Array.from({ length: 30 }, (_, i) => `document ${i}: the quick brown fox jumps over the lazy dog ${i * 7} times.`).join('\n') + '\n');
  const s = { model: fx.dir, data, samples: 5, seqLen: 24, batch: 2, device: 'cpu' as const };
  const inGraph = await evaluateLm(s);
  const dumped = await evaluateLm({ ...s, dumpLogits: join(dir, 'logits.safetensors') });
  assert.equal(inGraph.rows, 5);
  assert.equal(inGraph.predictedTokens, 5 * 23);
  assert.ok(Math.abs(inGraph.loss - dumped.loss) < 1e-5, `${inGraph.loss} vs ${dumped.loss}`);
  assert.ok(Math.abs(inGraph.perplexity - Math.exp(inGraph.loss)) < 1e-9);

  const ds = await openModelDataset(fx.dir, fx.spec, s);
  const ids: number[][] = [];
  for await (const r of ds.rows()) ids.push(Array.from(r.ids));
  await ds.close();
  const ref = referenceForward(fx.spec, fx.weights, ids);
  const want = crossEntropyReference(ref.logits, ids.flat(), ids.length, 24, fx.spec.vocabSize);
  assert.ok(Math.abs(inGraph.loss - want) < 1e-4, `engine ${inGraph.loss} vs reference ${want}`);

  const f = SafetensorsFile.open(dumped.logitsFile!);
  assert.deepEqual(f.info('logits').shape, [5, 24, fx.spec.vocabSize]);
  const logits = await f.readFloat32('logits');
  let maxDiff = 0;
  for (let i = 0; i < logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i]! - ref.logits[i]!));
  assert.ok(maxDiff < 1e-4, `dumped logits vs reference: ${maxDiff}`);
  await f.close();
});

test('eval refuses data with no row of the requested length, naming the file', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'm2'), { pattern: 'M-', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 32, tokenizer: true });
  const data = join(dir, 'short.txt');
  writeFileSync(data, 'hi\n');
  await assert.rejects(evaluateLm({ model: fx.dir, data, seqLen: 512, batch: 1, packing: 'none', device: 'cpu' }), (e) => e instanceof HybridCompressError && e.message.includes('short.txt'));
});

test('layer-streamed eval gives the whole-model loss and logits (BF16 weights, several groups and head slices)', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'm-stream'), { pattern: 'M*-M-', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, chunkSize: 16, tokenizer: true, seed: 8, dtype: 'BF16' });
  const data = join(dir, 'val-stream.txt');
  writeFileSync(data, Array.from({ length: 30 }, (_, i) => `line ${i}: pack my box with five dozen liquor jugs, ${i * 13} of them.`).join('\n') + '\n');
  const s = { model: fx.dir, data, samples: 5, seqLen: 24, batch: 2, device: 'cpu' as const };
  const whole = await evaluateLm({ ...s, mode: 'whole' });
  assert.equal(whole.execution.mode, 'whole');
  // One group and one head slice; then groups of 2 rows (3 groups for 5 rows) and the 272-token vocabulary in 3 slices.
  for (const o of [{}, { stateBytes: 2 * 24 * 32 * 4, headRows: 100 }]) {
    const streamed = await evaluateLm({ ...s, mode: 'streamed', ...o });
    assert.equal(streamed.execution.mode, 'streamed');
    assert.equal(streamed.predictedTokens, whole.predictedTokens);
    assert.ok(Math.abs(streamed.loss - whole.loss) <= 1e-6 * whole.loss, `streamed ${streamed.loss} vs whole ${whole.loss}`);
  }
  const a = await evaluateLm({ ...s, mode: 'whole', dumpLogits: join(dir, 'whole-logits.safetensors') });
  const b = await evaluateLm({ ...s, mode: 'streamed', stateBytes: 2 * 24 * 32 * 4, headRows: 100, dumpLogits: join(dir, 'streamed-logits.safetensors') });
  assert.ok(Math.abs(a.loss - b.loss) <= 1e-6 * a.loss);
  const fa = SafetensorsFile.open(a.logitsFile!);
  const fb = SafetensorsFile.open(b.logitsFile!);
  assert.deepEqual(fb.info('logits').shape, [5, 24, fx.spec.vocabSize]);
  assert.deepEqual(await fb.readFloat32('logits'), await fa.readFloat32('logits'));
  await fa.close();
  await fb.close();
});
