// Every builder op helper against a plain-JS computation of the same op, on ORT CPU; the builder's
// inferred output shape must equal what ORT returns.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, OPS, type Value } from '../../src/core/onnx/index';
import { Rng } from '../../src/core/util/random';
import { bcastIndex, maxAbsDiff, numel, randn, runGraph, runOp, strides, unravel } from './helpers';

const rng = new Rng(7);
const covered = new Set<string>();

async function check(op: string | string[], shapes: number[][], build: (g: GraphBuilder, xs: Value[]) => Value, expected: (xs: Float32Array[]) => { data: ArrayLike<number>; dims: number[] }, o: { data?: Float32Array[]; tol?: number } = {}) {
  for (const name of Array.isArray(op) ? op : [op]) covered.add(name);
  const data = o.data ?? shapes.map((s) => randn(rng, numel(s)));
  let inferred: readonly (number | string)[] = [];
  const got = await runOp(shapes, (g, xs) => {
    const y = build(g, xs);
    inferred = y.shape;
    return y;
  }, data);
  const want = expected(data);
  assert.deepEqual([...got.dims], want.dims, `${op}: ORT dims`);
  assert.deepEqual([...inferred], want.dims, `${op}: inferred shape`);
  const d = maxAbsDiff(got.data, want.data);
  assert.ok(d <= (o.tol ?? 1e-5), `${op}: max abs diff ${d}`);
}

/** Elementwise binary with numpy broadcasting, in JS. */
function bin(a: Float32Array, sa: number[], b: Float32Array, sb: number[], f: (x: number, y: number) => number) {
  const rank = Math.max(sa.length, sb.length);
  const pa = [...new Array(rank - sa.length).fill(1), ...sa];
  const pb = [...new Array(rank - sb.length).fill(1), ...sb];
  const dims = pa.map((d, i) => Math.max(d, pb[i]!));
  const out = new Float64Array(numel(dims));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, dims);
    out[i] = f(a[bcastIndex(idx, pa)]!, b[bcastIndex(idx, pb)]!);
  }
  return { data: out, dims };
}

test('binary elementwise ops broadcast like numpy', async () => {
  const cases: [string, (g: GraphBuilder, a: Value, b: Value) => Value, (x: number, y: number) => number][] = [
    ['Add', (g, a, b) => g.add(a, b), (x, y) => x + y],
    ['Sub', (g, a, b) => g.sub(a, b), (x, y) => x - y],
    ['Mul', (g, a, b) => g.mul(a, b), (x, y) => x * y],
    ['Div', (g, a, b) => g.div(a, b), (x, y) => x / y],
    ['Max', (g, a, b) => g.max(a, b), Math.max],
    ['Min', (g, a, b) => g.min(a, b), Math.min],
  ];
  for (const [op, f, js] of cases) {
    const sa = [2, 3, 4];
    const sb = [3, 1];
    const a = randn(rng, 24);
    const b = randn(rng, 3).map((v) => (op === 'Div' ? Math.sign(v) * (Math.abs(v) + 0.5) : v));
    await check(op, [sa, sb], (g, [x, y]) => f(g, x!, y!), () => bin(a, sa, b, sb, js), { data: [a, b] });
  }
  const base = randn(rng, 6).map((v) => Math.abs(v) + 0.1);
  const ex = randn(rng, 6);
  await check('Pow', [[2, 3], [2, 3]], (g, [x, y]) => g.pow(x!, y!), () => bin(base, [2, 3], ex, [2, 3], Math.pow), { data: [base, ex], tol: 1e-4 });
  // A JS number operand becomes a scalar constant.
  const a = randn(rng, 6);
  await check('Mul', [[2, 3]], (g, [x]) => g.mul(x!, 2.5), () => ({ data: a.map((v) => v * 2.5), dims: [2, 3] }), { data: [a] });
});

test('unary elementwise ops match Math', async () => {
  const softplus = (x: number) => Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
  const cases: [string, (g: GraphBuilder, x: Value) => Value, (x: number) => number, boolean][] = [
    ['Exp', (g, x) => g.exp(x), Math.exp, false],
    ['Log', (g, x) => g.log(x), Math.log, true],
    ['Neg', (g, x) => g.neg(x), (v) => -v, false],
    ['Sqrt', (g, x) => g.sqrt(x), Math.sqrt, true],
    ['Reciprocal', (g, x) => g.reciprocal(x), (v) => 1 / v, true],
    ['Sigmoid', (g, x) => g.sigmoid(x), (v) => 1 / (1 + Math.exp(-v)), false],
    ['Softplus', (g, x) => g.softplus(x), softplus, false],
    ['Relu', (g, x) => g.relu(x), (v) => Math.max(v, 0), false],
    ['Tanh', (g, x) => g.tanh(x), Math.tanh, false],
    ['Abs', (g, x) => g.abs(x), Math.abs, false],
    ['Identity', (g, x) => g.identity(x), (v) => v, false],
  ];
  for (const [op, f, js, positive] of cases) {
    const x = randn(rng, 30, 3).map((v) => (positive ? Math.abs(v) + 0.05 : v));
    await check(op, [[5, 6]], (g, [a]) => f(g, a!), () => ({ data: x.map(js), dims: [5, 6] }), { data: [x], tol: 1e-5 * 30 });
  }
  const x = randn(rng, 12, 2);
  await check('Clip', [[12]], (g, [a]) => g.clip(a!, -0.5, 1), () => ({ data: x.map((v) => Math.min(Math.max(v, -0.5), 1)), dims: [12] }), { data: [x] });
  await check('Clip', [[12]], (g, [a]) => g.clip(a!, 0.25, undefined), () => ({ data: x.map((v) => Math.max(v, 0.25)), dims: [12] }), { data: [x] });
});

test('Where, comparisons and Cast', async () => {
  const a = randn(rng, 12);
  const b = randn(rng, 4);
  await check(['Where', 'Greater'], [[3, 4], [4]], (g, [x, y]) => g.where(g.greater(x!, 0), x!, y!), () => bin(a, [3, 4], b, [4], (p, q) => (p > 0 ? p : q)), { data: [a, b] });
  await check(['Where', 'Less'], [[3, 4], [4]], (g, [x, y]) => g.where(g.less(x!, y!), -Infinity, x!), () => bin(a, [3, 4], b, [4], (p, q) => (p < q ? -Infinity : p)), { data: [a, b] });
  const c = Float32Array.from([1, 2, 2, 3]);
  await check(['Where', 'Equal'], [[4]], (g, [x]) => g.where(g.equal(x!, 2), 1, 0), () => ({ data: [0, 1, 1, 0], dims: [4] }), { data: [c] });
  // f32 → f16 → f32 and → bf16 → f32 round to the nearest representable value.
  const v = Float32Array.from([1, -2.5, 0.1, 65504, 3.14159, 1e-3]);
  const f16 = [1, -2.5, 0.0999755859375, 65504, 3.140625, 0.0010004043579101562];
  await check('Cast', [[6]], (g, [x]) => g.cast(g.cast(x!, 'float16'), 'float32'), () => ({ data: f16, dims: [6] }), { data: [v], tol: 0 });
  const bf16 = Array.from(v, (x) => {
    const u = new Uint32Array(new Float32Array([x]).buffer)[0]!;
    const r = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16;
    return new Float32Array(new Uint32Array([r >>> 0]).buffer)[0]!;
  });
  await check('Cast', [[6]], (g, [x]) => g.cast(g.cast(x!, 'bfloat16'), 'float32'), () => ({ data: bf16, dims: [6] }), { data: [v], tol: 0 });
});

/** Batched matmul with numpy broadcasting of the batch dims, optional transposes of the last two axes. */
function jsMatmul(a: Float32Array, sa: number[], b: Float32Array, sb: number[], ta = false, tb = false, alpha = 1) {
  const [m, k] = ta ? [sa.at(-1)!, sa.at(-2)!] : [sa.at(-2)!, sa.at(-1)!];
  const n = tb ? sb.at(-2)! : sb.at(-1)!;
  const ba = sa.slice(0, -2);
  const bb = sb.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const pa = [...new Array(rank - ba.length).fill(1), ...ba];
  const pb = [...new Array(rank - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const out = new Float64Array(numel(batch) * m * n);
  for (let bi = 0; bi < numel(batch); bi++) {
    const idx = unravel(bi, batch);
    const oa = bcastIndex(idx, pa) * m * k;
    const ob = bcastIndex(idx, pb) * k * n;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a[oa + (ta ? q * m + i : i * k + q)]! * b[ob + (tb ? j * k + q : q * n + j)]!;
      out[bi * m * n + i * n + j] = alpha * s;
    }
  }
  return { data: out, dims: [...batch, m, n] };
}

test('MatMul, FusedMatMul, Gemm and Einsum', async () => {
  const a = randn(rng, 2 * 1 * 3 * 4);
  const b = randn(rng, 3 * 4 * 5);
  await check('MatMul', [[2, 1, 3, 4], [3, 4, 5]], (g, [x, y]) => g.matmul(x!, y!), () => jsMatmul(a, [2, 1, 3, 4], b, [3, 4, 5]), { data: [a, b] });
  const c = randn(rng, 2 * 4 * 3);
  const d = randn(rng, 2 * 5 * 4);
  await check('FusedMatMul', [[2, 4, 3], [2, 5, 4]], (g, [x, y]) => g.fusedMatMul(x!, y!, { transA: true, transB: true, alpha: 0.5 }), () => jsMatmul(c, [2, 4, 3], d, [2, 5, 4], true, true, 0.5), { data: [c, d] });
  const e = randn(rng, 6 * 4);
  const w = randn(rng, 3 * 4);
  const bias = randn(rng, 3);
  await check('Gemm', [[6, 4], [3, 4], [3]], (g, [x, y, z]) => g.gemm(x!, y!, z!, { transB: true }), () => {
    const r = jsMatmul(e, [6, 4], w, [3, 4], false, true);
    return { data: r.data.map((v, i) => v + bias[i % 3]!), dims: r.dims };
  }, { data: [e, w, bias] });
  const p = randn(rng, 2 * 3 * 4);
  const q = randn(rng, 2 * 4 * 2);
  await check('Einsum', [[2, 3, 4], [2, 4, 2]], (g, [x, y]) => g.einsum('bij,bjk->bik', [x!, y!]), () => jsMatmul(p, [2, 3, 4], q, [2, 4, 2]), { data: [p, q] });
});

test('Conv: depthwise causal 1-D (the Mamba conv)', async () => {
  const [N, C, L, K] = [2, 3, 7, 4];
  const x = randn(rng, N * C * L);
  const w = randn(rng, C * K);
  const b = randn(rng, C);
  await check('Conv', [[N, C, L], [C, 1, K], [C]], (g, [xi, wi, bi]) => g.conv(xi!, wi!, bi!, { group: C, pads: [K - 1, 0] }), () => {
    const out = new Float64Array(N * C * L);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let t = 0; t < L; t++) {
      let s = b[c]!;
      for (let k = 0; k < K; k++) {
        const src = t - (K - 1) + k;
        if (src >= 0) s += w[c * K + k]! * x[(n * C + c) * L + src]!;
      }
      out[(n * C + c) * L + t] = s;
    }
    return { data: out, dims: [N, C, L] };
  }, { data: [x, w, b] });
});

test('Softmax, LogSoftmax, CumSum and reductions', async () => {
  const s = [2, 3, 4];
  const x = randn(rng, 24, 2);
  const alongAxis = (axis: number, f: (vals: number[]) => number[]) => {
    const out = new Float64Array(24);
    const st = strides(s);
    for (let i = 0; i < 24; i++) {
      const idx = unravel(i, s);
      if (idx[axis] !== 0) continue;
      const flat = (j: number) => i + j * st[axis]!;
      const vals = Array.from({ length: s[axis]! }, (_, j) => x[flat(j)]!);
      f(vals).forEach((v, j) => (out[flat(j)] = v));
    }
    return { data: out, dims: s };
  };
  const softmax = (v: number[]) => {
    const m = Math.max(...v);
    const e = v.map((u) => Math.exp(u - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((u) => u / z);
  };
  await check('Softmax', [s], (g, [a]) => g.softmax(a!, -1), () => alongAxis(2, softmax), { data: [x] });
  await check('Softmax', [s], (g, [a]) => g.softmax(a!, 1), () => alongAxis(1, softmax), { data: [x] });
  await check('LogSoftmax', [s], (g, [a]) => g.logSoftmax(a!, -1), () => alongAxis(2, (v) => softmax(v).map(Math.log)), { data: [x] });
  const cum = (v: number[], excl: boolean, rev: boolean) => {
    const w = rev ? v.slice().reverse() : v;
    let acc = 0;
    const r = w.map((u) => {
      const before = acc;
      acc += u;
      return excl ? before : acc;
    });
    return rev ? r.reverse() : r;
  };
  await check('CumSum', [s], (g, [a]) => g.cumsum(a!, -1), () => alongAxis(2, (v) => cum(v, false, false)), { data: [x] });
  await check('CumSum', [s], (g, [a]) => g.cumsum(a!, 1, { exclusive: true, reverse: true }), () => alongAxis(1, (v) => cum(v, true, true)), { data: [x] });
  const reduce = (axis: number, keep: boolean, f: (v: number[]) => number) => {
    const dims = s.map((d, i) => (i === axis ? 1 : d));
    const out = new Float64Array(numel(dims));
    for (let i = 0; i < out.length; i++) {
      const idx = unravel(i, dims);
      const vals = Array.from({ length: s[axis]! }, (_, j) => x[bcastIndex(idx.map((v, k) => (k === axis ? j : v)), s)]!);
      out[i] = f(vals);
    }
    return { data: out, dims: keep ? dims : s.filter((_, i) => i !== axis) };
  };
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  await check('ReduceSum', [s], (g, [a]) => g.reduceSum(a!, [1]), () => reduce(1, true, sum), { data: [x] });
  await check('ReduceMean', [s], (g, [a]) => g.reduceMean(a!, [-1], false), () => reduce(2, false, (v) => sum(v) / v.length), { data: [x] });
  await check('ReduceSumSquare', [s], (g, [a]) => g.reduceSumSquare(a!, [0], false), () => reduce(0, false, (v) => sum(v.map((u) => u * u))), { data: [x] });
  await check('ReduceMax', [s], (g, [a]) => g.reduceMax(a!, [2]), () => reduce(2, true, (v) => Math.max(...v)), { data: [x] });
});

test('RMSNorm (SimplifiedLayerNormalization) and SkipSimplifiedLayerNormalization', async () => {
  const [R, D, eps] = [5, 8, 1e-5];
  const x = randn(rng, R * D, 3);
  const skip = randn(rng, R * D);
  const w = randn(rng, D);
  const norm = (v: Float32Array | Float64Array) => {
    const out = new Float64Array(R * D);
    for (let r = 0; r < R; r++) {
      let ms = 0;
      for (let i = 0; i < D; i++) ms += v[r * D + i]! ** 2 / D;
      for (let i = 0; i < D; i++) out[r * D + i] = (w[i]! * v[r * D + i]!) / Math.sqrt(ms + eps);
    }
    return out;
  };
  await check('SimplifiedLayerNormalization', [[R, D], [D]], (g, [a, b]) => g.rmsNorm(a!, b!, eps), () => ({ data: norm(x), dims: [R, D] }), { data: [x, w] });
  const sum = x.map((v, i) => v + skip[i]!);
  await check('SkipSimplifiedLayerNormalization', [[R, D], [R, D], [D]], (g, [a, b, c]) => g.skipRmsNorm(a!, b!, c!, eps).out, () => ({ data: norm(sum), dims: [R, D] }), { data: [x, skip, w] });
  await check('SkipSimplifiedLayerNormalization', [[R, D], [R, D], [D]], (g, [a, b, c]) => g.skipRmsNorm(a!, b!, c!, eps).sum, () => ({ data: sum, dims: [R, D] }), { data: [x, skip, w] });
});

test('GroupQueryAttention: causal GQA without cache matches a JS softmax attention', async () => {
  covered.add('GroupQueryAttention');
  const [B, T, Hq, Hkv, d] = [2, 5, 4, 2, 8]; // the kernel needs head_size % 8 == 0
  const q = randn(rng, B * T * Hq * d);
  const k = randn(rng, B * T * Hkv * d);
  const v = randn(rng, B * T * Hkv * d);
  const g = new GraphBuilder('gqa');
  const [qi, ki, vi] = [g.input('q', 'float32', [B, T, Hq * d]), g.input('k', 'float32', [B, T, Hkv * d]), g.input('v', 'float32', [B, T, Hkv * d])];
  const y = g.groupQueryAttention(qi, ki, vi, g.constant('int32', [B], [T - 1, T - 1]), g.constant('int32', [], [T]), { numHeads: Hq, kvNumHeads: Hkv, scale: 0.7 });
  g.output(y, 'y');
  const out = await runGraph(g.build(), { q: { data: q, dims: [B, T, Hq * d] }, k: { data: k, dims: [B, T, Hkv * d] }, v: { data: v, dims: [B, T, Hkv * d] } });
  const want = new Float64Array(B * T * Hq * d);
  for (let b = 0; b < B; b++) for (let h = 0; h < Hq; h++) {
    const kv = Math.floor(h / (Hq / Hkv));
    for (let i = 0; i < T; i++) {
      const s = Array.from({ length: i + 1 }, (_, j) => {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[((b * T + i) * Hq + h) * d + c]! * k[((b * T + j) * Hkv + kv) * d + c]!;
        return 0.7 * dot;
      });
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const z = e.reduce((a, x) => a + x, 0);
      for (let c = 0; c < d; c++) want[((b * T + i) * Hq + h) * d + c] = e.reduce((a, p, j) => a + (p / z) * v[((b * T + j) * Hkv + kv) * d + c]!, 0);
    }
  }
  assert.deepEqual([...out['y']!.dims], [B, T, Hq * d]);
  assert.deepEqual(y.shape, [B, T, Hq * d]);
  assert.ok(maxAbsDiff(Array.from(out['y']!.data, Number), want) <= 1e-5);
});

test('Trilu, Reshape, Transpose, Slice, Split, Concat, Squeeze, Unsqueeze, Expand, Pad', async () => {
  const m = randn(rng, 4 * 5);
  const tri = (upper: boolean, k: number) => ({ data: m.map((v, i) => ((upper ? (i % 5) - Math.floor(i / 5) >= k : (i % 5) - Math.floor(i / 5) <= k) ? v : 0)), dims: [4, 5] });
  await check('Trilu', [[4, 5]], (g, [a]) => g.trilu(a!, { k: -1 }), () => tri(false, -1), { data: [m] });
  await check('Trilu', [[4, 5]], (g, [a]) => g.trilu(a!, { upper: true }), () => tri(true, 0), { data: [m] });

  const x = randn(rng, 2 * 3 * 4);
  await check('Reshape', [[2, 3, 4]], (g, [a]) => g.reshape(a!, [0, -1]), () => ({ data: x, dims: [2, 12] }), { data: [x] });
  await check('Transpose', [[2, 3, 4]], (g, [a]) => g.transpose(a!, [2, 0, 1]), () => {
    const out = new Float64Array(24);
    for (let i = 0; i < 24; i++) {
      const [p, q, r] = unravel(i, [2, 3, 4]) as [number, number, number];
      out[r * 6 + p * 3 + q] = x[i]!;
    }
    return { data: out, dims: [4, 2, 3] };
  }, { data: [x] });
  const pick = (f: (p: number, q: number, r: number) => boolean, dims: number[]) => ({ data: x.filter((_, i) => f(...(unravel(i, [2, 3, 4]) as [number, number, number]))), dims });
  await check('Slice', [[2, 3, 4]], (g, [a]) => g.slice(a!, [1, 1], [3, 1e9], [1, 2]), () => pick((_, q, r) => q >= 1 && r >= 1, [2, 2, 3]), { data: [x] });
  await check('Slice', [[2, 3, 4]], (g, [a]) => g.slice(a!, [-1], [-3], [2], [-1]), () => {
    const out: number[] = [];
    for (let p = 0; p < 2; p++) for (let q = 0; q < 3; q++) for (const r of [3, 2]) out.push(x[p * 12 + q * 4 + r]!);
    return { data: out, dims: [2, 3, 2] };
  }, { data: [x] });
  await check('Split', [[2, 3, 4]], (g, [a]) => g.split(a!, [1, 3], -1)[1]!, () => pick((_, __, r) => r >= 1, [2, 3, 3]), { data: [x] });
  const y = randn(rng, 2 * 1 * 4);
  await check('Concat', [[2, 3, 4], [2, 1, 4]], (g, [a, b]) => g.concat([a!, b!], 1), () => {
    const out: number[] = [];
    for (let p = 0; p < 2; p++) out.push(...x.slice(p * 12, p * 12 + 12), ...y.slice(p * 4, p * 4 + 4));
    return { data: out, dims: [2, 4, 4] };
  }, { data: [x, y] });
  await check(['Squeeze', 'Unsqueeze'], [[2, 1, 4]], (g, [a]) => g.unsqueeze(g.squeeze(a!, [1]), [0, -1]), () => ({ data: y, dims: [1, 2, 4, 1] }), { data: [y] });
  const v = randn(rng, 3);
  await check('Expand', [[3, 1]], (g, [a]) => g.expand(a!, [2, 3, 4]), () => ({ data: Array.from({ length: 24 }, (_, i) => v[unravel(i, [2, 3, 4])[1]!]!), dims: [2, 3, 4] }), { data: [v] });
  await check('Pad', [[2, 3]], (g, [a]) => g.pad(a!, [0, 2, 1, 0], { value: 0.5 }), () => {
    const q = x.slice(0, 6);
    const out: number[] = [];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 5; c++) out.push(r < 2 && c >= 2 ? q[r * 3 + c - 2]! : 0.5);
    return { data: out, dims: [3, 5] };
  }, { data: [x.slice(0, 6)] });
});

test('Gather, Shape, Range, ConstantOfShape, Constant and int64 arithmetic', async () => {
  covered.add('Gather').add('GatherElements').add('Shape').add('Range').add('ConstantOfShape').add('Constant').add('Mod').add('Div').add('Cast');
  const g = new GraphBuilder('ints');
  const table = g.input('table', 'float32', [5, 3]);
  const ids = g.input('ids', 'int64', ['b', 't']);
  const rows = g.gather(table, ids, 0);
  assert.deepEqual(rows.shape, ['b', 't', 3]);
  g.output(rows, 'rows');
  const t = g.gather(g.shapeOf(ids), g.scalar(1, 'int64'), 0); // scalar: seq length
  const chunks = g.div(g.add(t, 3), 4); // ceil(t/4) by integer division
  const rem = g.mod(t, 4);
  const r = g.range(g.scalar(0, 'int64'), t, g.scalar(1, 'int64'), { shape: ['t'] });
  const filled = g.constantOfShape(g.shapeOf(ids), 2.5, 'float32', { shape: ['b', 't'] });
  const k = g.constantNode('float32', [2], [7, -1]);
  // GatherElements along the last axis: for each id, column (id mod 3) of its gathered row.
  const picked = g.gatherElements(g.gather(table, ids, 0), g.unsqueeze(g.mod(ids, 3), [-1]), -1);
  assert.deepEqual(picked.shape, ['b', 't', 1]);
  g.output(picked, 'picked');
  g.output(g.cast(chunks, 'float32'), 'chunks');
  g.output(g.cast(rem, 'float32'), 'rem');
  g.output(g.cast(r, 'float32'), 'range');
  g.output(filled, 'filled');
  g.output(k, 'k');
  const tab = randn(rng, 15);
  const idv = BigInt64Array.from([4n, 0n, 2n, 2n, 1n, 3n, 0n, 4n, 1n, 1n, 2n, 3n, 0n, 0n]);
  const out = await runGraph(g.build(), { table: { data: tab, dims: [5, 3] }, ids: { data: idv, dims: [2, 7] } });
  const want: number[] = [];
  for (const i of idv) want.push(...tab.slice(Number(i) * 3, Number(i) * 3 + 3));
  assert.deepEqual([...out['rows']!.dims], [2, 7, 3]);
  assert.equal(maxAbsDiff(Array.from(out['rows']!.data, Number), want), 0);
  assert.deepEqual(Array.from(out['chunks']!.data, Number), [2]);
  assert.deepEqual(Array.from(out['rem']!.data, Number), [3]);
  assert.deepEqual(Array.from(out['range']!.data, Number), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(out['filled']!.data, Number), new Array(14).fill(2.5));
  assert.deepEqual([...out['filled']!.dims], [2, 7]);
  assert.deepEqual(Array.from(out['k']!.data, Number), [7, -1]);
  assert.deepEqual(Array.from(out['picked']!.data, Number), Array.from(idv, (i) => tab[Number(i) * 3 + (Number(i) % 3)]!));
});

test('every op in OPS is covered by a test above', () => {
  const missing = OPS.map((o) => o.op).filter((op) => !covered.has(op));
  assert.deepEqual(missing, []);
});
