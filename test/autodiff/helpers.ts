// Shared helpers of the autodiff tests: ORT float32 runs of IR graphs, random tensors, comparisons.

import * as ort from 'onnxruntime-node';
import { serializeModel } from '../../src/core/onnx/serialize';
import type { DType, Graph } from '../../src/core/onnx/types';
import { makeTensor, type Tensor } from '../../src/core/onnx/interpret/tensor';
import { Rng } from '../../src/core/util/random';

export function randn(rng: Rng, shape: number[], scale = 1, dtype: DType = 'float32'): Tensor {
  const t = makeTensor(dtype, shape);
  // Values are rounded to float32 so ORT (float32) and the interpreter (float64) see the same numbers.
  for (let i = 0; i < t.data.length; i++) t.data[i] = Math.fround(scale * rng.normal());
  return t;
}

/** Random values with |x| in [lo, hi] and random sign (keeps inputs away from kinks such as Relu's 0). */
export function awayFromZero(rng: Rng, shape: number[], lo = 0.2, hi = 2, positive = false): Tensor {
  const t = makeTensor('float32', shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = Math.fround(rng.uniform(lo, hi) * (positive || rng.next() < 0.5 ? 1 : -1));
  return t;
}

export function ints(shape: number[], values: number[]): Tensor {
  return makeTensor('int64', shape, values);
}

function toOrt(t: Tensor): ort.Tensor {
  switch (t.dtype) {
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.from(t.data), t.shape);
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(Array.from(t.data, (v) => BigInt(v))), t.shape);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from(t.data), t.shape);
    case 'bool':
      return new ort.Tensor('bool', Uint8Array.from(t.data), t.shape);
    default:
      throw new Error(`toOrt: ${t.dtype}`);
  }
}

/** Runs a graph on ORT CPU (float32 kernels), returning float64 copies of the outputs. */
export async function runOrt(g: Graph, feeds: Map<string, Tensor>, outputs?: string[]): Promise<Map<string, Tensor>> {
  const session = await ort.InferenceSession.create(serializeModel(g), { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const v of g.inputs) {
      const t = feeds.get(v.name);
      if (!t) throw new Error(`runOrt: no feed for ${v.name}`);
      inputs[v.name] = toOrt(t);
    }
    const res = outputs ? await session.run(inputs, outputs) : await session.run(inputs);
    const out = new Map<string, Tensor>();
    for (const [name, t] of Object.entries(res)) {
      const data = Float64Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
      out.set(name, { dtype: 'float32', shape: t.dims.slice() as number[], data });
    }
    return out;
  } finally {
    await session.release();
  }
}

/** max |a − b| / max(max |b|, tiny). */
export function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / Math.max(m, 1e-30);
}

export { Rng };
