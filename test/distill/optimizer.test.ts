import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, clipFactor, clipGradients, firstNonFinite, globalNorm } from '../../src/core/distill/optimizer';
import { OptimizerMemory } from '../../src/core/distill/optimizer-memory';
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

for (const gradients of [false, true]) test(`the SIMD kernel (optimizer memory${gradients ? ', gradients in its own blocks, read in place' : ''}) gives the plain loop's bits: any length, decay on and off, clipped and not, over several steps`, () => {
  const rng = new Rng(11);
  const sizes = [1, 2, 3, 8, 17, 1000, 4097];
  const decays = sizes.map((_, k) => k % 2 === 0);
  const w0 = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal()));
  const memory = OptimizerMemory.create(sizes, { gradients })!;
  assert.ok(memory, 'WebAssembly SIMD is available in Node 20');
  assert.equal(memory.gradient(0) !== undefined, gradients);
  sizes.forEach((_, k) => memory.value(k).set(w0[k]!));
  const fast = new AdamW(sizes.map((_, k) => ({ name: `p${k}`, value: memory.value(k), decay: decays[k]! })), undefined, memory);
  const plain = new AdamW(sizes.map((_, k) => ({ name: `p${k}`, value: Float32Array.from(w0[k]!), decay: decays[k]! })));
  assert.equal(fast.usesKernel, true);
  assert.equal(plain.usesKernel, false);
  for (let step = 0; step < 6; step++) {
    // Gradients with zeros, tiny and large values; every other step clipped (the kernel scales, the loop is handed pre-scaled copies).
    const grads = sizes.map((n, k) => {
      const g = gradients ? memory.gradient(k)! : new Float32Array(n);
      for (let i = 0; i < n; i++) g[i] = i % 7 === 0 ? 0 : rng.normal() * (step % 3 === 0 ? 1e-4 : 3);
      return g;
    });
    const maxNorm = step % 2 === 0 ? globalNorm(grads) / 2 : 0;
    const clip = clipFactor(globalNorm(grads), maxNorm);
    assert.equal(clip < 1, step % 2 === 0, 'every other step is clipped');
    const before = grads.map((g) => Float32Array.from(g));
    fast.update(grads, 1e-3 * (step + 1), clip);
    assert.deepEqual(grads, before, 'the kernel path leaves the gradients as they were');
    const copies = grads.map((g) => Float32Array.from(g));
    clipGradients(copies, maxNorm);
    plain.update(copies, 1e-3 * (step + 1));
    for (let k = 0; k < sizes.length; k++) {
      assert.deepEqual(fast.params[k]!.value, plain.params[k]!.value, `step ${step}, tensor ${k}: values`);
      assert.deepEqual(fast.params[k]!.m, plain.params[k]!.m, `step ${step}, tensor ${k}: m`);
      assert.deepEqual(fast.params[k]!.v, plain.params[k]!.v, `step ${step}, tensor ${k}: v`);
    }
  }
  assert.throws(() => new AdamW([{ name: 'x', value: new Float32Array(1), decay: true }], undefined, memory), /optimizer memory's own arrays/);
  assert.equal(OptimizerMemory.create([2 ** 29, 2 ** 29]), undefined, 'past 4 GiB: none (the plain loop is used)');
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

test('the norm kernel: the sum of squares of gradient blocks in the optimizer memory, against a float64 loop, any length; NaN and Inf are not lost', () => {
  const rng = new Rng(13);
  const sizes = [1, 7, 8, 9, 15, 16, 1001, 65543];
  const memory = OptimizerMemory.create(sizes, { gradients: true })!;
  const grads = sizes.map((n, k) => {
    const g = memory.gradient(k)!;
    // Magnitudes over 40 orders, so an element dropped or counted twice would show.
    for (let i = 0; i < n; i++) g[i] = rng.normal() * 10 ** ((i % 9) - 4);
    return g;
  });
  for (const g of grads) {
    let ref = 0;
    for (const x of g) ref += x * x;
    const got = memory.sumOfSquares(g)!;
    assert.ok(Math.abs(got - ref) <= 1e-13 * ref, `${g.length} elements: ${got} vs ${ref}`);
    // Each element counted once: zeroing one removes exactly its square (up to rounding).
    const last = g.length - 1;
    const sq = g[last]! * g[last]!;
    const keep = g[last]!;
    g[last] = 0;
    assert.ok(Math.abs(memory.sumOfSquares(g)! - (got - sq)) <= 1e-13 * got + 1e-300, `${g.length} elements, the last one`);
    g[last] = keep;
  }
  const plain = globalNorm(grads.map((g) => Float32Array.from(g)));
  assert.ok(Math.abs(globalNorm(grads, memory) - plain) <= 1e-13 * plain, 'globalNorm over the memory agrees with the plain loop');
  assert.equal(memory.sumOfSquares(new Float32Array(16)), undefined, 'an array outside the memory: none (the caller loops)');
  assert.ok(Math.abs(globalNorm([...grads, Float32Array.of(3, 4)], memory) ** 2 - (plain ** 2 + 25)) <= 1e-12 * plain ** 2, 'mixed with an array outside it');
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const at of [0, 5, 8, 1000, 65542]) {
      const g = grads[sizes.findIndex((n) => n > at)]!;
      const keep = g[at]!;
      g[at] = bad;
      assert.equal(Number.isFinite(globalNorm(grads, memory)), false, `${bad} at ${at} of ${g.length}`);
      g[at] = keep;
    }
  }
  const huge = grads[7]!.fill(3.4e38);
  assert.ok(Number.isFinite(memory.sumOfSquares(huge)!), 'float32 maxima squared do not overflow the float64 sum');
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
