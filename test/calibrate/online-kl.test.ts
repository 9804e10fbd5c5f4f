// The streaming KL over vocabulary slices equals depth.ts klPerToken on the full logits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnlineKl } from '../../src/core/calibrate/online-kl';
import { klPerToken } from '../../src/core/calibrate/depth';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';

test('OnlineKl over any slicing of the vocabulary and of the tokens = klPerToken on the whole', () => {
  const rng = new Rng(11);
  const T = 9;
  const V = 37;
  const p = Float32Array.from({ length: T * V }, () => rng.normal() * 4);
  const q = Float32Array.from(p, (x, i) => x + (i % 3 === 0 ? rng.normal() : 0.1 * rng.normal()) + 30); // shifted: lse differs
  const want = klPerToken(p, q, T, V);
  for (const widths of [[37], [10, 10, 10, 7], [1, 36], [20, 17]]) {
    const kl = new OnlineKl(T);
    let v0 = 0;
    for (const w of widths) {
      // Tokens in two runs per slice, as batches of a group arrive.
      for (const [t0, n] of [[0, 4], [4, 5]] as const) {
        const zp = new Float32Array(n * w);
        const zq = new Float32Array(n * w);
        for (let t = 0; t < n; t++) for (let v = 0; v < w; v++) {
          zp[t * w + v] = p[(t0 + t) * V + v0 + v]!;
          zq[t * w + v] = q[(t0 + t) * V + v0 + v]!;
        }
        kl.add(zp, zq, t0, n, w);
      }
      v0 += w;
    }
    const got = kl.values();
    for (let t = 0; t < T; t++) assert.ok(Math.abs(got[t]! - want[t]!) <= 1e-12 * Math.max(1, want[t]!), `slices ${widths}: token ${t}: ${got[t]} vs ${want[t]}`);
  }
  const same = new OnlineKl(2);
  same.add(p.subarray(0, 2 * V), p.subarray(0, 2 * V), 0, 2, V);
  assert.deepEqual([...same.values()], [0, 0]);
  assert.throws(() => same.add([NaN, 1], [0, 1], 0, 1, 2), (e) => e instanceof HybridCompressError && e.code === 'NON_FINITE');
  assert.throws(() => same.add([1, 2], [0, 1], 1, 2, 1), (e) => e instanceof HybridCompressError && e.code === 'SHAPE_MISMATCH');
});
