// VJP rules of layout and indexing ops: each moves the gradient back to where the forward op read it
// from (inverse reshape/transpose, Pad for Slice, Concat for Split, scatter-add for Gather).

import { attrFloat, attrInt, attrInts, attrString } from '../interpret/attrs';
import { normAxis } from '../interpret/tensor';
import { sliceAxes } from '../interpret/ops-shape';
import type { Value } from '../types';
import { AutodiffError, type VjpContext } from './context';
import type { VjpRule } from './rule';

const INT64_MIN = -(2 ** 63);

const toInputShape: VjpRule = (ctx, [g]) => [ctx.reshapeTo(g!, ctx.shape(ctx.input(0)))];

function sliceRule(ctx: VjpContext, g: Value): (Value | undefined)[] {
  const { b } = ctx;
  const x = ctx.input(0);
  const xs = ctx.shape(x);
  const spec = sliceAxes(xs, ctx.ints(1), ctx.ints(2), ctx.hasInput(3) ? ctx.ints(3) : undefined, ctx.hasInput(4) ? ctx.ints(4) : undefined);
  let gg = g;
  // Reversed axes (step −1): un-reverse the gradient first; the slice then covers [start−count+1, start].
  const flips = spec.filter((s) => s.step === -1 && s.count > 0);
  if (flips.length) gg = b.slice(gg, flips.map(() => -1), flips.map(() => INT64_MIN), flips.map((s) => s.axis), flips.map(() => -1));
  const pads = new Array<number>(2 * xs.length).fill(0);
  for (const s of spec) {
    if (s.step !== 1 && s.step !== -1) throw new AutodiffError(`${ctx.where()}: Slice steps other than ±1 are not differentiable here`);
    const lo = s.step === 1 ? s.start : s.start - s.count + 1;
    pads[s.axis] = lo;
    pads[s.axis + xs.length] = xs[s.axis]! - lo - s.count;
  }
  return [pads.some((p) => p !== 0) ? b.pad(gg, pads) : gg];
}

function splitRule(ctx: VjpContext, gys: (Value | undefined)[]): (Value | undefined)[] {
  const x = ctx.input(0);
  const axis = attrInt(ctx.node, 'axis', 0);
  const parts = ctx.node.outputs.map((_, i) => gys[i] ?? ctx.zeros(ctx.shape(ctx.output(i)), x.dtype));
  return [parts.length === 1 ? parts[0]! : ctx.b.concat(parts, axis)];
}

function concatRule(ctx: VjpContext, g: Value): (Value | undefined)[] {
  const axis = normAxis(attrInt(ctx.node, 'axis', 0), ctx.shape(g).length);
  const sizes = ctx.node.inputs.map((_, i) => ctx.shape(ctx.input(i))[axis]!);
  if (sizes.length === 1) return [g];
  const parts = ctx.b.split(g, sizes, axis);
  return parts.map((p, i) => (ctx.needs(i) ? p : undefined));
}

function padRule(ctx: VjpContext, g: Value): (Value | undefined)[] {
  const { b } = ctx;
  if (attrString(ctx.node, 'mode', 'constant') !== 'constant') throw new AutodiffError(`${ctx.where()}: only constant-mode Pad is differentiable here`);
  if (ctx.needs(2)) throw new AutodiffError(`${ctx.where()}: gradients with respect to the pad value are not supported`);
  const xs = ctx.shape(ctx.input(0));
  const r = xs.length;
  const raw = ctx.ints(1);
  const axes = ctx.hasInput(3) ? ctx.ints(3).map((a) => normAxis(a, r)) : xs.map((_, i) => i);
  const begin = new Array<number>(r).fill(0);
  const end = new Array<number>(r).fill(0);
  axes.forEach((a, i) => {
    begin[a] = raw[i]!;
    end[a] = raw[i + axes.length]!;
  });
  // Positive pads added elements (slice them off); negative pads cropped (pad the gradient back with zeros).
  let out = g;
  const gs = ctx.shape(g);
  const sliceAx = xs.map((_, i) => i).filter((i) => begin[i]! > 0 || end[i]! > 0);
  if (sliceAx.length) {
    out = b.slice(
      out,
      sliceAx.map((i) => Math.max(begin[i]!, 0)),
      sliceAx.map((i) => gs[i]! - Math.max(end[i]!, 0)),
      sliceAx,
    );
  }
  if (begin.some((p) => p < 0) || end.some((p) => p < 0)) out = b.pad(out, [...begin.map((p) => Math.max(-p, 0)), ...end.map((p) => Math.max(-p, 0))]);
  return [out];
}

/** Gather's gradient: zeros of the data shape with the output gradient added back at the gathered rows. */
function gatherRule(ctx: VjpContext, g: Value): (Value | undefined)[] {
  if (!ctx.needs(0)) return [undefined, undefined];
  const { b } = ctx;
  const data = ctx.input(0);
  const idx = ctx.input(1);
  const ds = ctx.shape(data);
  const is = ctx.shape(idx);
  const a = normAxis(attrInt(ctx.node, 'axis', 0), ds.length);
  const nI = is.reduce((p, d) => p * d, 1);
  const rest = [...ds.slice(0, a), ...ds.slice(a + 1)];
  // Bring the gathered axis to the front: g [pre, I, post] → [I, pre, post] → [nI, rest].
  let gg = g;
  if (a > 0) {
    const gr = ctx.shape(g).length;
    const iAxes = is.map((_, k) => a + k);
    const perm = [...iAxes, ...Array.from({ length: gr }, (_, k) => k).filter((k) => !iAxes.includes(k))];
    gg = b.transpose(gg, perm);
  }
  const rowSize = rest.reduce((p, d) => p * d, 1);
  const g2 = ctx.reshapeTo(gg, [nI, rowSize]);
  const flatIdx = ctx.reshapeTo(idx, [nI]);
  const D0 = ds[a]!;
  // Negative indices count from the end, as in Gather.
  const idxN = b.where(b.less(flatIdx, 0), b.add(flatIdx, D0), flatIdx);
  let acc: Value;
  if (ctx.options.gatherGrad === 'onehot') {
    const depth = b.constant(idxN.dtype, [], [D0]);
    const values = b.constant(data.dtype, [2], [0, 1]);
    const [oh] = b.node('OneHot', [idxN, depth, values], [{ dtype: data.dtype, shape: [nI, D0] }], { axis: { kind: 'int', value: -1 } });
    acc = ctx.mm(oh!, g2, true, false); // [D0, rowSize]
  } else {
    const zeros = ctx.zeros([D0, rowSize], data.dtype);
    const [sc] = b.node('ScatterND', [zeros, b.reshape(idxN, [nI, 1]), g2], [{ dtype: data.dtype, shape: [D0, rowSize] }], { reduction: { kind: 'string', value: 'add' } });
    acc = sc!;
  }
  let out = ctx.reshapeTo(acc, [D0, ...rest]);
  if (a > 0) {
    const r = ds.length;
    const inv = new Array<number>(r);
    // out axes: [a, 0..a-1, a+1..r-1] → data order.
    const order = [a, ...Array.from({ length: r }, (_, k) => k).filter((k) => k !== a)];
    order.forEach((src, k) => (inv[src] = k));
    out = b.transpose(out, inv);
  }
  return [out, undefined];
}

function gatherElementsRule(ctx: VjpContext, g: Value): (Value | undefined)[] {
  if (!ctx.needs(0)) return [undefined, undefined];
  const data = ctx.input(0);
  const zeros = ctx.zeros(ctx.shape(data), data.dtype);
  const [sc] = ctx.b.node('ScatterElements', [zeros, ctx.input(1), g], [{ dtype: data.dtype, shape: ctx.shape(data) }], {
    axis: { kind: 'int', value: attrInt(ctx.node, 'axis', 0) },
    reduction: { kind: 'string', value: 'add' },
  });
  return [sc!, undefined];
}

/** Qᵀ·Pᵀ (one product with swapped flags) when g is a 2-D MatMul/FusedMatMul result P·Q read by nothing else, else undefined. */
function transposedProduct(ctx: VjpContext, g: Value): Value | undefined {
  const n = ctx.graph.nodes.find((x) => x.outputs[0] === g.name);
  if (!n || !((n.op === 'MatMul' && !n.domain) || (n.op === 'FusedMatMul' && n.domain === 'com.microsoft'))) return undefined;
  // Only when nothing else reads the product: it is then left unused (pruned), never computed twice.
  if (ctx.graph.nodes.some((x) => x.inputs.includes(g.name))) return undefined;
  const [p, q] = [ctx.b.value(n.inputs[0]!), ctx.b.value(n.inputs[1]!)];
  if (ctx.shape(p).length !== 2 || ctx.shape(q).length !== 2) return undefined;
  const fused = n.op === 'FusedMatMul';
  const transA = fused && attrInt(n, 'transA', 0) === 1;
  const transB = fused && attrInt(n, 'transB', 0) === 1;
  const alpha = fused ? attrFloat(n, 'alpha', 1) : 1;
  return ctx.mm(q, p, !transB, !transA, alpha);
}

export const SHAPE_RULES: Record<string, VjpRule> = {
  Reshape: (ctx, gys) => [...toInputShape(ctx, gys), undefined],
  Squeeze: (ctx, gys) => [...toInputShape(ctx, gys), undefined],
  Unsqueeze: (ctx, gys) => [...toInputShape(ctx, gys), undefined],
  Transpose: (ctx, [g]) => {
    const r = ctx.shape(g!).length;
    const perm = attrInts(ctx.node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    // A matrix transposed before a product (x·Wᵀ written as MatMul(x, Transpose(W))) gets its gradient
    // as a product too, (P·Q)ᵀ = Qᵀ·Pᵀ with the flags swapped, instead of a product then a transposed copy.
    const swapped = r === 2 ? transposedProduct(ctx, g!) : undefined;
    if (swapped) return [swapped];
    const inv = new Array<number>(r);
    perm.forEach((p, i) => (inv[p] = i));
    return [ctx.b.transpose(g!, inv)];
  },
  Slice: (ctx, [g]) => sliceRule(ctx, g!),
  Split: (ctx, gys) => splitRule(ctx, gys),
  Concat: (ctx, [g]) => concatRule(ctx, g!),
  Expand: (ctx, [g]) => [ctx.unbroadcast(g!, ctx.shape(ctx.input(0))), undefined],
  Pad: (ctx, [g]) => padRule(ctx, g!),
  Trilu: (ctx, [g]) => {
    const ins = ctx.hasInput(1) ? [g!, ctx.input(1)] : [g!];
    const [out] = ctx.b.node('Trilu', ins, [{ dtype: g!.dtype, shape: ctx.shape(g!) }], { upper: { kind: 'int', value: attrInt(ctx.node, 'upper', 1) } });
    return [out, undefined];
  },
  Gather: (ctx, [g]) => gatherRule(ctx, g!),
  GatherElements: (ctx, [g]) => gatherElementsRule(ctx, g!),
};
