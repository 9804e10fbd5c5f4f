// `generate`: greedy continuation from the last position's logits (lastLogits) picks, token by token,
// the argmax of the float64 reference forward over the growing sequence, and stops at EOS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { generateGreedy } from '../../src/core/eval/generate';
import { referenceForward } from '../../src/core/model/reference';
import { loadTokenizer } from '../../src/core/data/tokenizer';

const dir = mkdtempSync(join(tmpdir(), 'hc-generate-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('greedy tokens equal the argmax of the reference forward at each step', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'm'), { pattern: 'M*-M', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, chunkSize: 16, tokenizer: true, seed: 11 });
  const prompt = 'the quick brown fox';
  const r = await generateGreedy({ model: fx.dir, prompt, maxNewTokens: 6, device: 'cpu', threads: 1 });
  const tok = loadTokenizer(fx.dir);
  const seq = tok.encode(prompt);
  if (tok.bosId !== undefined && seq[0] !== tok.bosId) seq.unshift(tok.bosId);
  const V = fx.spec.vocabSize;
  const want: number[] = [];
  for (let i = 0; i < 6; i++) {
    const logits = referenceForward(fx.spec, fx.weights, [[...seq, ...want]]).logits;
    const base = (seq.length + want.length - 1) * V;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[base + v]! > logits[base + best]!) best = v;
    if (best === tok.eosId) break;
    want.push(best);
  }
  assert.ok(want.length > 0, 'the reference continuation is not empty');
  assert.deepEqual(r.tokens, want);
  assert.equal(r.completion, tok.decode(want));
});
