// What a VJP rule sees: the forward node, its input/output Values, which inputs need a gradient, and
// helpers that emit backward nodes through the GraphBuilder (broadcast reduction, constant reads).

import { HybridCompressError } from '../../errors';
import type { GraphBuilder } from '../builder';
import { decodeBytes } from '../interpret/tensor';
import type { DType, Graph, Node, Value } from '../types';
import { pruneUnused } from '../walk';

export interface AutodiffOptions {
  /**
   * Emit com.microsoft FusedMatMul for transposed products in the backward pass (no explicit
   * Transpose copies; ORT CPU runs it for float32). Off: Transpose + MatMul (+ Mul for alpha).
   */
  fusedMatMul: boolean;
  /** Scatter-add for Gather's gradient: ScatterND(reduction=add) or a one-hot MatMul. */
  gatherGrad: 'scatternd' | 'onehot';
}

export const DEFAULT_AUTODIFF_OPTIONS: AutodiffOptions = { fusedMatMul: true, gatherGrad: 'scatternd' };

/** Raised for graphs the autodiff cannot handle (symbolic shapes, an op without a rule, non-constant attributes). */
export class AutodiffError extends HybridCompressError {
  constructor(message: string, tensor?: string) {
    super('UNSUPPORTED_ARCHITECTURE', message, { tensor, rule: 'autodiff' });
    this.name = 'AutodiffError';
  }
}

export class VjpContext {
  constructor(
    readonly b: GraphBuilder,
    readonly graph: Graph,
    readonly node: Node,
    private readonly needMask: boolean[],
    readonly options: AutodiffOptions,
    private readonly constants: ConstantReader,
    private readonly shared: Map<string, Value> = new Map(),
  ) {}

  /** A value shared by every rule of one differentiate() call (e.g. one causal mask for all layers). */
  memo(key: string, make: () => Value): Value {
    let v = this.shared.get(key);
    if (!v) this.shared.set(key, (v = make()));
    return v;
  }

  input(i: number): Value {
    const name = this.node.inputs[i];
    if (name === undefined || name === '') throw new AutodiffError(`${this.where()}: input ${i} is absent`);
    return this.b.value(name);
  }

  hasInput(i: number): boolean {
    const name = this.node.inputs[i];
    return name !== undefined && name !== '';
  }

  output(i: number): Value {
    return this.b.value(this.node.outputs[i]!);
  }

  /** True when input i lies on a path from a differentiated variable (so it needs a gradient). */
  needs(i: number): boolean {
    return this.needMask[i] === true;
  }

  /** Static shape of v (rules only run on static shapes; `differentiate` checks before calling). */
  shape(v: Value): number[] {
    return staticShape(v);
  }

  /** Values of a constant input (an initializer or a Constant node's output), as numbers. */
  ints(i: number): number[] {
    const name = this.node.inputs[i]!;
    const v = this.constants.read(name);
    if (!v) throw new AutodiffError(`${this.where()}: input ${i} ("${name}") must be a constant to differentiate this op`);
    return v;
  }

  where(): string {
    return `${this.node.op} node ${this.node.name}`;
  }

  /** Sums g (shaped like the broadcast result) back down to `target` (numpy broadcasting in reverse). */
  unbroadcast(g: Value, target: readonly number[]): Value {
    const gs = this.shape(g);
    if (sameShape(gs, target)) return g;
    const lead = gs.length - target.length;
    if (lead < 0) throw new AutodiffError(`${this.where()}: gradient [${gs}] has lower rank than its input [${target}]`);
    const axes: number[] = [];
    for (let i = 0; i < gs.length; i++) if (i < lead || (target[i - lead] === 1 && gs[i] !== 1)) axes.push(i);
    let r = axes.length ? this.b.reduceSum(g, axes, true) : g;
    if (!sameShape(this.shape(r), target)) r = this.b.reshape(r, target.slice());
    return r;
  }

  /** Reshape only when the shape differs. */
  reshapeTo(v: Value, target: readonly number[]): Value {
    return sameShape(this.shape(v), target) ? v : this.b.reshape(v, target.slice());
  }

  zeros(shape: readonly number[], dtype: DType): Value {
    return this.b.constantOfShape(this.b.int64s(shape.slice()), 0, dtype, { shape: shape.slice() });
  }

  /**
   * alpha · op(a) @ op(b) where op transposes the last two axes: FusedMatMul when allowed, otherwise
   * explicit Transpose + MatMul (+ Mul by alpha).
   */
  mm(a: Value, b: Value, transA: boolean, transB: boolean, alpha = 1): Value {
    if (!transA && !transB && alpha === 1) return this.b.matmul(a, b);
    if (this.options.fusedMatMul && a.dtype === 'float32') return this.b.fusedMatMul(a, b, { transA, transB, alpha });
    return this.b.matmulT(a, b, { transA, transB, alpha });
  }
}

export function sameShape(a: readonly (number | string)[], b: readonly (number | string)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function staticShape(v: Value): number[] {
  if (!v.shape.every((d) => typeof d === 'number')) {
    throw new AutodiffError(
      `autodiff needs static shapes, but "${v.name}" has shape [${v.shape.join(', ')}]; build the forward graph for a fixed batch × sequence length`,
      v.name,
    );
  }
  return v.shape as number[];
}

/** Reads constant integer tensors (initializers with inline bytes, Constant node outputs). */
export class ConstantReader {
  private readonly byName = new Map<string, () => number[]>();

  constructor(g: Graph) {
    for (const i of g.initializers) {
      if (i.data.kind === 'raw') {
        const data = i.data;
        this.byName.set(i.name, () => Array.from(decodeBytes(i.dtype, data.bytes)));
      }
    }
    for (const n of g.nodes) {
      const t = n.op === 'Constant' ? n.attrs['value'] : undefined;
      if (t?.kind === 'tensor') {
        const tv = t.value;
        this.byName.set(n.outputs[0]!, () => Array.from(decodeBytes(tv.dtype, tv.bytes)));
      }
    }
  }

  read(name: string): number[] | undefined {
    return this.byName.get(name)?.();
  }
}

/**
 * pruneUnused, keeping the value entries of every output of the nodes that stay (walk.ts drops those of
 * unused secondary outputs, e.g. Split parts or GroupQueryAttention's present_key, which later passes
 * still look up).
 */
export function pruneKeepingValues(g: Graph): number {
  const before = new Map(g.values);
  const removed = pruneUnused(g);
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '' && !g.values.has(o) && before.has(o)) g.values.set(o, before.get(o)!);
  return removed;
}
