// In-memory random models for the reference-forward tests (no files): the spec comes from the lead's
// fixture config + buildSpec, the values from the same seeded per-role initialiser the fixture writer uses.

import { allTensorSpecs, buildSpec, type HybridModelSpec, type LayerSpec, type TensorRole } from '../../src/core/arch/index';
import { fixtureConfig, fixtureValues, type FixtureOptions } from '../../src/core/testing/fixtures';
import { Rng } from '../../src/core/util/random';

export interface TestModel {
  spec: HybridModelSpec;
  weights: Map<string, Float64Array>;
}

export function makeModel(o: FixtureOptions = {}): TestModel {
  const spec = buildSpec(fixtureConfig(o));
  const rng = new Rng(o.seed ?? 1234);
  const weights = new Map<string, Float64Array>();
  // Same draw order as writeFixtureCheckpoint (model order), so the values agree with written fixtures.
  for (const t of allTensorSpecs(spec)) weights.set(t.name, Float64Array.from(fixtureValues(t, spec, rng)));
  return { spec, weights };
}

export function roleName(layer: LayerSpec, role: TensorRole): string {
  const t = layer.tensors.find((x) => x.role === role);
  if (!t) throw new Error(`layer ${layer.index} has no ${role}`);
  return t.name;
}

export function randomIds(rng: Rng, rows: number, T: number, V: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: T }, () => rng.int(V)));
}

export function randomArray(rng: Rng, n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** max |a − ref| / max |ref|: relative to the reference tensor's scale, so near-zero entries do not dominate. */
export function maxRelDiff(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  return maxAbsDiff(a, ref) / (maxAbs(ref) || 1);
}

/** y = x·Wᵀ for x [T, inF], W [outF, inF], written independently of the code under test. */
export function matmulT(x: ArrayLike<number>, T: number, inF: number, w: ArrayLike<number>, outF: number): Float64Array {
  const y = new Float64Array(T * outF);
  for (let t = 0; t < T; t++) for (let o = 0; o < outF; o++) {
    let s = 0;
    for (let i = 0; i < inF; i++) s += x[t * inF + i]! * w[o * inF + i]!;
    y[t * outF + o] = s;
  }
  return y;
}

export function rmsNormRows(x: ArrayLike<number>, rows: number, width: number, w: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let ms = 0;
    for (let i = 0; i < width; i++) ms += x[r * width + i]! ** 2 / width;
    for (let i = 0; i < width; i++) y[r * width + i] = (w[i]! * x[r * width + i]!) / Math.sqrt(ms + eps);
  }
  return y;
}
