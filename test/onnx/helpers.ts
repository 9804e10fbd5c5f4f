// Runs small builder graphs on ORT CPU and provides plain-JS n-d helpers for the expected values.

import * as ort from 'onnxruntime-node';
import { GraphBuilder, serializeModel, type DType, type Graph } from '../../src/core/onnx/index';
import { Rng } from '../../src/core/util/random';

export type Feed = { data: Float32Array | BigInt64Array | Uint8Array | Int32Array; dims: number[] };

const ORT_TYPE: Partial<Record<DType, ort.Tensor.Type>> = { float32: 'float32', int64: 'int64', bool: 'bool', int32: 'int32' };

export async function runGraph(g: Graph, feeds: Record<string, Feed>, opts: { optimization?: 'disabled' | 'all' } = {}): Promise<Record<string, { data: ArrayLike<number | bigint>; dims: readonly number[] }>> {
  const bytes = serializeModel(g);
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: opts.optimization ?? 'all', intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const f: Record<string, ort.Tensor> = {};
    for (const v of g.inputs) {
      const x = feeds[v.name];
      if (!x) throw new Error(`missing feed ${v.name}`);
      f[v.name] = new ort.Tensor(ORT_TYPE[v.dtype]!, x.data as never, x.dims);
    }
    const out = await session.run(f);
    const r: Record<string, { data: ArrayLike<number | bigint>; dims: readonly number[] }> = {};
    for (const [k, t] of Object.entries(out)) r[k] = { data: t.data as ArrayLike<number | bigint>, dims: t.dims };
    return r;
  } finally {
    await session.release();
  }
}

/** Builds a graph with one float32 input per given shape, applies fn, runs it, returns output 0. */
export async function runOp(shapes: number[][], fn: (g: GraphBuilder, xs: ReturnType<GraphBuilder['input']>[]) => ReturnType<GraphBuilder['input']>, data: Float32Array[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const g = new GraphBuilder('op');
  const xs = shapes.map((s, i) => g.input(`x${i}`, 'float32', s));
  const y = fn(g, xs);
  g.output(y, 'y');
  const feeds: Record<string, Feed> = {};
  shapes.forEach((s, i) => (feeds[`x${i}`] = { data: data[i]!, dims: s }));
  const out = await runGraph(g.build(), feeds);
  const y0 = out['y']!;
  return { data: Float32Array.from(y0.data as ArrayLike<number>, Number), dims: y0.dims };
}

export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

export function numel(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

export function strides(s: readonly number[]): number[] {
  const st = new Array(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) st[i] = st[i + 1] * s[i + 1]!;
  return st;
}

/** Multi-index of flat index i in shape s. */
export function unravel(i: number, s: readonly number[]): number[] {
  const idx = new Array(s.length);
  for (let k = s.length - 1; k >= 0; k--) {
    idx[k] = i % s[k]!;
    i = Math.floor(i / s[k]!);
  }
  return idx;
}

/** Flat index in shape s of a (broadcast) multi-index of a possibly lower-rank, size-1-broadcast shape. */
export function bcastIndex(idx: readonly number[], s: readonly number[]): number {
  const off = idx.length - s.length;
  let flat = 0;
  for (let k = 0; k < s.length; k++) flat = flat * s[k]! + (s[k] === 1 ? 0 : idx[k + off]!);
  return flat;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue; // also equal infinities
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return Infinity;
    m = Math.max(m, d);
  }
  return m;
}
