// Calibration's parent-side checks: every input is checked before the fingerprint or any model load
// (a .txt without the model's tokenizer fails at once, naming the fix), and a run that failed never
// blocks a retry into the same --out, while a finished one is only replaced with --force.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { checkCalibrationInputs, chooseCalibrationRun } from '../../src/core/calibrate/calibration-run';
import { CALIBRATION_DEFAULTS, type CalibrationSettings } from '../../src/core/calibrate/settings';
import { IMPORTANCE_FILE } from '../../src/core/calibrate/importance-file';
import { createRun } from '../../src/core/runs/index';
import { HybridCompressError } from '../../src/core/errors';

const dir = mkdtempSync(join(tmpdir(), 'hc-cal-inputs-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('inputs are checked before anything expensive: text needs a tokenizer, rows must fit --seq-len, --out must not hold another kind of run', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'no-tok'), { seed: 2 }); // no tokenizer.json
  const text = join(dir, 'a.txt');
  writeFileSync(text, 'plain text that needs a tokenizer\n'.repeat(20));
  const s: CalibrationSettings = { ...CALIBRATION_DEFAULTS, model: fx.dir, data: text, samples: 4, seqLen: 16 };
  await assert.rejects(checkCalibrationInputs(s), (e) => e instanceof HybridCompressError && /tokenizer\.json/.test(e.message) && e.message.includes(text));
  const jsonl = join(dir, 'ids.jsonl');
  writeFileSync(jsonl, Array.from({ length: 4 }, (_, i) => JSON.stringify({ input_ids: Array.from({ length: 20 }, (_, t) => (i * 20 + t) % 200) })).join('\n') + '\n');
  await checkCalibrationInputs({ ...s, data: jsonl });
  await assert.rejects(checkCalibrationInputs({ ...s, data: jsonl, seqLen: 4096, packing: 'none' }), (e) => e instanceof HybridCompressError && e.message.includes('4096'));
  await assert.rejects(checkCalibrationInputs({ ...s, data: join(dir, 'missing.jsonl') }), (e) => e instanceof HybridCompressError && e.message.includes('no such file'));
  const out = join(dir, 'prune-out');
  await (await createRun(dir, { kind: 'prune', dir: out, inputs: {}, settings: {} })).complete({});
  await assert.rejects(checkCalibrationInputs({ ...s, data: jsonl }, { out }), (e) => e instanceof HybridCompressError && e.message.includes('prune run'));
});

test('a failed run never blocks a retry into the same --out; a finished one needs --force', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'm'), { seed: 3 });
  const s: CalibrationSettings = { ...CALIBRATION_DEFAULTS, model: fx.dir, data: join(dir, 'x.jsonl') };
  const out = join(dir, 'cal-out');
  const first = await chooseCalibrationRun(dir, s, 'key-a', { out });
  assert.equal(first.action, 'new');
  await first.run.fail(new HybridCompressError('DATA_INVALID', 'bad data'));
  // Other settings (another key), same folder: the failed run is taken over.
  const retry = await chooseCalibrationRun(dir, { ...s, seqLen: 64 }, 'key-b', { out });
  assert.equal(retry.action, 'new');
  assert.equal(retry.run.dir, out);
  assert.equal(retry.run.record.settings['key'], 'key-b');
  writeFileSync(join(out, IMPORTANCE_FILE), 'scores');
  await retry.run.complete({});
  await assert.rejects(chooseCalibrationRun(dir, s, 'key-c', { out }), (e) => e instanceof HybridCompressError && /finished calibrate run.*--force/.test(e.message));
  const forced = await chooseCalibrationRun(dir, s, 'key-c', { out, force: true });
  assert.equal(forced.action, 'new');
  assert.equal(forced.run.record.settings['key'], 'key-c');
  // The same key as a finished run is reused, not recomputed.
  writeFileSync(join(out, IMPORTANCE_FILE), 'scores');
  await forced.run.complete({});
  assert.equal((await chooseCalibrationRun(dir, s, 'key-c', { out })).action, 'reuse');
});
