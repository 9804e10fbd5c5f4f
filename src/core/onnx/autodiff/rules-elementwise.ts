// VJP rules of elementwise ops. Binary ops broadcast, so each input's gradient is summed back to the
// input's shape (ctx.unbroadcast). Rules reuse forward outputs (Exp, Sqrt, Sigmoid, …) rather than
// recomputing them.

import type { Value } from '../types';
import { AutodiffError, type VjpContext } from './context';
import type { VjpRule } from './rule';

type Grads = (Value | undefined)[];

function ub(ctx: VjpContext, g: Value, i: number): Value {
  return ctx.unbroadcast(g, ctx.shape(ctx.input(i)));
}

/** The scalar value of a constant input, if it is one. */
function constScalar(ctx: VjpContext, i: number): number | undefined {
  const v = ctx.input(i);
  if (ctx.needs(i) || v.shape.some((d) => d !== 1)) return undefined;
  try {
    const vals = ctx.ints(i);
    return vals.length === 1 ? vals[0] : undefined;
  } catch {
    return undefined;
  }
}

const unaryRule =
  (f: (ctx: VjpContext, g: Value) => Value): VjpRule =>
  (ctx, [g]) => [f(ctx, g!)];

export const ELEMENTWISE_RULES: Record<string, VjpRule> = {
  Add: (ctx, [g]) => [ctx.needs(0) ? ub(ctx, g!, 0) : undefined, ctx.needs(1) ? ub(ctx, g!, 1) : undefined],
  Sub: (ctx, [g]) => [ctx.needs(0) ? ub(ctx, g!, 0) : undefined, ctx.needs(1) ? ctx.b.neg(ub(ctx, g!, 1)) : undefined],
  Sum: (ctx, [g]) => ctx.node.inputs.map((_, i) => (ctx.needs(i) ? ub(ctx, g!, i) : undefined)),
  Mul: (ctx, [g]) => {
    const { b } = ctx;
    // x·x (relu² in the MLP): one 2·g·x instead of two products and their sum.
    if (ctx.node.inputs[0] === ctx.node.inputs[1]) return [ctx.needs(0) ? ub(ctx, b.mul(b.mul(g!, ctx.input(0)), 2), 0) : undefined, undefined];
    const out: Grads = [undefined, undefined];
    if (ctx.needs(0)) out[0] = ub(ctx, b.mul(g!, ctx.input(1)), 0);
    if (ctx.needs(1)) out[1] = ub(ctx, b.mul(g!, ctx.input(0)), 1);
    return out;
  },
  Div: (ctx, [g]) => {
    const { b } = ctx;
    const q = b.div(g!, ctx.input(1)); // g / B
    return [ctx.needs(0) ? ub(ctx, q, 0) : undefined, ctx.needs(1) ? ub(ctx, b.neg(b.mul(q, ctx.output(0))), 1) : undefined]; // −g·Y/B
  },
  Pow: (ctx, [g]) => {
    const { b } = ctx;
    const x = ctx.input(0);
    const e = ctx.input(1);
    const out: Grads = [undefined, undefined];
    if (ctx.needs(0)) {
      const k = constScalar(ctx, 1);
      let d: Value;
      if (k === 2) d = b.mul(x, 2);
      else if (k === 1) d = b.scalar(1, x.dtype);
      else d = b.mul(b.pow(x, b.sub(e, 1)), e);
      out[0] = ub(ctx, b.mul(g!, d), 0);
    }
    if (ctx.needs(1)) out[1] = ub(ctx, b.mul(b.mul(g!, ctx.output(0)), b.log(x)), 1);
    return out;
  },
  Max: (ctx, [g]) => minMax(ctx, g!, 'max'),
  Min: (ctx, [g]) => minMax(ctx, g!, 'min'),
  Exp: unaryRule((ctx, g) => ctx.b.mul(g, ctx.output(0))),
  Log: unaryRule((ctx, g) => ctx.b.div(g, ctx.input(0))),
  Neg: unaryRule((ctx, g) => ctx.b.neg(g)),
  Sqrt: unaryRule((ctx, g) => ctx.b.mul(ctx.b.div(g, ctx.output(0)), 0.5)),
  Reciprocal: unaryRule((ctx, g) => {
    const y = ctx.output(0);
    return ctx.b.neg(ctx.b.mul(g, ctx.b.mul(y, y)));
  }),
  Sigmoid: unaryRule((ctx, g) => {
    const y = ctx.output(0);
    return ctx.b.mul(g, ctx.b.mul(y, ctx.b.sub(1, y)));
  }),
  Softplus: unaryRule((ctx, g) => ctx.b.mul(g, ctx.b.sigmoid(ctx.input(0)))),
  Tanh: unaryRule((ctx, g) => {
    const y = ctx.output(0);
    return ctx.b.mul(g, ctx.b.sub(1, ctx.b.mul(y, y)));
  }),
  Relu: unaryRule((ctx, g) => ctx.b.where(ctx.b.greater(ctx.input(0), 0), g, 0)),
  Abs: unaryRule((ctx, g) => {
    const x = ctx.input(0);
    const [sign] = ctx.b.node('Sign', [x], [{ dtype: x.dtype, shape: x.shape.slice() }]);
    return ctx.b.mul(g, sign!);
  }),
  Identity: unaryRule((_ctx, g) => g),
  Clip: (ctx, [g]) => {
    if (ctx.needs(1) || ctx.needs(2)) throw new AutodiffError(`${ctx.where()}: gradients with respect to Clip bounds are not supported`);
    const { b } = ctx;
    const x = ctx.input(0);
    let out = g!;
    // Outside [lo, hi] the output is constant; at the bounds themselves the gradient passes (as in PyTorch's clamp).
    if (ctx.hasInput(1)) out = b.where(b.less(x, ctx.input(1)), 0, out);
    if (ctx.hasInput(2)) out = b.where(b.greater(x, ctx.input(2)), 0, out);
    return [out, undefined, undefined];
  },
  Where: (ctx, [g]) => {
    const { b } = ctx;
    const c = ctx.input(0);
    return [undefined, ctx.needs(1) ? ub(ctx, b.where(c, g!, 0), 1) : undefined, ctx.needs(2) ? ub(ctx, b.where(c, 0, g!), 2) : undefined];
  },
  Cast: (ctx, [g]) => {
    const x = ctx.input(0);
    return [g!.dtype === x.dtype ? g! : ctx.b.cast(g!, x.dtype)];
  },
};

/** Max/Min of two tensors: the gradient goes to the winner; ties go to the first input. */
function minMax(ctx: VjpContext, g: Value, kind: 'max' | 'min'): Grads {
  if (ctx.node.inputs.length !== 2) throw new AutodiffError(`${ctx.where()}: only two-input ${kind === 'max' ? 'Max' : 'Min'} is differentiable here`);
  const { b } = ctx;
  const a = ctx.input(0);
  const c = ctx.input(1);
  const secondWins = kind === 'max' ? b.less(a, c) : b.greater(a, c);
  return [ctx.needs(0) ? ub(ctx, b.where(secondWins, 0, g), 0) : undefined, ctx.needs(1) ? ub(ctx, b.where(secondWins, g, 0), 1) : undefined];
}
