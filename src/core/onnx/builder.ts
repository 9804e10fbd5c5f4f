// GraphBuilder: one typed helper per ONNX op. Every helper appends one node, infers the output's dtype
// and (static or symbolic) shape, and returns the output Value, so graphs read like the math they
// compute. The op set is deliberately small and stable (see OPS in ops.ts and README.md): reverse-mode
// autodiff writes one VJP rule per op over graphs built here.
//
// Naming is deterministic: values get `<scope>/<op>_<n>` unless the caller names them, so the same model
// always serialises to the same bytes.

import { broadcastShapes, divDims, einsumShape, matmulShape, normAxis, numelOf, shapeToString } from './dims';
import { DEFAULT_OPSET, DTYPE_BYTES, MS_DOMAIN, type Attr, type DType, type Dim, type Graph, type Initializer, type InitializerData, type Node, type Shape, type Value } from './types';
import { f32ToBf16, f32ToF16 } from '../safetensors/dtype';

/** A Value, or a JS number that becomes a scalar constant of the other operand's dtype. */
export type Operand = Value | number;

type TypedArrayLike = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

export interface NodeOptions {
  /** Output value name (first output); default `<scope>/<op>_<n>`. */
  name?: string;
}

export class GraphBuilder {
  readonly graph: Graph;
  private counter = 0;
  private readonly scopes: string[] = [];
  private readonly constCache = new Map<string, Value>();
  private readonly names = new Set<string>();

  /** Starts a new graph, or continues an existing one (e.g. to append a backward pass). */
  constructor(nameOrGraph: string | Graph, opset = DEFAULT_OPSET) {
    if (typeof nameOrGraph === 'string') {
      this.graph = { name: nameOrGraph, inputs: [], outputs: [], nodes: [], initializers: [], values: new Map(), opsets: [{ domain: '', version: opset }], metadata: {} };
    } else {
      this.graph = nameOrGraph;
      for (const n of this.graph.values.keys()) this.names.add(n);
      for (const n of this.graph.nodes) this.names.add(n.name);
      this.counter = this.graph.nodes.length;
    }
  }

  // ---- naming ---------------------------------------------------------------------------------------

  /** Runs fn with `prefix` prepended to generated names (nested scopes join with '/'). */
  scope<T>(prefix: string, fn: () => T): T {
    this.scopes.push(prefix);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private fresh(base: string): string {
    const scope = this.scopes.join('/');
    let name: string;
    do name = `${scope ? scope + '/' : ''}${base}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph ${this.graph.name}: value name "${name}" is already used`);
    this.names.add(name);
    return name;
  }

  value(name: string): Value {
    const v = this.graph.values.get(name);
    if (!v) throw new Error(`graph ${this.graph.name}: no value "${name}"`);
    return v;
  }

  private define(name: string, dtype: DType, shape: Shape): Value {
    const v: Value = { name, dtype, shape };
    this.graph.values.set(name, v);
    return v;
  }

  // ---- graph interface ------------------------------------------------------------------------------

  input(name: string, dtype: DType, shape: Shape): Value {
    const v = this.define(this.claim(name), dtype, shape);
    this.graph.inputs.push(v);
    return v;
  }

  /** Marks v as a graph output; with a different `name`, an Identity gives it that name. */
  output(v: Value, name?: string): Value {
    let out = v;
    if (name !== undefined && name !== v.name) out = this.identity(v, { name });
    if (this.graph.outputs.some((o) => o.name === out.name)) throw new Error(`graph ${this.graph.name}: "${out.name}" is already an output`);
    this.graph.outputs.push(out);
    return out;
  }

  /** An initializer whose bytes are inline (small constants) or in a file range (weights). */
  initializer(name: string, dtype: DType, dims: number[], data: InitializerData): Value {
    if (data.kind === 'raw' && data.bytes.byteLength !== numelStatic(dims) * DTYPE_BYTES[dtype]) {
      throw new Error(`initializer ${name}: ${data.bytes.byteLength} bytes for ${dtype}${shapeToString(dims)}`);
    }
    const init: Initializer = { name: this.claim(name), dtype, dims: dims.slice(), data };
    this.graph.initializers.push(init);
    return this.define(name, dtype, dims.slice());
  }

  /** An inline constant from numbers (converted to dtype). Identical small constants are shared. */
  constant(dtype: DType, dims: number[], values: ArrayLike<number> | ArrayLike<bigint>, name?: string): Value {
    const bytes = encodeValues(dtype, values);
    if (bytes.byteLength !== numelStatic(dims) * DTYPE_BYTES[dtype]) throw new Error(`constant: ${values.length} values for ${dtype}${shapeToString(dims)}`);
    const key = name === undefined && bytes.byteLength <= 64 ? `${dtype}|${dims.join(',')}|${Array.from(bytes).join(',')}` : undefined;
    if (key) {
      const hit = this.constCache.get(key);
      if (hit) return hit;
    }
    const v = this.initializer(name ?? this.fresh('const'), dtype, dims, { kind: 'raw', bytes });
    if (key) this.constCache.set(key, v);
    return v;
  }

  scalar(value: number, dtype: DType = 'float32'): Value {
    return this.constant(dtype, [], [value]);
  }

  /** 1-D int64 constant (shapes, axes, pads, starts/ends). */
  int64s(values: readonly number[]): Value {
    return this.constant('int64', [values.length], values);
  }

  /** A `Constant` node (the value lives in the node, not in the initializer list). */
  constantNode(dtype: DType, dims: number[], values: ArrayLike<number>, opts: NodeOptions = {}): Value {
    const bytes = encodeValues(dtype, values);
    return this.emit('Constant', [], { value: tensorAttr(dtype, dims, bytes) }, dtype, dims, opts);
  }

  /** Low-level: appends any node with explicitly given output types. */
  node(op: string, inputs: (Value | null)[], outputs: { dtype: DType; shape: Shape; name?: string }[], attrs: Record<string, Attr> = {}, domain = ''): Value[] {
    if (domain === MS_DOMAIN && !this.graph.opsets.some((o) => o.domain === MS_DOMAIN)) this.graph.opsets.push({ domain: MS_DOMAIN, version: 1 });
    const outs = outputs.map((o) => this.define(o.name !== undefined ? this.claim(o.name) : this.claim(this.fresh(op)), o.dtype, o.shape));
    const node: Node = { name: this.claim(`node:${outs[0]?.name ?? this.fresh(op)}`), op, domain, inputs: inputs.map((v) => (v ? v.name : '')), outputs: outs.map((o) => o.name), attrs };
    this.graph.nodes.push(node);
    return outs;
  }

  private emit(op: string, inputs: (Value | null)[], attrs: Record<string, Attr>, dtype: DType, shape: Shape, opts: NodeOptions = {}, domain = ''): Value {
    return this.node(op, inputs, [{ dtype, shape, name: opts.name }], attrs, domain)[0]!;
  }

  private operand(x: Operand, like: Value | undefined): Value {
    if (typeof x !== 'number') return x;
    return this.scalar(x, like?.dtype ?? 'float32');
  }

  private binary(op: string, a: Operand, b: Operand, opts: NodeOptions, outDtype?: DType): Value {
    const av = this.operand(a, typeof b === 'number' ? undefined : b);
    const bv = this.operand(b, av);
    if (av.dtype !== bv.dtype) throw new Error(`${op}: dtype mismatch ${av.name}:${av.dtype} vs ${bv.name}:${bv.dtype}`);
    return this.emit(op, [av, bv], {}, outDtype ?? av.dtype, broadcastShapes([av.shape, bv.shape]), opts);
  }

  private unary(op: string, x: Value, opts: NodeOptions, attrs: Record<string, Attr> = {}): Value {
    return this.emit(op, [x], attrs, x.dtype, x.shape.slice(), opts);
  }

  // ---- elementwise ----------------------------------------------------------------------------------

  add(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Add', a, b, opts);
  }
  sub(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Sub', a, b, opts);
  }
  mul(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Mul', a, b, opts);
  }
  div(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Div', a, b, opts);
  }
  pow(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Pow', a, b, opts);
  }
  max(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Max', a, b, opts);
  }
  min(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Min', a, b, opts);
  }
  /** Integer remainder (fmod=0); used for shape arithmetic. */
  mod(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Mod', a, b, opts);
  }
  equal(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Equal', a, b, opts, 'bool');
  }
  less(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Less', a, b, opts, 'bool');
  }
  greater(a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    return this.binary('Greater', a, b, opts, 'bool');
  }

  exp(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Exp', x, opts);
  }
  log(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Log', x, opts);
  }
  neg(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Neg', x, opts);
  }
  sqrt(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Sqrt', x, opts);
  }
  reciprocal(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Reciprocal', x, opts);
  }
  sigmoid(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Sigmoid', x, opts);
  }
  softplus(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Softplus', x, opts);
  }
  relu(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Relu', x, opts);
  }
  tanh(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Tanh', x, opts);
  }
  abs(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Abs', x, opts);
  }
  identity(x: Value, opts: NodeOptions = {}): Value {
    return this.unary('Identity', x, opts);
  }

  /** Clip to [min, max]; either bound may be omitted. */
  clip(x: Value, min: number | undefined, max: number | undefined, opts: NodeOptions = {}): Value {
    const lo = min === undefined ? null : this.scalar(min, x.dtype);
    const hi = max === undefined ? null : this.scalar(max, x.dtype);
    return this.emit('Clip', [x, lo, hi], {}, x.dtype, x.shape.slice(), opts);
  }

  where(cond: Value, a: Operand, b: Operand, opts: NodeOptions = {}): Value {
    const av = this.operand(a, typeof b === 'number' ? undefined : b);
    const bv = this.operand(b, av);
    if (cond.dtype !== 'bool') throw new Error(`Where: condition ${cond.name} must be bool, is ${cond.dtype}`);
    return this.emit('Where', [cond, av, bv], {}, av.dtype, broadcastShapes([cond.shape, av.shape, bv.shape]), opts);
  }

  cast(x: Value, to: DType, opts: NodeOptions = {}): Value {
    return this.emit('Cast', [x], { to: { kind: 'int', value: onnxCode(to) } }, to, x.shape.slice(), opts);
  }

  // ---- linear algebra -------------------------------------------------------------------------------

  matmul(a: Value, b: Value, opts: NodeOptions = {}): Value {
    return this.emit('MatMul', [a, b], {}, a.dtype, matmulShape(a.shape, b.shape, false, false), opts);
  }

  /** com.microsoft FusedMatMul: alpha · op(a) @ op(b), op = optional transpose of the last two axes. */
  fusedMatMul(a: Value, b: Value, o: { transA?: boolean; transB?: boolean; alpha?: number } & NodeOptions = {}): Value {
    const attrs: Record<string, Attr> = {
      alpha: { kind: 'float', value: o.alpha ?? 1 },
      transA: { kind: 'int', value: o.transA ? 1 : 0 },
      transB: { kind: 'int', value: o.transB ? 1 : 0 },
    };
    return this.emit('FusedMatMul', [a, b], attrs, a.dtype, matmulShape(a.shape, b.shape, !!o.transA, !!o.transB), o, MS_DOMAIN);
  }

  /** Gemm on 2-D operands: alpha · op(a) @ op(b) + beta · c. */
  gemm(a: Value, b: Value, c: Value | null, o: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } & NodeOptions = {}): Value {
    if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error(`Gemm needs 2-D operands, got ${shapeToString(a.shape)} and ${shapeToString(b.shape)}`);
    const m = o.transA ? a.shape[1]! : a.shape[0]!;
    const n = o.transB ? b.shape[0]! : b.shape[1]!;
    const attrs: Record<string, Attr> = {};
    if (o.alpha !== undefined) attrs['alpha'] = { kind: 'float', value: o.alpha };
    if (o.beta !== undefined) attrs['beta'] = { kind: 'float', value: o.beta };
    if (o.transA) attrs['transA'] = { kind: 'int', value: 1 };
    if (o.transB) attrs['transB'] = { kind: 'int', value: 1 };
    return this.emit('Gemm', c ? [a, b, c] : [a, b], attrs, a.dtype, [m, n], o);
  }

  einsum(equation: string, inputs: Value[], opts: NodeOptions = {}): Value {
    return this.emit('Einsum', inputs, { equation: { kind: 'string', value: equation } }, inputs[0]!.dtype, einsumShape(equation, inputs.map((v) => v.shape)), opts);
  }

  conv(x: Value, w: Value, bias: Value | null, o: { group?: number; pads?: number[]; strides?: number[]; dilations?: number[] } & NodeOptions = {}): Value {
    const spatial = x.shape.length - 2;
    const kernel = w.shape.slice(2);
    if (!kernel.every((k) => typeof k === 'number')) throw new Error('Conv: kernel shape must be static');
    const pads = o.pads ?? new Array(2 * spatial).fill(0);
    const strides = o.strides ?? new Array(spatial).fill(1);
    const dil = o.dilations ?? new Array(spatial).fill(1);
    const outSpatial: Dim[] = [];
    for (let i = 0; i < spatial; i++) {
      const L = x.shape[2 + i]!;
      const span = dil[i]! * ((kernel[i] as number) - 1) + 1;
      const total = pads[i]! + pads[i + spatial]!;
      if (typeof L === 'number') outSpatial.push(Math.floor((L + total - span) / strides[i]!) + 1);
      else if (strides[i] === 1 && total === span - 1) outSpatial.push(L);
      else outSpatial.push(this.unknownDim());
    }
    const attrs: Record<string, Attr> = {
      dilations: { kind: 'ints', value: dil },
      group: { kind: 'int', value: o.group ?? 1 },
      kernel_shape: { kind: 'ints', value: kernel as number[] },
      pads: { kind: 'ints', value: pads },
      strides: { kind: 'ints', value: strides },
    };
    return this.emit('Conv', bias ? [x, w, bias] : [x, w], attrs, x.dtype, [x.shape[0]!, w.shape[0]!, ...outSpatial], o);
  }

  // ---- normalisation / softmax / scans ------------------------------------------------------------------

  softmax(x: Value, axis = -1, opts: NodeOptions = {}): Value {
    return this.unary('Softmax', x, opts, { axis: { kind: 'int', value: axis } });
  }
  logSoftmax(x: Value, axis = -1, opts: NodeOptions = {}): Value {
    return this.unary('LogSoftmax', x, opts, { axis: { kind: 'int', value: axis } });
  }

  cumsum(x: Value, axis: number, o: { exclusive?: boolean; reverse?: boolean } & NodeOptions = {}): Value {
    const attrs: Record<string, Attr> = {};
    if (o.exclusive) attrs['exclusive'] = { kind: 'int', value: 1 };
    if (o.reverse) attrs['reverse'] = { kind: 'int', value: 1 };
    return this.emit('CumSum', [x, this.scalar(axis, 'int64')], attrs, x.dtype, x.shape.slice(), o);
  }

  private reduce(op: string, x: Value, axes: number[], keepdims: boolean, opts: NodeOptions): Value {
    const rank = x.shape.length;
    const ax = new Set(axes.map((a) => normAxis(a, rank)));
    const shape: Shape = [];
    x.shape.forEach((d, i) => {
      if (!ax.has(i)) shape.push(d);
      else if (keepdims) shape.push(1);
    });
    return this.emit(op, [x, this.int64s(axes)], { keepdims: { kind: 'int', value: keepdims ? 1 : 0 } }, x.dtype, shape, opts);
  }
  reduceSum(x: Value, axes: number[], keepdims = true, opts: NodeOptions = {}): Value {
    return this.reduce('ReduceSum', x, axes, keepdims, opts);
  }
  reduceMean(x: Value, axes: number[], keepdims = true, opts: NodeOptions = {}): Value {
    return this.reduce('ReduceMean', x, axes, keepdims, opts);
  }
  reduceSumSquare(x: Value, axes: number[], keepdims = true, opts: NodeOptions = {}): Value {
    return this.reduce('ReduceSumSquare', x, axes, keepdims, opts);
  }
  reduceMax(x: Value, axes: number[], keepdims = true, opts: NodeOptions = {}): Value {
    return this.reduce('ReduceMax', x, axes, keepdims, opts);
  }

  /**
   * RMSNorm over the last axis: scale ⊙ x / sqrt(mean(x²) + eps). ORT registers this contrib op in the
   * ai.onnx domain (SimplifiedLayerNormalization), where it runs at every opset; it computes in fp32.
   */
  rmsNorm(x: Value, scale: Value, eps: number, opts: NodeOptions = {}): Value {
    const attrs: Record<string, Attr> = { axis: { kind: 'int', value: -1 }, epsilon: { kind: 'float', value: eps }, stash_type: { kind: 'int', value: 1 } };
    return this.emit('SimplifiedLayerNormalization', [x, scale], attrs, x.dtype, x.shape.slice(), opts);
  }

  /** com.microsoft SkipSimplifiedLayerNormalization: s = x + skip; returns {out: RMSNorm(s)·gamma, sum: s}. */
  skipRmsNorm(x: Value, skip: Value, gamma: Value, eps: number, o: { name?: string; sumName?: string } = {}): { out: Value; sum: Value } {
    const shape = broadcastShapes([x.shape, skip.shape]);
    const [out, , , sum] = this.node(
      'SkipSimplifiedLayerNormalization',
      [x, skip, gamma],
      [
        { dtype: x.dtype, shape, name: o.name },
        { dtype: 'float32', shape: [...shape.slice(0, -1), 1] },
        { dtype: 'float32', shape: [...shape.slice(0, -1), 1] },
        { dtype: x.dtype, shape: shape.slice(), name: o.sumName },
      ],
      { epsilon: { kind: 'float', value: eps } },
      MS_DOMAIN,
    );
    return { out: out!, sum: sum! };
  }

  /**
   * com.microsoft GroupQueryAttention without a past cache: causal attention of q [B, T, Hq·d] over
   * k, v [B, T, Hkv·d] (query head i reads KV head ⌊i/(Hq/Hkv)⌋), softmax in fp32, output [B, T, Hq·d].
   * seqlensK: int32 [B] = T−1; totalLength: int32 scalar = T.
   */
  groupQueryAttention(q: Value, k: Value, v: Value, seqlensK: Value, totalLength: Value, o: { numHeads: number; kvNumHeads: number; scale?: number } & NodeOptions): Value {
    const kvShape = (x: Value): Shape => [x.shape[0]!, o.kvNumHeads, x.shape[1]!, this.unknownDim()];
    const attrs: Record<string, Attr> = { kv_num_heads: { kind: 'int', value: o.kvNumHeads }, num_heads: { kind: 'int', value: o.numHeads } };
    if (o.scale !== undefined) attrs['scale'] = { kind: 'float', value: o.scale };
    const [out] = this.node('GroupQueryAttention', [q, k, v, null, null, seqlensK, totalLength], [{ dtype: q.dtype, shape: q.shape.slice(), name: o.name }, { dtype: k.dtype, shape: kvShape(k) }, { dtype: v.dtype, shape: kvShape(v) }], attrs, MS_DOMAIN);
    return out!;
  }

  trilu(x: Value, o: { upper?: boolean; k?: number } & NodeOptions = {}): Value {
    const inputs: (Value | null)[] = [x];
    if (o.k !== undefined) inputs.push(this.scalar(o.k, 'int64'));
    return this.emit('Trilu', inputs, { upper: { kind: 'int', value: o.upper ? 1 : 0 } }, x.dtype, x.shape.slice(), o);
  }

  // ---- shape manipulation -------------------------------------------------------------------------------

  /**
   * Reshape to a constant target (0 copies the input dim, -1 is inferred), or to a computed shape
   * Value — then `shape` in opts gives the result's shape for inference.
   */
  reshape(x: Value, target: readonly number[] | Value, opts: NodeOptions & { shape?: Shape } = {}): Value {
    if (!Array.isArray(target)) {
      if (!opts.shape) throw new Error('reshape to a computed shape needs opts.shape');
      return this.emit('Reshape', [x, target as Value], {}, x.dtype, opts.shape, opts);
    }
    const t = target as readonly number[];
    const out: Shape = t.map((d, i) => (d === 0 ? x.shape[i]! : d));
    const minus = t.indexOf(-1);
    if (minus >= 0) {
      const known = numelOf(out.filter((_, i) => i !== minus));
      const q = divDims(numelOf(x.shape), known);
      out[minus] = q ?? this.unknownDim();
    }
    return this.emit('Reshape', [x, this.int64s(t as number[])], {}, x.dtype, opts.shape ?? out, opts);
  }

  transpose(x: Value, perm: number[], opts: NodeOptions = {}): Value {
    if (perm.length !== x.shape.length) throw new Error(`Transpose: perm [${perm}] for rank ${x.shape.length}`);
    return this.emit('Transpose', [x], { perm: { kind: 'ints', value: perm } }, x.dtype, perm.map((p) => x.shape[p]!), opts);
  }

  /** Slice with constant starts/ends (INT64 max for "to the end"), or computed Values plus opts.shape. */
  slice(x: Value, starts: readonly number[] | Value, ends: readonly number[] | Value, axes?: readonly number[], steps?: readonly number[], opts: NodeOptions & { shape?: Shape } = {}): Value {
    const rank = x.shape.length;
    const ax = (axes ?? (Array.isArray(starts) ? starts.map((_, i) => i) : [])).map((a) => normAxis(a, rank));
    const inputs: Value[] = [Array.isArray(starts) ? this.int64s(starts as number[]) : (starts as Value), Array.isArray(ends) ? this.int64s(ends as number[]) : (ends as Value)];
    if (axes || steps) inputs.push(this.int64s(axes ?? ax));
    if (steps) inputs.push(this.int64s(steps as number[]));
    let shape = opts.shape;
    if (!shape) {
      if (!Array.isArray(starts) || !Array.isArray(ends)) throw new Error('slice with computed bounds needs opts.shape');
      shape = x.shape.slice();
      ax.forEach((a, i) => {
        const d = x.shape[a]!;
        const st = (starts as number[])[i]!;
        const en = (ends as number[])[i]!;
        const step = steps?.[i] ?? 1;
        if (typeof d === 'number') {
          const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
          const s0 = step > 0 ? clampIdx(st, 0, d) : clampIdx(st, -1, d - 1);
          const e0 = step > 0 ? clampIdx(en, 0, d) : clampIdx(en, -1, d - 1);
          shape![a] = Math.max(0, Math.ceil((e0 - s0) / step));
        } else if (step === 1 && st >= 0 && en >= 0 && en - st >= 0 && en < 2 ** 52) shape![a] = en - st;
        else shape![a] = this.unknownDim();
      });
    }
    return this.emit('Slice', [x, ...inputs], {}, x.dtype, shape, opts);
  }

  /** Split along axis into pieces of the given sizes. */
  split(x: Value, sizes: readonly number[], axis: number, names?: string[]): Value[] {
    const a = normAxis(axis, x.shape.length);
    const outs = sizes.map((s, i) => {
      const shape = x.shape.slice();
      shape[a] = s;
      return { dtype: x.dtype, shape, name: names?.[i] };
    });
    return this.node('Split', [x, this.int64s(sizes as number[])], outs, { axis: { kind: 'int', value: axis } });
  }

  concat(xs: Value[], axis: number, opts: NodeOptions = {}): Value {
    const a = normAxis(axis, xs[0]!.shape.length);
    const shape = xs[0]!.shape.slice();
    let total: Dim = 0;
    for (const x of xs) total = addDims(total, x.shape[a]!);
    shape[a] = total;
    return this.emit('Concat', xs, { axis: { kind: 'int', value: axis } }, xs[0]!.dtype, shape, opts);
  }

  squeeze(x: Value, axes: number[], opts: NodeOptions = {}): Value {
    const ax = new Set(axes.map((a) => normAxis(a, x.shape.length)));
    return this.emit('Squeeze', [x, this.int64s(axes)], {}, x.dtype, x.shape.filter((_, i) => !ax.has(i)), opts);
  }

  unsqueeze(x: Value, axes: number[], opts: NodeOptions = {}): Value {
    const rank = x.shape.length + axes.length;
    const ax = new Set(axes.map((a) => normAxis(a, rank)));
    const shape: Shape = [];
    let k = 0;
    for (let i = 0; i < rank; i++) shape.push(ax.has(i) ? 1 : x.shape[k++]!);
    return this.emit('Unsqueeze', [x, this.int64s(axes)], {}, x.dtype, shape, opts);
  }

  expand(x: Value, target: readonly number[] | Value, opts: NodeOptions & { shape?: Shape } = {}): Value {
    if (!Array.isArray(target)) {
      if (!opts.shape) throw new Error('expand to a computed shape needs opts.shape');
      return this.emit('Expand', [x, target as Value], {}, x.dtype, opts.shape, opts);
    }
    return this.emit('Expand', [x, this.int64s(target as number[])], {}, x.dtype, broadcastShapes([x.shape, target as number[]]), opts);
  }

  gather(data: Value, indices: Value, axis = 0, opts: NodeOptions = {}): Value {
    const a = normAxis(axis, data.shape.length);
    const shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
    return this.emit('Gather', [data, indices], { axis: { kind: 'int', value: axis } }, data.dtype, shape, opts);
  }

  /** out[i][j][k] = data[i][indices[i][j][k]][k] (for axis 1): picks one element per index along axis. */
  gatherElements(data: Value, indices: Value, axis: number, opts: NodeOptions = {}): Value {
    return this.emit('GatherElements', [data, indices], { axis: { kind: 'int', value: axis } }, data.dtype, indices.shape.slice(), opts);
  }

  /** Pad with constant `pads` ([begin..., end...] over all axes) or a computed pads Value plus opts.shape. */
  pad(x: Value, pads: readonly number[] | Value, o: { value?: number; mode?: 'constant' | 'reflect' | 'edge' } & NodeOptions & { shape?: Shape } = {}): Value {
    const inputs: (Value | null)[] = [x, Array.isArray(pads) ? this.int64s(pads as number[]) : (pads as Value)];
    if (o.value !== undefined && o.value !== 0) inputs.push(this.scalar(o.value, x.dtype));
    let shape = o.shape;
    if (!shape) {
      if (!Array.isArray(pads)) throw new Error('pad with computed pads needs opts.shape');
      const r = x.shape.length;
      shape = x.shape.map((d, i) => addDims(d, (pads as number[])[i]! + (pads as number[])[i + r]!));
    }
    return this.emit('Pad', inputs, { mode: { kind: 'string', value: o.mode ?? 'constant' } }, x.dtype, shape, o);
  }

  /** Shape of x as int64 [rank] (or [end-start] with start/end). */
  shapeOf(x: Value, o: { start?: number; end?: number } & NodeOptions = {}): Value {
    const attrs: Record<string, Attr> = {};
    if (o.start !== undefined) attrs['start'] = { kind: 'int', value: o.start };
    if (o.end !== undefined) attrs['end'] = { kind: 'int', value: o.end };
    const r = x.shape.length;
    const s = o.start === undefined ? 0 : normAxis(o.start, r + 1);
    const e = o.end === undefined ? r : o.end < 0 ? o.end + r : Math.min(o.end, r);
    return this.emit('Shape', [x], attrs, 'int64', [Math.max(0, e - s)], o);
  }

  range(start: Value, limit: Value, delta: Value, opts: NodeOptions & { shape?: Shape } = {}): Value {
    return this.emit('Range', [start, limit, delta], {}, start.dtype, opts.shape ?? [this.unknownDim()], opts);
  }

  constantOfShape(shape: Value, value: number, dtype: DType, opts: NodeOptions & { shape?: Shape } = {}): Value {
    const bytes = encodeValues(dtype, [value]);
    const outShape = opts.shape ?? (typeof shape.shape[0] === 'number' ? Array.from({ length: shape.shape[0] }, () => this.unknownDim()) : [this.unknownDim()]);
    return this.emit('ConstantOfShape', [shape], { value: tensorAttr(dtype, [1], bytes) }, dtype, outShape, opts);
  }

  /** A fresh symbol for a dim shape inference cannot name. */
  unknownDim(): string {
    return `?${this.counter++}`;
  }

  build(): Graph {
    return this.graph;
  }
}

// ---- helpers --------------------------------------------------------------------------------------------

function tensorAttr(dtype: DType, dims: number[], bytes: Uint8Array): Attr {
  return { kind: 'tensor', value: { dtype, dims, bytes } };
}

function onnxCode(d: DType): number {
  return { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, bfloat16: 16 }[d];
}

function numelStatic(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function addDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  return `?sum(${a}+${b})`;
}

/** Encodes JS numbers (or bigints) as little-endian bytes of dtype. */
export function encodeValues(dtype: DType, values: ArrayLike<number> | ArrayLike<bigint>): Uint8Array {
  const n = values.length;
  const get = (i: number) => Number(values[i]!);
  let arr: TypedArrayLike;
  switch (dtype) {
    case 'float32':
      arr = values instanceof Float32Array ? values : Float32Array.from({ length: n }, (_, i) => get(i));
      break;
    case 'float64':
      arr = Float64Array.from({ length: n }, (_, i) => get(i));
      break;
    case 'int64':
      arr = BigInt64Array.from({ length: n }, (_, i) => (typeof values[i] === 'bigint' ? (values[i] as bigint) : BigInt(Math.trunc(get(i)))));
      break;
    case 'int32':
      arr = Int32Array.from({ length: n }, (_, i) => get(i));
      break;
    case 'int8':
      arr = Int8Array.from({ length: n }, (_, i) => get(i));
      break;
    case 'uint8':
    case 'bool':
      arr = Uint8Array.from({ length: n }, (_, i) => (dtype === 'bool' ? (get(i) ? 1 : 0) : get(i)));
      break;
    case 'float16':
    case 'bfloat16':
      arr = Uint16Array.from({ length: n }, (_, i) => (dtype === 'bfloat16' ? f32ToBf16(get(i)) : f32ToF16(get(i))));
      break;
  }
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).slice();
}
