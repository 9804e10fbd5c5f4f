// Elementwise evaluators (numpy broadcasting) of the reference interpreter.

import type { DType, Node } from '../types';
import { attrInt } from './attrs';
import { broadcast, broadcastMap, isFloat, makeTensor, type Tensor } from './tensor';
import type { Evaluator } from './evaluator';

const ONNX_TO_DTYPE: Record<number, DType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64', 16: 'bfloat16' };

function need(t: Tensor | undefined, node: Node, i: number): Tensor {
  if (!t) throw new Error(`${node.op} ${node.name}: input ${i} is missing`);
  return t;
}

/** n-ary broadcasting map f over the inputs; output dtype `dtype` (default: first input's). */
function nary(ins: Tensor[], f: (v: number[]) => number, dtype?: DType): Tensor {
  const shape = broadcast(ins.map((t) => t.shape));
  const out = makeTensor(dtype ?? ins[0]!.dtype, shape);
  const maps = ins.map((t) => broadcastMap(t.shape, shape));
  const v = new Array<number>(ins.length);
  for (let i = 0; i < out.data.length; i++) {
    for (let k = 0; k < ins.length; k++) v[k] = ins[k]!.data[maps[k]![i]!]!;
    out.data[i] = f(v);
  }
  return out;
}

function binary(f: (a: number, b: number, integer: boolean) => number, outDtype?: DType): Evaluator {
  return (ins, node) => {
    const a = need(ins[0], node, 0);
    const b = need(ins[1], node, 1);
    const integer = !isFloat(a.dtype);
    const shape = broadcast([a.shape, b.shape]);
    const out = makeTensor(outDtype ?? a.dtype, shape);
    const o = out.data;
    const n = o.length;
    const [x, y] = [a.data, b.data];
    // Fast paths (same shape, scalar operand) keep gradient checks of whole models quick.
    if (x.length === n && y.length === n) for (let i = 0; i < n; i++) o[i] = f(x[i]!, y[i]!, integer);
    else if (y.length === 1 && x.length === n) for (let i = 0, c = y[0]!; i < n; i++) o[i] = f(x[i]!, c, integer);
    else if (x.length === 1 && y.length === n) for (let i = 0, c = x[0]!; i < n; i++) o[i] = f(c, y[i]!, integer);
    else {
      const ma = broadcastMap(a.shape, shape);
      const mb = broadcastMap(b.shape, shape);
      for (let i = 0; i < n; i++) o[i] = f(x[ma[i]!]!, y[mb[i]!]!, integer);
    }
    return [out];
  };
}

function unary(f: (x: number) => number): Evaluator {
  return (ins, node) => {
    const x = need(ins[0], node, 0);
    const out = makeTensor(x.dtype, x.shape);
    for (let i = 0; i < x.data.length; i++) out.data[i] = f(x.data[i]!);
    return [out];
  };
}

function variadic(f: (v: number[]) => number): Evaluator {
  return (ins, node) => [nary(ins.map((t, i) => need(t, node, i)), f)];
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

export const ELEMENTWISE: Record<string, Evaluator> = {
  Add: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Div: binary((a, b, integer) => (integer ? Math.trunc(a / b) : a / b)),
  Pow: binary((a, b) => Math.pow(a, b)),
  Mod: binary((a, b) => {
    const r = a % b;
    return r !== 0 && r < 0 !== b < 0 ? r + b : r;
  }),
  Equal: binary((a, b) => (a === b ? 1 : 0), 'bool'),
  Less: binary((a, b) => (a < b ? 1 : 0), 'bool'),
  LessOrEqual: binary((a, b) => (a <= b ? 1 : 0), 'bool'),
  Greater: binary((a, b) => (a > b ? 1 : 0), 'bool'),
  GreaterOrEqual: binary((a, b) => (a >= b ? 1 : 0), 'bool'),
  And: binary((a, b) => (a && b ? 1 : 0), 'bool'),
  Or: binary((a, b) => (a || b ? 1 : 0), 'bool'),
  Max: variadic((v) => Math.max(...v)),
  Min: variadic((v) => Math.min(...v)),
  Sum: variadic((v) => v.reduce((s, x) => s + x, 0)),
  Not: unary((x) => (x ? 0 : 1)),
  Exp: unary(Math.exp),
  Log: unary(Math.log),
  Neg: unary((x) => -x),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((x) => 1 / x),
  Sigmoid: unary(sigmoid),
  Softplus: unary(softplus),
  Relu: unary((x) => (x > 0 ? x : 0)),
  Tanh: unary(Math.tanh),
  Abs: unary(Math.abs),
  Sign: unary((x) => (x > 0 ? 1 : x < 0 ? -1 : 0)),
  Identity: unary((x) => x),
  Clip: (ins, node) => {
    const x = need(ins[0], node, 0);
    const lo = ins[1] ? ins[1].data[0]! : -Infinity;
    const hi = ins[2] ? ins[2].data[0]! : Infinity;
    const out = makeTensor(x.dtype, x.shape);
    for (let i = 0; i < x.data.length; i++) out.data[i] = Math.min(Math.max(x.data[i]!, lo), hi);
    return [out];
  },
  Where: (ins, node) => {
    const c = need(ins[0], node, 0);
    const a = need(ins[1], node, 1);
    const b = need(ins[2], node, 2);
    return [nary([c, a, b], (v) => (v[0] ? v[1]! : v[2]!), a.dtype)];
  },
  Cast: (ins, node) => {
    const x = need(ins[0], node, 0);
    const to = ONNX_TO_DTYPE[attrInt(node, 'to', 1)];
    if (!to) throw new Error(`Cast ${node.name}: unsupported target type ${attrInt(node, 'to', 1)}`);
    const out = makeTensor(to, x.shape);
    for (let i = 0; i < x.data.length; i++) {
      const v = x.data[i]!;
      out.data[i] = to === 'bool' ? (v !== 0 ? 1 : 0) : isFloat(to) ? v : Math.trunc(v);
    }
    return [out];
  },
};
