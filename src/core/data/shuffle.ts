// Deterministic document order for `shuffle`: a Fisher-Yates permutation of the record indices driven by
// the project's seeded generator (src/core/util/random.ts, mulberry32). Each epoch gets its own stream,
// seeded with a splitmix32-style hash of (seed, epoch) so that neighbouring seeds and epochs give
// unrelated orders. Same (n, seed, epoch) → same permutation on every platform.

import { Rng } from '../util/random';

/** splitmix32 finaliser: a bijective 32-bit mix. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

export function epochSeed(seed: number, epoch: number): number {
  return mix32(mix32(seed >>> 0) ^ mix32((epoch + 0x632be5ab) >>> 0));
}

/** The permutation of [0, n) used for `epoch` of a run seeded with `seed`. */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = new Rng(epochSeed(seed, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
