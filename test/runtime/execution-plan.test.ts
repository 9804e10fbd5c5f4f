// The whole-vs-streamed rule and the memory estimates it rests on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { NEMOTRON_H_4B, NEMOTRON_H_8B } from '../../src/core/testing/nemotron-h-8b';
import { BENCH_FIXTURE } from '../../src/core/testing/presets';
import { chooseExecution, memoryHint, stateBudgetBytes, streamedBytes, wholeModelBytes, WHOLE_BYTES_PER_PARAM } from '../../src/core/runtime/execution-plan';
import { HybridCompressError } from '../../src/core/errors';
import { formatBytes, memoryInfo, processMemory } from '../../src/core/util/memory';

const GB = 1e9;

test('auto: whole model when its estimate is at most half the available memory, streamed otherwise; whole/streamed as asked', () => {
  const bench = buildSpec(fixtureConfig(BENCH_FIXTURE));
  const b8 = buildSpec(fixtureConfig(NEMOTRON_H_8B));
  const b4 = buildSpec(fixtureConfig(NEMOTRON_H_4B));
  assert.equal(chooseExecution(bench, 'auto', { available: 2 * GB }).mode, 'whole');
  // 8B: ~49 GB as one session; 4B: ~27 GB. A 24 GB machine and a 128 GB one.
  assert.equal(chooseExecution(b8, 'auto', { available: 22 * GB }).mode, 'streamed');
  assert.equal(chooseExecution(b4, 'auto', { available: 22 * GB }).mode, 'streamed');
  assert.equal(chooseExecution(b8, 'auto', { available: 128 * GB }).mode, 'whole');
  const edge = wholeModelBytes(b4);
  assert.equal(chooseExecution(b4, 'auto', { available: 2 * edge }).mode, 'whole');
  assert.equal(chooseExecution(b4, 'auto', { available: 2 * edge - 1 }).mode, 'streamed');
  assert.equal(chooseExecution(b8, 'whole', { available: 1 * GB }).mode, 'whole');
  assert.equal(chooseExecution(bench, 'streamed', { available: 100 * GB }).mode, 'streamed');
  assert.match(chooseExecution(b8, 'auto', { available: 22 * GB }).reason, /layer-streamed execution: the whole model needs about 49 GB, 22 GB is available/);
  assert.throws(() => chooseExecution(bench, 'fast' as never), (e) => e instanceof HybridCompressError && e.context.option === 'mode');
  assert.equal(wholeModelBytes(b8), 300e6 + WHOLE_BYTES_PER_PARAM * b8.params.total);
});

test('streamed estimate: bounded by the largest layer, not the model; grows with the hidden states kept', () => {
  const b8 = buildSpec(fixtureConfig(NEMOTRON_H_8B));
  const small = streamedBytes(b8, { tokens: 128, microTokens: 128 });
  assert.ok(small < 3 * GB && small > 1 * GB, formatBytes(small)); // measured worker peak: 2.4 GB (bench/scale.ts)
  assert.ok(streamedBytes(b8, { tokens: 128 * 1024, microTokens: 128, states: 53 }) > small + 53 * 128 * 1024 * 4096 * 4 * 0.9);
  assert.match(memoryHint(b8, { batch: 1, seqLen: 64 }), /whole model needs about 49 GB, layer-streamed execution about \d\.\d GB with --batch 1 × --seq-len 64: run with --mode streamed/);
  assert.match(memoryHint(b8, { batch: 1, seqLen: 64, mode: 'streamed' }), /lower --batch or --seq-len/);
  assert.equal(stateBudgetBytes(1 * GB), 200e6);
  assert.equal(stateBudgetBytes(0), 64e6);
  assert.equal(stateBudgetBytes(1000 * GB), 4e9);
});

test('memory facts are read from /proc where there is one', { skip: process.platform !== 'linux' }, () => {
  const m = memoryInfo();
  assert.ok(m.total > 0 && m.available > 0 && m.available <= m.total);
  const p = processMemory()!;
  assert.ok(p.rss > 10e6 && p.peak >= p.rss);
  assert.equal(processMemory(2 ** 22 + 12345), undefined, 'a pid that does not exist');
});
