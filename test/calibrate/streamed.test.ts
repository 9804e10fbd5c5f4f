// Layer-streamed calibration (runtime/streamed-model.ts + calibrate/streamed-passes.ts) against the
// whole-model path on the same fixtures: every importance score (width, block importance, depth KL)
// agrees to 1e-6 relative, also when the hidden-state budget splits the rows into several groups and
// the depth-KL forks into several sets, and with BF16 weights (upcast in JS instead of in ORT).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { runCalibration, CALIBRATION_DEFAULTS, type CalibrationSettings } from '../../src/core/calibrate/calibrate';
import { SafetensorsFile } from '../../src/core/safetensors/reader';

const dir = mkdtempSync(join(tmpdir(), 'hc-cal-stream-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function writeText(path: string, docs: number, seed: number): void {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  const words = 'the of and to a in that is was he for it with as his on be at by this had not are but from or have an they which one you were'.split(' ');
  const lines: string[] = [];
  for (let d = 0; d < docs; d++) lines.push(Array.from({ length: 30 + Math.floor(rnd() * 50) }, () => words[Math.floor(rnd() * words.length)]).join(' ') + '.');
  writeFileSync(path, lines.join('\n') + '\n');
}

const MODEL: FixtureOptions = { pattern: 'M-M*M-', hiddenSize: 48, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 64, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 16, chunkSize: 16, tokenizer: true, seed: 11 };

/** Max over elements of |a − b| / max(|b|, 1e-30); every score must pass 1e-6. */
async function assertSameScores(a: string, b: string, rel = 1e-6): Promise<number> {
  const fa = SafetensorsFile.open(a);
  const fb = SafetensorsFile.open(b);
  assert.deepEqual(fa.names, fb.names);
  let worst = 0;
  for (const n of fa.names) {
    const x = await fa.readFloat32(n);
    const y = await fb.readFloat32(n);
    assert.equal(x.length, y.length, n);
    for (let i = 0; i < x.length; i++) {
      const err = Math.abs(x[i]! - y[i]!) / Math.max(Math.abs(y[i]!), 1e-30);
      worst = Math.max(worst, err);
      assert.ok(err <= rel, `${n}[${i}]: streamed ${x[i]} vs whole ${y[i]} (relative error ${err.toExponential(2)})`);
    }
  }
  await fa.close();
  await fb.close();
  return worst;
}

for (const dtype of ['F32', 'BF16'] as const) {
  test(`streamed calibration (${dtype} weights) gives the whole-model scores: width, block importance and depth KL`, async () => {
    const fx = await writeFixtureCheckpoint(join(dir, `model-${dtype}`), { ...MODEL, dtype });
    const data = join(dir, `train-${dtype}.txt`);
    writeText(data, 40, 3);
    const s: CalibrationSettings = { ...CALIBRATION_DEFAULTS, model: fx.dir, data, samples: 6, seqLen: 40, batch: 2, depth: 'kl', depthSamples: 5, device: 'cpu', mode: 'whole' };
    const whole = await runCalibration(s, join(dir, `whole-${dtype}`), 'k');
    assert.equal(whole.execution.mode, 'whole');
    // One group holding every row, all forks in one set.
    const one = await runCalibration({ ...s, mode: 'streamed' }, join(dir, `streamed-${dtype}`), 'k');
    assert.equal(one.execution.mode, 'streamed');
    await assertSameScores(one.importance, whole.importance);
    // A budget of 4 rows of hidden state: the scores run in 2 groups (4 + 2 rows); depth KL in groups of one
    // batch (its 7 states do not fit), with 1 fork per set for 2-row groups and 3 for the last 1-row group.
    const D = fx.spec.hiddenSize;
    const L = fx.spec.numLayers;
    const steps = new Map<string, number>();
    const small = await runCalibration({ ...s, mode: 'streamed' }, join(dir, `small-${dtype}`), 'k', {
      stateBytes: 4 * 40 * D * 4,
      onProgress: (p) => steps.set(p.phase, Math.max(steps.get(p.phase) ?? 0, p.done)),
    });
    assert.equal(steps.get('scores'), 2 * L, 'layer steps: score groups × layers');
    assert.equal(steps.get('depth-kl'), (6 + 6 + 2) * (L + 1), 'steps: KL passes (fork sets of the 3 groups) × (layers + 1 head slice)');
    const worst = await assertSameScores(small.importance, whole.importance);
    console.log(`worst relative difference streamed vs whole (${dtype}): ${worst.toExponential(2)}`);
  });
}

test('streamed calibration without depth and with JS reductions also matches', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'model-js'), { ...MODEL, dtype: 'BF16', seed: 4 });
  const data = join(dir, 'train-js.txt');
  writeText(data, 30, 5);
  const s: CalibrationSettings = { ...CALIBRATION_DEFAULTS, model: fx.dir, data, samples: 4, seqLen: 24, batch: 1, depth: 'none', device: 'cpu', mode: 'whole' };
  const whole = await runCalibration(s, join(dir, 'js-whole'), 'k', { reduce: 'js' });
  const streamed = await runCalibration({ ...s, mode: 'streamed' }, join(dir, 'js-streamed'), 'k', { reduce: 'js', stateBytes: 24 * 48 * 4 * 2 });
  await assertSameScores(streamed.importance, whole.importance);
});
