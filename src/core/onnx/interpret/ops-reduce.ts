// Reductions, softmax, cumsum and the RMS-norm ops (ORT's SimplifiedLayerNormalization and
// com.microsoft SkipSimplifiedLayerNormalization).

import type { Node } from '../types';
import { attrFloat, attrInt, attrInts } from './attrs';
import type { Evaluator } from './evaluator';
import { broadcastMap, makeTensor, normAxis, type Tensor } from './tensor';

function need(t: Tensor | undefined, node: Node, i: number): Tensor {
  if (!t) throw new Error(`${node.op} ${node.name}: input ${i} is missing`);
  return t;
}

/** Axes of a Reduce* node (input 1 from opset 18, or the `axes` attribute), normalised; all axes when empty. */
function reduceAxes(x: Tensor, axesInput: Tensor | undefined, node: Node): number[] | 'noop' {
  const raw = axesInput ? Array.from(axesInput.data) : attrInts(node, 'axes') ?? [];
  if (raw.length === 0) return attrInt(node, 'noop_with_empty_axes', 0) ? 'noop' : x.shape.map((_, i) => i);
  return raw.map((a) => normAxis(a, x.shape.length));
}

function reducer(init: number, step: (acc: number, v: number) => number, finish: (acc: number, count: number) => number = (a) => a): Evaluator {
  return (ins, node) => {
    const x = need(ins[0], node, 0);
    const axes = reduceAxes(x, ins[1], node);
    if (axes === 'noop') return [{ ...x, data: x.data.slice() }];
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const map = broadcastMap(kept, x.shape);
    const acc = makeTensor(x.dtype, kept);
    acc.data.fill(init);
    for (let i = 0; i < x.data.length; i++) acc.data[map[i]!] = step(acc.data[map[i]!]!, x.data[i]!);
    const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
    for (let i = 0; i < acc.data.length; i++) acc.data[i] = finish(acc.data[i]!, count);
    const keep = attrInt(node, 'keepdims', 1) === 1;
    return [{ ...acc, shape: keep ? kept : x.shape.filter((_, i) => !axes.includes(i)) }];
  };
}

/** Calls f(offset, stride, length) for every 1-D lane along `axis`. */
function lanes(shape: readonly number[], axis: number, f: (offset: number, stride: number, length: number) => void): void {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const L = shape[axis]!;
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) f(o * L * inner + i, inner, L);
}

function softmaxLike(log: boolean): Evaluator {
  return (ins, node) => {
    const x = need(ins[0], node, 0);
    const axis = normAxis(attrInt(node, 'axis', -1), x.shape.length);
    const out = makeTensor(x.dtype, x.shape);
    lanes(x.shape, axis, (off, st, L) => {
      let max = -Infinity;
      for (let j = 0; j < L; j++) max = Math.max(max, x.data[off + j * st]!);
      let s = 0;
      for (let j = 0; j < L; j++) s += Math.exp(x.data[off + j * st]! - max);
      const lse = max + Math.log(s);
      for (let j = 0; j < L; j++) {
        const v = x.data[off + j * st]! - lse;
        out.data[off + j * st] = log ? v : Math.exp(v);
      }
    });
    return [out];
  };
}

/** y = x / sqrt(mean(x² over the last `rank-axis` axes) + eps) · scale; also returns 1/sqrt(...) per lane. */
function rms(x: Tensor, scale: Tensor, axis: number, eps: number): { y: Tensor; invStd: Tensor } {
  const a = normAxis(axis, x.shape.length);
  const inner = x.shape.slice(a).reduce((p, d) => p * d, 1);
  const outer = x.data.length / inner;
  const y = makeTensor(x.dtype, x.shape);
  const invStd = makeTensor('float32', [...x.shape.slice(0, a), ...x.shape.slice(a).map(() => 1)]);
  const smap = broadcastMap(scale.shape, x.shape.slice(a));
  for (let o = 0; o < outer; o++) {
    let ss = 0;
    for (let i = 0; i < inner; i++) ss += x.data[o * inner + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / inner + eps);
    invStd.data[o] = inv;
    for (let i = 0; i < inner; i++) y.data[o * inner + i] = x.data[o * inner + i]! * inv * scale.data[smap[i]!]!;
  }
  return { y, invStd };
}

export const REDUCE: Record<string, Evaluator> = {
  ReduceSum: reducer(0, (a, v) => a + v),
  ReduceMean: reducer(0, (a, v) => a + v, (a, n) => a / n),
  ReduceSumSquare: reducer(0, (a, v) => a + v * v),
  ReduceMax: reducer(-Infinity, (a, v) => Math.max(a, v)),
  ReduceMin: reducer(Infinity, (a, v) => Math.min(a, v)),
  Softmax: softmaxLike(false),
  LogSoftmax: softmaxLike(true),
  CumSum: (ins, node) => {
    const x = need(ins[0], node, 0);
    const axis = normAxis(need(ins[1], node, 1).data[0]!, x.shape.length);
    const exclusive = attrInt(node, 'exclusive', 0) === 1;
    const reverse = attrInt(node, 'reverse', 0) === 1;
    const out = makeTensor(x.dtype, x.shape);
    lanes(x.shape, axis, (off, st, L) => {
      let s = 0;
      for (let k = 0; k < L; k++) {
        const j = reverse ? L - 1 - k : k;
        const v = x.data[off + j * st]!;
        if (exclusive) {
          out.data[off + j * st] = s;
          s += v;
        } else {
          s += v;
          out.data[off + j * st] = s;
        }
      }
    });
    return [out];
  },
  SimplifiedLayerNormalization: (ins, node) => {
    const { y, invStd } = rms(need(ins[0], node, 0), need(ins[1], node, 1), attrInt(node, 'axis', -1), attrFloat(node, 'epsilon', 1e-5));
    return node.outputs.length > 1 ? [y, invStd] : [y];
  },
  SkipSimplifiedLayerNormalization: (ins, node) => {
    const x = need(ins[0], node, 0);
    const skip = need(ins[1], node, 1);
    const bias = ins[3];
    const sum = makeTensor(x.dtype, x.shape);
    const smap = broadcastMap(skip.shape, x.shape);
    const bmap = bias ? broadcastMap(bias.shape, x.shape) : undefined;
    for (let i = 0; i < x.data.length; i++) sum.data[i] = x.data[i]! + skip.data[smap[i]!]! + (bias ? bias.data[bmap![i]!]! : 0);
    const { y, invStd } = rms(sum, need(ins[2], node, 2), -1, attrFloat(node, 'epsilon', 1e-5));
    const mean = makeTensor('float32', invStd.shape);
    return [y, mean, invStd, sum];
  },
};
