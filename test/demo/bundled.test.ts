// Smoke test of the bundled teacher (examples/teacher): it is a valid nemotron_h checkpoint with every
// layer kind and several Mamba groups, within the size budget, and on the held-out split it is clearly
// better than the unigram model its card compares it with.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { evaluateLm } from '../../src/core/eval/lm-eval';

const root = join(__dirname, '..', '..');
const teacher = join(root, 'examples', 'teacher');

test('the bundled teacher loads, fits the size budget and beats the unigram baseline on held-out text', async () => {
  const ckpt = await openCheckpoint(teacher);
  const s = ckpt.spec;
  assert.equal(s.family, 'nemotron_h');
  for (const k of ['M', '*', '-']) assert.ok(s.pattern.includes(k), `pattern ${s.pattern} has a ${k} layer`);
  assert.ok([...s.pattern].filter((c) => c === 'M').length >= 4);
  assert.ok(s.mamba!.nGroups > 1);
  assert.ok(ckpt.tokenizerFiles.includes('tokenizer.json'));
  await ckpt.close();
  assert.ok(statSync(join(teacher, 'model.safetensors')).size <= 20e6, 'checkpoint ≤ 20 MB');

  const stats = JSON.parse(readFileSync(join(root, 'examples', 'data', 'stats.json'), 'utf8')) as { tokenizer: { unigram: { withEos: number } } };
  const unigram = stats.tokenizer.unigram.withEos;
  const ev = await evaluateLm({ model: teacher, data: join(root, 'examples', 'data', 'val.txt'), samples: 8, seqLen: 256, batch: 4, device: 'cpu' });
  assert.ok(ev.loss < unigram - 1, `held-out loss ${ev.loss.toFixed(3)} should be clearly below the unigram ${unigram.toFixed(3)} nats/token`);
});
