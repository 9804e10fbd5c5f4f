// The pruner's zero-shot loss check on the layer-streamed engine gives the whole-model loss (the path
// `auto` takes for models that do not fit as one session), with BF16 weights and a tied embedding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { engineEvaluator, loadEvalRows } from '../../src/core/prune/evaluate';

const dir = mkdtempSync(join(tmpdir(), 'hc-verify-stream-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('zero-shot loss: layer-streamed equals whole-model (1e-6 relative), with per-step progress', async () => {
  for (const tie of [false, true]) {
    const fx = await writeFixtureCheckpoint(join(dir, `m-${tie}`), { pattern: 'M-*M', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, chunkSize: 16, seed: 21, dtype: 'BF16', tieEmbeddings: tie });
    const rows = await loadEvalRows(fx.dir, fx.spec, { rows: 3, seqLen: 20, seed: 2 });
    const whole = await engineEvaluator(rows, { device: 'cpu', mode: 'whole' })(fx.dir);
    const steps: [number, number][] = [];
    const streamed = await engineEvaluator(rows, { device: 'cpu', mode: 'streamed', onStep: (d, t) => steps.push([d, t]) })(fx.dir);
    assert.match(streamed.engine, /layer-streamed/);
    assert.ok(Number.isFinite(whole.loss));
    assert.ok(Math.abs(streamed.loss - whole.loss) <= 1e-6 * whole.loss, `tied ${tie}: streamed ${streamed.loss} vs whole ${whole.loss}`);
    assert.deepEqual(steps.at(-1), [fx.spec.numLayers + 1, fx.spec.numLayers + 1]);
  }
});
