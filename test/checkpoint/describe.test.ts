// The inspection report's formatting helpers and table.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describeCheckpoint, formatBytes, formatCount, formatInspectReport, groupThousands } from '../../src/core/checkpoint/describe';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { Rng } from '../../src/core/util/random';
import { tempDir } from '../safetensors/helpers';

const tmp = tempDir('describe');
after(tmp.cleanup);

test('groupThousands agrees with toLocaleString("en-US") on integers', () => {
  const rng = new Rng(3);
  const samples = [0, 7, 999, 1000, -1000, 999_999, 1_000_000, 8_100_852_736, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 2000; i++) samples.push(Math.floor((rng.next() - 0.3) * 10 ** rng.int(16)));
  for (const n of samples) assert.equal(groupThousands(n), n.toLocaleString('en-US'), String(n));
  assert.equal(groupThousands(1.5), (1.5).toLocaleString('en-US'));
});

test('formatCount and formatBytes pick readable units', () => {
  assert.equal(formatCount(8_100_852_736), '8.10B');
  assert.equal(formatCount(13_800_000), '13.80M');
  assert.equal(formatCount(4_096), '4.1K');
  assert.equal(formatCount(12), '12');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(16 * 1024 ** 3), '16.00 GiB');
  assert.equal(formatBytes(1536), '1.50 KiB');
});

test('the table shows family, pattern, dims, per-component parameters, size and tokenizer state', async () => {
  const dir = join(tmp.dir, 'm');
  await writeFixtureCheckpoint(dir, { pattern: 'M-*', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, attentionHeads: 4, kvHeads: 2, intermediateSize: 48, vocabSize: 300, dtype: 'BF16' });
  const ckpt = await openCheckpoint(dir);
  try {
    const r = describeCheckpoint(ckpt);
    assert.equal(r.layer_counts.M, 1);
    assert.equal(r.layer_counts['*'], 1);
    assert.equal(r.tokenizer.found, false);
    assert.equal(r.bytes_on_disk, ckpt.weightFiles[0]!.size);
    assert.equal(Object.values(r.dtypes).reduce((a, b) => a + b, 0), r.params.total);
    const table = formatInspectReport(r);
    for (const want of ['nemotron_h', 'M-*', '1×Mamba2', '1×attention', '1×MLP', '32 / 300', 'BF16', 'F32', groupThousands(r.params.total), 'not found', '1 file']) {
      assert.ok(table.includes(want), `"${want}" in\n${table}`);
    }
    // Percentages of the non-zero components add up to ~100.
    const pcts = [...table.matchAll(/(\d+\.\d)%/g)].map((m) => Number(m[1]));
    assert.ok(Math.abs(pcts.reduce((a, b) => a + b, 0) - 100) < 0.5, String(pcts));
  } finally {
    await ckpt.close();
  }
});
