// Shape, layout and indexing evaluators of the reference interpreter.

import type { DType, Node } from '../types';
import { attrInt, attrInts, attrString, attrTensor } from './attrs';
import type { Evaluator } from './evaluator';
import { broadcast, broadcastMap, decodeBytes, makeTensor, normAxis, numelOf, stridesOf, transposeData, type Tensor } from './tensor';

function need(t: Tensor | undefined, node: Node, i: number): Tensor {
  if (!t) throw new Error(`${node.op} ${node.name}: input ${i} is missing`);
  return t;
}

function ints(t: Tensor): number[] {
  return Array.from(t.data);
}

function withShape(x: Tensor, shape: number[]): Tensor {
  return { dtype: x.dtype, shape, data: x.data.slice() };
}

function reshapeTarget(x: Tensor, target: number[], allowZero: boolean): number[] {
  const out = target.map((d, i) => (d === 0 && !allowZero ? x.shape[i]! : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const known = out.reduce((p, d, i) => (i === minus ? p : p * d), 1);
    out[minus] = x.data.length / known;
  }
  if (numelOf(out) !== x.data.length) throw new Error(`Reshape: [${x.shape}] cannot become [${target}]`);
  return out;
}

interface SliceAxis {
  axis: number;
  start: number;
  step: number;
  count: number;
}

/** Normalised slice bounds (ONNX clamping rules). */
export function sliceAxes(shape: readonly number[], starts: number[], ends: number[], axes?: number[], steps?: number[]): SliceAxis[] {
  const rank = shape.length;
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
  return ax.map((axis, i) => {
    const d = shape[axis]!;
    const step = steps?.[i] ?? 1;
    if (step === 0) throw new Error('Slice: step 0');
    let s = starts[i]!;
    let e = ends[i]!;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    const count = Math.max(0, Math.ceil((e - s) / step));
    return { axis, start: s, step, count };
  });
}

function slice(x: Tensor, spec: SliceAxis[]): Tensor {
  const r = x.shape.length;
  const start = new Array<number>(r).fill(0);
  const step = new Array<number>(r).fill(1);
  const shape = x.shape.slice();
  for (const s of spec) {
    start[s.axis] = s.start;
    step[s.axis] = s.step;
    shape[s.axis] = s.count;
  }
  const out = makeTensor(x.dtype, shape);
  const xs = stridesOf(x.shape);
  const n = out.data.length;
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let k = 0; k < r; k++) src += (start[k]! + idx[k]! * step[k]!) * xs[k]!;
    out.data[i] = x.data[src]!;
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

function concat(xs: Tensor[], axis: number): Tensor {
  const a = normAxis(axis, xs[0]!.shape.length);
  const shape = xs[0]!.shape.slice();
  shape[a] = xs.reduce((s, x) => s + x.shape[a]!, 0);
  const out = makeTensor(xs[0]!.dtype, shape);
  const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const x of xs) {
      const len = x.shape[a]! * inner;
      out.data.set(x.data.subarray(i * len, (i + 1) * len), o);
      o += len;
    }
  }
  return out;
}

function pad(x: Tensor, pads: number[], value: number, mode: string, axesIn?: number[]): Tensor {
  const r = x.shape.length;
  const axes = axesIn ? axesIn.map((a) => normAxis(a, r)) : x.shape.map((_, i) => i);
  const begin = new Array<number>(r).fill(0);
  const end = new Array<number>(r).fill(0);
  axes.forEach((a, i) => {
    begin[a] = pads[i]!;
    end[a] = pads[i + axes.length]!;
  });
  const shape = x.shape.map((d, i) => d + begin[i]! + end[i]!);
  const out = makeTensor(x.dtype, shape);
  const xs = stridesOf(x.shape);
  const idx = new Array<number>(r).fill(0);
  for (let i = 0; i < out.data.length; i++) {
    let src = 0;
    let inside = true;
    for (let k = 0; k < r; k++) {
      let p = idx[k]! - begin[k]!;
      const d = x.shape[k]!;
      if (p < 0 || p >= d) {
        if (mode === 'constant') {
          inside = false;
          break;
        } else if (mode === 'edge') p = Math.min(Math.max(p, 0), d - 1);
        else if (mode === 'reflect') {
          const period = 2 * (d - 1);
          p = ((p % period) + period) % period;
          if (p >= d) p = period - p;
        } else throw new Error(`Pad: mode ${mode} is not supported`);
      }
      src += p * xs[k]!;
    }
    out.data[i] = inside ? x.data[src]! : value;
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

function fromTensorAttr(t: { dtype: DType; dims: number[]; bytes: Uint8Array }): Tensor {
  return { dtype: t.dtype, shape: t.dims.slice(), data: decodeBytes(t.dtype, t.bytes) };
}

function wrapIndex(i: number, d: number, node: Node): number {
  const j = i < 0 ? i + d : i;
  if (j < 0 || j >= d) throw new Error(`${node.op} ${node.name}: index ${i} out of range for dim ${d}`);
  return j;
}

export const SHAPE_OPS: Record<string, Evaluator> = {
  Reshape: (ins, node) => {
    const x = need(ins[0], node, 0);
    return [withShape(x, reshapeTarget(x, ints(need(ins[1], node, 1)), attrInt(node, 'allowzero', 0) === 1))];
  },
  Transpose: (ins, node) => {
    const x = need(ins[0], node, 0);
    const perm = attrInts(node, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
    return [transposeData(x, perm)];
  },
  Slice: (ins, node) => {
    const x = need(ins[0], node, 0);
    return [slice(x, sliceAxes(x.shape, ints(need(ins[1], node, 1)), ints(need(ins[2], node, 2)), ins[3] && ints(ins[3]), ins[4] && ints(ins[4])))];
  },
  Split: (ins, node) => {
    const x = need(ins[0], node, 0);
    const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
    const d = x.shape[axis]!;
    let sizes = ins[1] ? ints(ins[1]) : attrInts(node, 'split');
    if (!sizes) {
      const k = node.outputs.length;
      const chunk = Math.ceil(d / k);
      sizes = Array.from({ length: k }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk)));
    }
    let at = 0;
    return sizes.map((s) => {
      const t = slice(x, [{ axis, start: at, step: 1, count: s }]);
      at += s;
      return t;
    });
  },
  Concat: (ins, node) => [concat(ins.map((t, i) => need(t, node, i)), attrInt(node, 'axis', 0))],
  Squeeze: (ins, node) => {
    const x = need(ins[0], node, 0);
    const axes = ins[1] ? ints(ins[1]).map((a) => normAxis(a, x.shape.length)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    for (const a of axes) if (x.shape[a] !== 1) throw new Error(`Squeeze ${node.name}: axis ${a} has size ${x.shape[a]}`);
    return [withShape(x, x.shape.filter((_, i) => !axes.includes(i)))];
  },
  Unsqueeze: (ins, node) => {
    const x = need(ins[0], node, 0);
    const rank = x.shape.length + need(ins[1], node, 1).data.length;
    const axes = ints(ins[1]!).map((a) => normAxis(a, rank));
    const shape: number[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x.shape[k++]!);
    return [withShape(x, shape)];
  },
  Expand: (ins, node) => {
    const x = need(ins[0], node, 0);
    const shape = broadcast([x.shape, ints(need(ins[1], node, 1))]);
    const map = broadcastMap(x.shape, shape);
    const out = makeTensor(x.dtype, shape);
    for (let i = 0; i < out.data.length; i++) out.data[i] = x.data[map[i]!]!;
    return [out];
  },
  Pad: (ins, node) => {
    const x = need(ins[0], node, 0);
    return [pad(x, ints(need(ins[1], node, 1)), ins[2] ? ins[2].data[0]! : 0, attrString(node, 'mode', 'constant'), ins[3] && ints(ins[3]))];
  },
  Trilu: (ins, node) => {
    const x = need(ins[0], node, 0);
    const k = ins[1] ? ins[1].data[0]! : 0;
    const upper = attrInt(node, 'upper', 1) === 1;
    const r = x.shape.length;
    const [R, C] = [x.shape[r - 2]!, x.shape[r - 1]!];
    const out = { ...x, data: x.data.slice() };
    for (let i = 0; i < out.data.length; i++) {
      const col = i % C;
      const row = Math.floor(i / C) % R;
      const keep = upper ? col - row >= k : col - row <= k;
      if (!keep) out.data[i] = 0;
    }
    return [out];
  },
  Shape: (ins, node) => {
    const x = need(ins[0], node, 0);
    const r = x.shape.length;
    const clampAxis = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const s = clampAxis(attrInt(node, 'start', 0));
    const e = clampAxis(node.attrs['end'] ? attrInt(node, 'end', r) : r);
    const dims = x.shape.slice(s, Math.max(s, e));
    return [makeTensor('int64', [dims.length], dims)];
  },
  Range: (ins, node) => {
    const [s, l, d] = [0, 1, 2].map((i) => need(ins[i], node, i).data[0]!);
    const n = Math.max(0, Math.ceil((l! - s!) / d!));
    return [makeTensor(need(ins[0], node, 0).dtype, [n], Array.from({ length: n }, (_, i) => s! + i * d!))];
  },
  ConstantOfShape: (ins, node) => {
    const shape = ints(need(ins[0], node, 0));
    const v = attrTensor(node, 'value');
    const value = v ? fromTensorAttr(v) : makeTensor('float32', [1], [0]);
    const out = makeTensor(value.dtype, shape);
    out.data.fill(value.data[0]!);
    return [out];
  },
  Constant: (_ins, node) => {
    const v = attrTensor(node, 'value');
    if (v) return [fromTensorAttr(v)];
    const a = node.attrs['value_float'] ?? node.attrs['value_int'] ?? node.attrs['value_floats'] ?? node.attrs['value_ints'];
    if (!a) throw new Error(`Constant ${node.name}: no value attribute`);
    if (a.kind === 'float') return [makeTensor('float32', [], [a.value])];
    if (a.kind === 'int') return [makeTensor('int64', [], [a.value])];
    if (a.kind === 'floats') return [makeTensor('float32', [a.value.length], a.value)];
    if (a.kind === 'ints') return [makeTensor('int64', [a.value.length], a.value)];
    throw new Error(`Constant ${node.name}: unsupported value kind ${a.kind}`);
  },
  Gather: (ins, node) => {
    const data = need(ins[0], node, 0);
    const idx = need(ins[1], node, 1);
    const a = normAxis(attrInt(node, 'axis', 0), data.shape.length);
    const outer = data.shape.slice(0, a).reduce((p, d) => p * d, 1);
    const inner = data.shape.slice(a + 1).reduce((p, d) => p * d, 1);
    const D = data.shape[a]!;
    const out = makeTensor(data.dtype, [...data.shape.slice(0, a), ...idx.shape, ...data.shape.slice(a + 1)]);
    const ni = idx.data.length;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < ni; j++) {
        const k = wrapIndex(idx.data[j]!, D, node);
        out.data.set(data.data.subarray((o * D + k) * inner, (o * D + k + 1) * inner), (o * ni + j) * inner);
      }
    }
    return [out];
  },
  GatherElements: (ins, node) => {
    const data = need(ins[0], node, 0);
    const idx = need(ins[1], node, 1);
    const r = data.shape.length;
    const a = normAxis(attrInt(node, 'axis', 0), r);
    const ds = stridesOf(data.shape);
    const is = stridesOf(idx.shape);
    const out = makeTensor(data.dtype, idx.shape);
    for (let i = 0; i < idx.data.length; i++) {
      let src = 0;
      for (let k = 0; k < r; k++) {
        const c = Math.floor(i / is[k]!) % idx.shape[k]!;
        src += (k === a ? wrapIndex(idx.data[i]!, data.shape[a]!, node) : c) * ds[k]!;
      }
      out.data[i] = data.data[src]!;
    }
    return [out];
  },
  ScatterElements: (ins, node) => {
    const data = need(ins[0], node, 0);
    const idx = need(ins[1], node, 1);
    const upd = need(ins[2], node, 2);
    const r = data.shape.length;
    const a = normAxis(attrInt(node, 'axis', 0), r);
    const red = attrString(node, 'reduction', 'none');
    const ds = stridesOf(data.shape);
    const is = stridesOf(idx.shape);
    const out = { ...data, data: data.data.slice() };
    for (let i = 0; i < idx.data.length; i++) {
      let dst = 0;
      for (let k = 0; k < r; k++) {
        const c = Math.floor(i / is[k]!) % idx.shape[k]!;
        dst += (k === a ? wrapIndex(idx.data[i]!, data.shape[a]!, node) : c) * ds[k]!;
      }
      out.data[dst] = combine(red, out.data[dst]!, upd.data[i]!);
    }
    return [out];
  },
  ScatterND: (ins, node) => {
    const data = need(ins[0], node, 0);
    const idx = need(ins[1], node, 1);
    const upd = need(ins[2], node, 2);
    const red = attrString(node, 'reduction', 'none');
    const q = idx.shape[idx.shape.length - 1]!;
    const ds = stridesOf(data.shape);
    const slab = data.shape.slice(q).reduce((p, d) => p * d, 1);
    const n = idx.data.length / q;
    const out = { ...data, data: data.data.slice() };
    for (let j = 0; j < n; j++) {
      let dst = 0;
      for (let k = 0; k < q; k++) dst += wrapIndex(idx.data[j * q + k]!, data.shape[k]!, node) * ds[k]!;
      for (let e = 0; e < slab; e++) out.data[dst + e] = combine(red, out.data[dst + e]!, upd.data[j * slab + e]!);
    }
    return [out];
  },
  OneHot: (ins, node) => {
    const idx = need(ins[0], node, 0);
    const depth = need(ins[1], node, 1).data[0]!;
    const values = need(ins[2], node, 2);
    const r = idx.shape.length + 1;
    const a = normAxis(attrInt(node, 'axis', -1), r);
    const shape = [...idx.shape.slice(0, a), depth, ...idx.shape.slice(a)];
    const out = makeTensor(values.dtype, shape);
    out.data.fill(values.data[0]!);
    const inner = idx.shape.slice(a).reduce((p, d) => p * d, 1);
    for (let i = 0; i < idx.data.length; i++) {
      let k = idx.data[i]!;
      if (k < 0) k += depth;
      if (k < 0 || k >= depth) continue;
      const o = Math.floor(i / inner);
      const in_ = i % inner;
      out.data[(o * depth + k) * inner + in_] = values.data[1]!;
    }
    return [out];
  },
};

function combine(red: string, old: number, v: number): number {
  switch (red) {
    case 'none':
      return v;
    case 'add':
      return old + v;
    case 'mul':
      return old * v;
    case 'max':
      return Math.max(old, v);
    case 'min':
      return Math.min(old, v);
    default:
      throw new Error(`Scatter: reduction ${red} is not supported`);
  }
}
