// VJP rules of reductions, softmax, cumsum and the RMS-norm ops.

import { attrFloat, attrInt, attrInts } from '../interpret/attrs';
import { normAxis } from '../interpret/tensor';
import type { Value } from '../types';
import { AutodiffError, type VjpContext } from './context';
import type { VjpRule } from './rule';

/** Normalised reduction axes of a Reduce* node, and the output gradient reshaped to keepdims form. */
function reduction(ctx: VjpContext, g: Value): { axes: number[]; kept: number[]; gKept: Value; count: number } {
  const xs = ctx.shape(ctx.input(0));
  const raw = ctx.hasInput(1) ? ctx.ints(1) : attrInts(ctx.node, 'axes') ?? [];
  let axes: number[];
  if (raw.length === 0) {
    if (attrInt(ctx.node, 'noop_with_empty_axes', 0)) axes = [];
    else axes = xs.map((_, i) => i);
  } else axes = raw.map((a) => normAxis(a, xs.length));
  const kept = xs.map((d, i) => (axes.includes(i) ? 1 : d));
  const count = axes.reduce((n, a) => n * xs[a]!, 1);
  return { axes, kept, gKept: ctx.reshapeTo(g, kept), count };
}

/** dX for y = rms_norm(x) · scale over the trailing axes from `axis`, given u = dY · scale. */
function rmsInputGrad(ctx: VjpContext, x: Value, u: Value, eps: number, axis: number): { dx: Value; xhat: Value } {
  const { b } = ctx;
  const r = ctx.shape(x).length;
  const axes = Array.from({ length: r - normAxis(axis, r) }, (_, k) => normAxis(axis, r) + k);
  // Recomputing 1/rms is a handful of elementwise ops per row — far cheaper than keeping a second
  // forward output alive, and independent of which optional outputs the forward op declares.
  const inv = b.reciprocal(b.sqrt(b.add(b.reduceMean(b.mul(x, x), axes, true), eps)));
  const xhat = b.mul(x, inv);
  // dx = inv · (u − x̂ · mean(u · x̂))
  const dx = b.mul(inv, b.sub(u, b.mul(xhat, b.reduceMean(b.mul(u, xhat), axes, true))));
  return { dx, xhat };
}

export const REDUCE_RULES: Record<string, VjpRule> = {
  ReduceSum: (ctx, [g]) => {
    const { gKept } = reduction(ctx, g!);
    return [ctx.b.expand(gKept, ctx.shape(ctx.input(0))), undefined];
  },
  ReduceMean: (ctx, [g]) => {
    const { gKept, count } = reduction(ctx, g!);
    return [ctx.b.expand(ctx.b.mul(gKept, 1 / count), ctx.shape(ctx.input(0))), undefined];
  },
  ReduceSumSquare: (ctx, [g]) => {
    const { gKept } = reduction(ctx, g!);
    return [ctx.b.mul(ctx.b.mul(ctx.input(0), 2), gKept), undefined];
  },
  ReduceMax: (ctx, [g]) => {
    // Ties share: every maximal element receives the full gradient (measure-zero for continuous inputs).
    const { b } = ctx;
    const { kept, gKept } = reduction(ctx, g!);
    const x = ctx.input(0);
    const yKept = ctx.reshapeTo(ctx.output(0), kept);
    return [b.mul(b.cast(b.equal(x, yKept), x.dtype), gKept), undefined];
  },
  Softmax: (ctx, [g]) => {
    const { b } = ctx;
    const y = ctx.output(0);
    const axis = attrInt(ctx.node, 'axis', -1);
    const gy = b.mul(g!, y);
    return [b.sub(gy, b.mul(y, b.reduceSum(gy, [axis], true)))];
  },
  LogSoftmax: (ctx, [g]) => {
    const { b } = ctx;
    const axis = attrInt(ctx.node, 'axis', -1);
    return [b.sub(g!, b.mul(b.exp(ctx.output(0)), b.reduceSum(g!, [axis], true)))];
  },
  CumSum: (ctx, [g]) => {
    // The transpose of an (exclusive) prefix sum is the (exclusive) suffix sum.
    const axis = ctx.ints(1)[0]!;
    const exclusive = attrInt(ctx.node, 'exclusive', 0) === 1;
    const reverse = attrInt(ctx.node, 'reverse', 0) === 1;
    return [ctx.b.cumsum(g!, axis, { exclusive, reverse: !reverse }), undefined];
  },
  SimplifiedLayerNormalization: (ctx, gys) => {
    if (gys.slice(1).some((g) => g)) throw new AutodiffError(`${ctx.where()}: gradients through the inv_std_var output are not supported`);
    const { b } = ctx;
    const g = gys[0]!;
    const x = ctx.input(0);
    const scale = ctx.input(1);
    const axis = attrInt(ctx.node, 'axis', -1);
    const { dx, xhat } = rmsInputGrad(ctx, x, b.mul(g, scale), attrFloat(ctx.node, 'epsilon', 1e-5), axis);
    return [ctx.needs(0) ? dx : undefined, ctx.needs(1) ? ctx.unbroadcast(b.mul(g, xhat), ctx.shape(scale)) : undefined];
  },
  SkipSimplifiedLayerNormalization: (ctx, gys) => {
    // Outputs: out = rms_norm(s)·γ, mean, inv_std, s = x + skip (+ bias).
    if (gys[1] || gys[2]) throw new AutodiffError(`${ctx.where()}: gradients through the mean/inv_std outputs are not supported`);
    const { b } = ctx;
    const s = ctx.output(3);
    const gamma = ctx.input(2);
    let gs: Value | undefined = gys[3];
    let gGamma: Value | undefined;
    if (gys[0]) {
      const { dx, xhat } = rmsInputGrad(ctx, s, b.mul(gys[0], gamma), attrFloat(ctx.node, 'epsilon', 1e-5), -1);
      gs = gs ? b.add(gs, dx) : dx;
      if (ctx.needs(2)) gGamma = ctx.unbroadcast(b.mul(gys[0], xhat), ctx.shape(gamma));
    }
    const toInput = (i: number) => (ctx.hasInput(i) && ctx.needs(i) && gs ? ctx.unbroadcast(gs, ctx.shape(ctx.input(i))) : undefined);
    return [toInput(0), toInput(1), gGamma, toInput(3)];
  },
};
