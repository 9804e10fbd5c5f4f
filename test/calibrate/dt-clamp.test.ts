// calibrate --dt-clamp: the scores follow the chosen lower bound of dt (config's time_step_limit, or
// transformers ≥ 5's time_step_min), in both execution modes, and the run key and importance metadata
// say which. The fixture's time_step_min is raised so that the two rules give clearly different models.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { runCalibration, CALIBRATION_DEFAULTS, type CalibrationSettings } from '../../src/core/calibrate/calibrate';
import { calibrationSettingsFrom, CALIBRATE_SCHEMA } from '../../src/core/calibrate/settings';
import { parseArgv } from '../../src/core/util/option-schema';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { referenceForward } from '../../src/core/model/reference';
import { openModelDataset } from '../../src/core/eval/model-data';
import { bruteActivation } from './brute-scores';
import { maxRelDiff as maxRel } from '../reference/helpers';

const dir = mkdtempSync(join(tmpdir(), 'hc-cal-dt-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('calibrate --dt-clamp transformers5 scores the model with dt bounded by time_step_min (whole and streamed)', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'model'), { pattern: 'M-M-', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, chunkSize: 8, tokenizer: true, seed: 23 });
  const configPath = join(fx.dir, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  config['time_step_min'] = 0.5;
  writeFileSync(configPath, JSON.stringify(config));
  const ckpt = await openCheckpoint(fx.dir);
  const spec = ckpt.spec;
  await ckpt.close();
  const data = join(dir, 'train.txt');
  writeFileSync(data, Array.from({ length: 30 }, (_, i) => `line ${i} of the text with some words in it, and more of them after ${i * 7}.`).join('\n') + '\n');
  const base: CalibrationSettings = { ...CALIBRATION_DEFAULTS, model: fx.dir, data, samples: 4, seqLen: 24, batch: 2, depth: 'bi', device: 'cpu', mode: 'whole' };

  const ds = await openModelDataset(fx.dir, spec, base);
  const ids: number[][] = [];
  for await (const r of ds.rows()) ids.push(Array.from(r.ids));
  await ds.close();
  const want = (mode: 'config' | 'transformers5') => {
    const ref = referenceForward(spec, fx.weights, ids, { taps: true, dtClampMode: mode });
    return bruteActivation(ref.taps.get('layers.2.mamba.x')!, ids.length, base.seqLen, spec.mamba!.innerSize);
  };
  const t5 = want('transformers5');
  const cfg = want('config');
  // The two rules must give different scores here, or this test could not tell them apart.
  assert.ok(maxRel(cfg, t5) > 1e-3, `the fixture's two dt rules differ by only ${maxRel(cfg, t5)}`);

  for (const mode of ['whole', 'streamed'] as const) {
    const res = await runCalibration({ ...base, mode, dtClampMode: 'transformers5' }, join(dir, `run-${mode}`), `k-${mode}`);
    const f = SafetensorsFile.open(res.importance);
    assert.equal(f.metadata['dt_clamp'], 'transformers5');
    const got = await f.readFloat32('layers.2.mamba.activations');
    assert.ok(maxRel(got, t5) < 1e-4, `${mode}: scores vs the transformers5 reference: ${maxRel(got, t5)}`);
    assert.ok(maxRel(got, cfg) > 1e-3, `${mode}: scores look like the config rule's`);
  }
});

test('--dt-clamp parses for calibrate (default config; other values refused)', () => {
  const parse = (...args: string[]) => calibrationSettingsFrom(parseArgv(CALIBRATE_SCHEMA, ['m', '--data', 'd.txt', ...args], '/w'));
  assert.equal(parse().dtClampMode, 'config');
  assert.equal(parse('--dt-clamp', 'transformers5').dtClampMode, 'transformers5');
  assert.throws(() => parse('--dt-clamp', 'torch'), /dt-clamp/);
});
