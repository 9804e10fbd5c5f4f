// runCalibration with the reductions over tokens in the graph (default) and in JS (full taps): same
// importance file up to float32 rounding, and a run interrupted on one path resumes on the other.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { runCalibration, CALIBRATION_DEFAULTS, type CalibrationSettings } from '../../src/core/calibrate/calibrate';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';
import { readTensors } from '../safetensors/helpers';

const dir = mkdtempSync(join(tmpdir(), 'hc-cal-paths-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function writeText(path: string, docs: number, seed: number): void {
  const rng = new Rng(seed);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];
  const lines = Array.from({ length: docs }, () => Array.from({ length: 30 + rng.int(40) }, () => words[rng.int(words.length)]).join(' ') + '.');
  writeFileSync(path, lines.join('\n') + '\n');
}

function assertNear(a: Map<string, Float32Array>, b: Map<string, Float32Array>, rel: number): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    let scale = 0;
    for (const v of y) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < x.length; i++) {
      const err = Math.abs(x[i]! - y[i]!) / Math.max(Math.abs(y[i]!), 1e-3 * scale, 1e-30);
      assert.ok(err <= rel, `${name}[${i}]: ${x[i]} vs ${y[i]} (relative ${err.toExponential(2)})`);
    }
  }
}

test('graph and JS reductions give the same importance file; a JS-path run resumes on the graph path', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'model'), { pattern: 'M*-M', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 8, tokenizer: true, seed: 13 });
  const data = join(dir, 'train.txt');
  writeText(data, 30, 4);
  const s: CalibrationSettings = { ...CALIBRATION_DEFAULTS, model: fx.dir, data, samples: 6, seqLen: 24, batch: 2, depth: 'bi', device: 'cpu', mode: 'whole' };
  const graph = await runCalibration(s, join(dir, 'graph'), 'k', { reduce: 'graph' });
  const js = await runCalibration(s, join(dir, 'js'), 'k', { reduce: 'js' });
  assert.equal(graph.rows, 6);
  assert.equal(js.rows, 6);
  const g = await readTensors(graph.importance);
  assertNear(g, await readTensors(js.importance), 1e-5);

  const ac = new AbortController();
  const mixed = join(dir, 'mixed');
  await assert.rejects(
    runCalibration(s, mixed, 'k', { reduce: 'js', signal: ac.signal, onProgress: (p) => p.done >= 2 && ac.abort() }),
    (e) => e instanceof HybridCompressError && e.code === 'CANCELLED',
  );
  const resumed = await runCalibration(s, mixed, 'k', { reduce: 'graph' });
  assert.equal(resumed.resumedFromRow, 2);
  assert.equal(resumed.rows, 6);
  assertNear(await readTensors(resumed.importance), g, 1e-5);
});
