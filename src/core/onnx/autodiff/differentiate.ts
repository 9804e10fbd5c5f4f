// Reverse-mode differentiation of a graph IR: appends the backward pass to (a copy of) the forward
// graph and returns the gradient value of every requested variable.
//
// 1. Active values: float values that depend on a `wrt` variable (forward sweep).
// 2. Nodes on a path: nodes with an active input and an output that reaches the loss/seeds (backward
//    sweep). Everything else gets no backward node.
// 3. Reverse sweep over those nodes in reverse topological order: the gradients flowing into each
//    output (fan-out contributions, summed with Add/Sum) go through the op's VJP rule, which returns
//    one gradient per input. Every rule's result is checked against the input's static shape.
// 4. Graph outputs become [loss?, kept outputs..., gradients...]; nodes no output needs are pruned.

import { GraphBuilder } from '../builder';
import type { Graph, Node, Value } from '../types';
import { AutodiffError, ConstantReader, pruneKeepingValues, DEFAULT_AUTODIFF_OPTIONS, sameShape, staticShape, VjpContext, type AutodiffOptions } from './context';
import { ATTENTION_RULES } from './rules-attention';
import { ELEMENTWISE_RULES } from './rules-elementwise';
import { LINALG_RULES } from './rules-linalg';
import { REDUCE_RULES } from './rules-reduce';
import { SHAPE_RULES } from './rules-shape';
import type { VjpRule } from './rule';

const RULES: Record<string, VjpRule> = { ...ELEMENTWISE_RULES, ...LINALG_RULES, ...REDUCE_RULES, ...SHAPE_RULES, ...ATTENTION_RULES };

/** Op types with a VJP rule. */
export function differentiableOps(): string[] {
  return Object.keys(RULES).sort();
}

const FLOAT = new Set(['float32', 'float64', 'float16', 'bfloat16']);

export interface Seed {
  /** A value of the graph (e.g. logits). */
  value: string;
  /** A value holding d(objective)/d(value), same shape and dtype (e.g. a closed-form loss gradient). */
  grad: string;
}

export interface DifferentiateOptions extends Partial<AutodiffOptions> {
  /** A scalar (all dims 1) value to differentiate; its gradient is seeded with 1. */
  loss?: string;
  /** Further (or, without `loss`, the only) upstream gradients: vector-Jacobian products from these values. */
  seeds?: readonly Seed[];
  /** Values (graph inputs, initializers or intermediates) to return gradients for. */
  wrt: readonly string[];
  /** Output name of each gradient; default `<name>.grad`. */
  gradName?: (wrt: string) => string;
  /** Forward values to keep as graph outputs besides the loss (e.g. kd_loss, ce_loss). */
  keepOutputs?: readonly string[];
  /** Drop nodes no output depends on (default true). */
  prune?: boolean;
}

export interface Differentiated {
  graph: Graph;
  /** wrt name → output name of its gradient. */
  gradients: Map<string, string>;
}

function cloneGraph(g: Graph): Graph {
  return {
    name: g.name,
    inputs: g.inputs.slice(),
    outputs: g.outputs.slice(),
    nodes: g.nodes.map((n) => ({ ...n, inputs: n.inputs.slice(), outputs: n.outputs.slice(), attrs: { ...n.attrs } })),
    initializers: g.initializers.slice(),
    values: new Map(g.values),
    opsets: g.opsets.map((o) => ({ ...o })),
    metadata: { ...g.metadata },
  };
}

export function differentiate(graph: Graph, o: DifferentiateOptions): Differentiated {
  const options: AutodiffOptions = { ...DEFAULT_AUTODIFF_OPTIONS, ...o };
  const g = cloneGraph(graph);
  const b = new GraphBuilder(g);
  const value = (name: string, what: string): Value => {
    const v = g.values.get(name);
    if (!v) throw new AutodiffError(`differentiate: ${what} "${name}" is not a value of graph ${g.name}`, name);
    return v;
  };
  if (o.loss === undefined && !o.seeds?.length) throw new AutodiffError('differentiate: give a loss value or at least one seed');
  if (o.loss !== undefined) {
    const l = value(o.loss, 'loss');
    if (!FLOAT.has(l.dtype) || !staticShape(l).every((d) => d === 1)) throw new AutodiffError(`differentiate: loss "${o.loss}" must be a float scalar, is ${l.dtype}[${l.shape.join(', ')}]`, o.loss);
  }
  for (const s of o.seeds ?? []) {
    const v = value(s.value, 'seed value');
    const gv = value(s.grad, 'seed gradient');
    if (!sameShape(staticShape(v), staticShape(gv)) || v.dtype !== gv.dtype) throw new AutodiffError(`differentiate: seed gradient "${s.grad}" (${gv.dtype}[${gv.shape}]) does not match "${s.value}" (${v.dtype}[${v.shape}])`, s.grad);
  }
  const wrt = [...new Set(o.wrt)];
  for (const w of wrt) {
    const v = value(w, 'wrt');
    if (!FLOAT.has(v.dtype)) throw new AutodiffError(`differentiate: cannot differentiate with respect to "${w}" of type ${v.dtype}; only float values have gradients`, w);
  }

  // 1. active values (depend on a variable)
  const active = new Set<string>(wrt);
  for (const n of g.nodes) {
    if (n.inputs.some((i) => active.has(i))) for (const out of n.outputs) if (out !== '' && FLOAT.has(value(out, 'node output').dtype)) active.add(out);
  }
  // 2. nodes on a variable → objective path
  const reaches = new Set<string>([...(o.loss !== undefined ? [o.loss] : []), ...(o.seeds ?? []).map((s) => s.value)]);
  const onPath: Node[] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (!n.outputs.some((out) => reaches.has(out) && active.has(out))) continue;
    onPath.push(n);
    for (const i of n.inputs) if (active.has(i)) reaches.add(i);
  }

  // 3. reverse sweep
  const contributions = new Map<string, Value[]>();
  const add = (name: string, grad: Value) => {
    const list = contributions.get(name);
    if (list) list.push(grad);
    else contributions.set(name, [grad]);
  };
  const total = (name: string): Value | undefined => {
    const list = contributions.get(name);
    if (!list || list.length === 0) return undefined;
    if (list.length === 1) return list[0];
    const v = value(name, 'value');
    const summed = list.length === 2 ? b.add(list[0]!, list[1]!) : b.node('Sum', list, [{ dtype: v.dtype, shape: v.shape.slice() }])[0]!;
    contributions.set(name, [summed]);
    return summed;
  };
  const constants = new ConstantReader(g);
  const shared = new Map<string, Value>();

  b.scope('grad', () => {
    if (o.loss !== undefined) {
      const l = value(o.loss, 'loss');
      add(o.loss, b.constant(l.dtype, staticShape(l), new Array<number>(staticShape(l).reduce((a, d) => a * d, 1)).fill(1)));
    }
    for (const s of o.seeds ?? []) add(s.value, value(s.grad, 'seed gradient'));

    for (const n of onPath) {
      const gys = n.outputs.map((out) => (out === '' ? undefined : total(out)));
      if (gys.every((x) => x === undefined)) continue;
      const rule = RULES[n.op];
      if (!rule) throw new AutodiffError(`differentiate: no gradient rule for op ${n.domain ? n.domain + ':' : ''}${n.op} (node ${n.name}); differentiable ops: ${differentiableOps().join(', ')}`);
      const needs = n.inputs.map((i) => i !== '' && active.has(i) && reaches.has(i));
      for (const name of [...n.inputs, ...n.outputs]) if (name !== '' && active.has(name)) staticShape(value(name, 'value'));
      const ctx = new VjpContext(b, g, n, needs, options, constants, shared);
      const gxs = b.scope(n.op, () => rule(ctx, gys));
      n.inputs.forEach((name, i) => {
        const gx = gxs[i];
        if (!needs[i] || !gx) return;
        const x = value(name, 'input');
        if (!sameShape(staticShape(gx), staticShape(x)) || gx.dtype !== x.dtype) {
          throw new AutodiffError(`differentiate: internal error in the ${n.op} rule (node ${n.name}): gradient of input ${i} is ${gx.dtype}[${gx.shape}], the input is ${x.dtype}[${x.shape}]`);
        }
        add(name, gx);
      });
    }
  });

  // 4. outputs
  const gradients = new Map<string, string>();
  const gradName = o.gradName ?? ((w: string) => `${w}.grad`);
  const keep = [...(o.loss !== undefined ? [o.loss] : []), ...(o.keepOutputs ?? [])];
  g.outputs = [];
  for (const k of keep) if (!g.outputs.some((v) => v.name === k)) g.outputs.push(value(k, 'kept output'));
  const grads = wrt.map((w) => {
    const v = value(w, 'wrt');
    return total(w) ?? b.scope('grad', () => b.constantOfShape(b.int64s(staticShape(v)), 0, v.dtype, { shape: staticShape(v) }));
  });
  const uses = new Map<string, number>();
  for (const v of grads) uses.set(v.name, (uses.get(v.name) ?? 0) + 1);
  for (const n of g.nodes) for (const i of n.inputs) if (uses.has(i)) uses.set(i, uses.get(i)! + 1);
  const fixed = new Set([...g.inputs, ...g.outputs].map((v) => v.name).concat(g.initializers.map((i) => i.name)));
  wrt.forEach((w, k) => {
    const grad = grads[k]!;
    const name = gradName(w);
    // A gradient computed by a node for this output alone is renamed rather than copied by an Identity:
    // the node then writes the output buffer itself (no model-sized temporary and copy per parameter).
    const producer = uses.get(grad.name) === 1 && !fixed.has(grad.name) && !g.values.has(name) ? g.nodes.find((n) => n.outputs.includes(grad.name)) : undefined;
    if (producer) {
      producer.outputs = producer.outputs.map((o) => (o === grad.name ? name : o));
      g.values.delete(grad.name);
      g.values.set(name, { ...grad, name });
      g.outputs.push(g.values.get(name)!);
      gradients.set(w, name);
    } else gradients.set(w, b.output(grad, name).name);
  });
  if (o.prune ?? true) pruneKeepingValues(g);
  return { graph: g, gradients };
}
