import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, clipGradients, firstNonFinite, globalNorm } from '../../src/core/distill/optimizer';
import { learningRate } from '../../src/core/distill/schedule';
import { Rng } from '../../src/core/util/random';

// Slow float64 AdamW written from the torch.optim.AdamW update equations.
function adamwReference(w0: number[], grads: number[][], lrs: number[], decay: boolean, cfg = { b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.01 }): number[] {
  const w = w0.slice();
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    const lr = lrs[k]!;
    for (let i = 0; i < w.length; i++) {
      if (decay) w[i]! *= 1 - lr * cfg.wd;
      m[i] = cfg.b1 * m[i]! + (1 - cfg.b1) * g[i]!;
      v[i] = cfg.b2 * v[i]! + (1 - cfg.b2) * g[i]! ** 2;
      const mh = m[i]! / (1 - cfg.b1 ** t);
      const vh = v[i]! / (1 - cfg.b2 ** t);
      w[i] = w[i]! - (lr * mh) / (Math.sqrt(vh) + cfg.eps);
    }
  });
  return w;
}

test('AdamW matches a float64 reference of torch AdamW over several steps, with and without decay', () => {
  const rng = new Rng(7);
  for (const decay of [true, false]) {
    const n = 50;
    const w0 = Array.from({ length: n }, () => rng.normal());
    const grads = Array.from({ length: 6 }, () => Array.from({ length: n }, () => rng.normal() * 0.1));
    const lrs = [1e-3, 2e-3, 3e-3, 2e-3, 1e-3, 5e-4];
    const opt = new AdamW([{ name: 'w', value: Float32Array.from(w0), decay }]);
    grads.forEach((g, k) => opt.update([Float32Array.from(g)], lrs[k]!));
    const ref = adamwReference(w0, grads, lrs, decay);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(opt.params[0]!.value[i]! - ref[i]!) < 1e-5, `element ${i}: ${opt.params[0]!.value[i]} vs ${ref[i]}`);
    assert.equal(opt.step, 6);
  }
});

test('decay only changes decayed parameters when the gradient is zero', () => {
  const a = new AdamW([
    { name: 'w', value: Float32Array.of(1, -2), decay: true },
    { name: 'n', value: Float32Array.of(1, -2), decay: false },
  ]);
  a.update([new Float32Array(2), new Float32Array(2)], 0.1);
  assert.deepEqual([...a.params[1]!.value], [1, -2]);
  assert.ok(Math.abs(a.params[0]!.value[0]! - 0.999) < 1e-6);
});

test('gradient clipping scales to the max norm and reports the norm before clipping', () => {
  const g = [Float32Array.of(3, 0), Float32Array.of(0, 4)];
  const before = clipGradients(g, 1);
  assert.ok(Math.abs(before - 5) < 1e-9);
  assert.ok(Math.abs(globalNorm(g) - 1) < 1e-5);
  const small = [Float32Array.of(0.3, 0.4)];
  clipGradients(small, 1);
  assert.deepEqual([...small[0]!], [Float32Array.of(0.3)[0], Float32Array.of(0.4)[0]]);
});

test('firstNonFinite finds the first NaN/Inf gradient tensor', () => {
  assert.equal(firstNonFinite([Float32Array.of(1), Float32Array.of(2)]), -1);
  assert.equal(firstNonFinite([Float32Array.of(1), Float32Array.of(NaN), Float32Array.of(Infinity)]), 1);
  assert.equal(firstNonFinite([Float32Array.of(-Infinity)]), 0);
});

test('learning rate: linear warmup, cosine to min at the last step, monotone decay', () => {
  const s = { lr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110 };
  assert.ok(Math.abs(learningRate(s, 1) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(s, 10) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRate(s, 60) - 5.5e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(s, 110) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRate(s, 500) - 1e-4) < 1e-12);
  for (let k = 11; k < 110; k++) assert.ok(learningRate(s, k + 1) <= learningRate(s, k));
});
