// Shape specialisation: turns a graph with symbolic dims (batch, seq, and whatever the forward graph
// derives from them at run time through Shape/Gather/Range/Div…) into the same graph with every value's
// shape static, for given input shapes. Reverse-mode autodiff needs this (training graphs are built for
// a fixed batch × seq), and ORT plans memory better on static shapes.
//
// How: one pass in topological order with
//  - constant folding of every node whose inputs are all known (the int64 shape arithmetic, masks built
//    from Range/Less/Where…), evaluated by the reference interpreter's evaluators; Shape nodes are known
//    from their input's (now static) shape;
//  - a static shape function per op for everything else.
// Folded nodes whose results are small become inline initializers (so e.g. a computed Pad/Slice bound is
// a constant the VJP rules can read); declared numeric dims are cross-checked against the inferred ones.

import { encodeValues } from '../builder';
import { einsumShape, matmulShape } from '../dims';
import { attrInt, attrInts, attrString } from '../interpret/attrs';
import { ELEMENTWISE } from '../interpret/ops-elementwise';
import { LINALG } from '../interpret/ops-linalg';
import { REDUCE } from '../interpret/ops-reduce';
import { SHAPE_OPS, sliceAxes } from '../interpret/ops-shape';
import { broadcast, decodeBytes, normAxis, numelOf, type Tensor } from '../interpret/tensor';
import type { Evaluator } from '../interpret/evaluator';
import type { Graph, Initializer, Node, Value } from '../types';
import { AutodiffError, pruneKeepingValues } from './context';

const EVAL: Record<string, Evaluator> = { ...ELEMENTWISE, ...LINALG, ...REDUCE, ...SHAPE_OPS };

export interface SpecializeOptions {
  /** Folded results up to this many elements become initializers (default 65536). */
  foldLimit?: number;
}

type Shape = number[];

function fail(node: Node, msg: string): never {
  throw new AutodiffError(`shape specialisation: ${node.op} node ${node.name}: ${msg}`);
}

function knownInts(node: Node, t: Tensor | undefined, what: string): number[] {
  if (!t) fail(node, `${what} is not a constant after folding (it depends on a runtime value)`);
  return Array.from(t.data);
}

/** Output shapes of a node from its input shapes and the values of its constant inputs. */
function inferShapes(node: Node, s: (Shape | undefined)[], k: (Tensor | undefined)[]): Shape[] {
  const x = s[0]!;
  const same = () => [x.slice()];
  switch (node.op) {
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Max': case 'Min': case 'Sum': case 'Mod':
    case 'Equal': case 'Less': case 'LessOrEqual': case 'Greater': case 'GreaterOrEqual': case 'And': case 'Or': case 'Where':
      return [broadcast(s.filter((v): v is Shape => v !== undefined))];
    case 'Exp': case 'Log': case 'Neg': case 'Sqrt': case 'Reciprocal': case 'Sigmoid': case 'Softplus': case 'Relu': case 'Tanh':
    case 'Abs': case 'Sign': case 'Not': case 'Identity': case 'Clip': case 'Cast': case 'Softmax': case 'LogSoftmax': case 'CumSum': case 'Trilu':
      return same();
    case 'MatMul':
      return [matmulShape(x, s[1]!, false, false) as Shape];
    case 'FusedMatMul':
      return [matmulShape(x, s[1]!, attrInt(node, 'transA', 0) === 1, attrInt(node, 'transB', 0) === 1) as Shape];
    case 'Gemm': {
      const ta = attrInt(node, 'transA', 0) === 1;
      const tb = attrInt(node, 'transB', 0) === 1;
      return [[ta ? x[1]! : x[0]!, tb ? s[1]![0]! : s[1]![1]!]];
    }
    case 'Einsum':
      return [einsumShape(attrString(node, 'equation', ''), s as Shape[]) as Shape];
    case 'Conv': {
      const S = x.length - 2;
      const w = s[1]!;
      const pads = attrInts(node, 'pads') ?? new Array<number>(2 * S).fill(0);
      const st = attrInts(node, 'strides') ?? new Array<number>(S).fill(1);
      const dil = attrInts(node, 'dilations') ?? new Array<number>(S).fill(1);
      const sp = x.slice(2).map((L, i) => Math.floor((L + pads[i]! + pads[i + S]! - dil[i]! * (w[2 + i]! - 1) - 1) / st[i]!) + 1);
      return [[x[0]!, w[0]!, ...sp]];
    }
    case 'ReduceSum': case 'ReduceMean': case 'ReduceSumSquare': case 'ReduceMax': case 'ReduceMin': {
      const raw = node.inputs[1] ? knownInts(node, k[1], 'axes') : attrInts(node, 'axes') ?? [];
      const axes = raw.length ? raw.map((a) => normAxis(a, x.length)) : attrInt(node, 'noop_with_empty_axes', 0) ? [] : x.map((_, i) => i);
      const keep = attrInt(node, 'keepdims', 1) === 1;
      return [x.flatMap((d, i) => (!axes.includes(i) ? [d] : keep ? [1] : []))];
    }
    case 'SimplifiedLayerNormalization': {
      const a = normAxis(attrInt(node, 'axis', -1), x.length);
      return [x.slice(), [...x.slice(0, a), ...x.slice(a).map(() => 1)]].slice(0, node.outputs.length);
    }
    case 'SkipSimplifiedLayerNormalization': {
      const full = broadcast([x, s[1]!]);
      const stat = [...full.slice(0, -1), 1];
      return [full, stat, stat.slice(), full.slice()];
    }
    case 'Reshape': {
      const target = knownInts(node, k[1], 'the target shape');
      const allowZero = attrInt(node, 'allowzero', 0) === 1;
      const out = target.map((d, i) => (d === 0 && !allowZero ? x[i]! : d));
      const m = out.indexOf(-1);
      if (m >= 0) out[m] = numelOf(x) / out.reduce((p, d, i) => (i === m ? p : p * d), 1);
      if (numelOf(out) !== numelOf(x) || !out.every(Number.isInteger)) fail(node, `cannot reshape [${x}] to [${target}]`);
      return [out];
    }
    case 'Transpose': {
      const perm = attrInts(node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      return [perm.map((p) => x[p]!)];
    }
    case 'Slice': {
      const spec = sliceAxes(x, knownInts(node, k[1], 'starts'), knownInts(node, k[2], 'ends'), node.inputs[3] ? knownInts(node, k[3], 'axes') : undefined, node.inputs[4] ? knownInts(node, k[4], 'steps') : undefined);
      const out = x.slice();
      for (const a of spec) out[a.axis] = a.count;
      return [out];
    }
    case 'Split': {
      const axis = normAxis(attrInt(node, 'axis', 0), x.length);
      let sizes = node.inputs[1] ? knownInts(node, k[1], 'split sizes') : attrInts(node, 'split');
      if (!sizes) {
        const n = node.outputs.length;
        const c = Math.ceil(x[axis]! / n);
        sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(c, x[axis]! - i * c)));
      }
      return sizes.map((d) => x.map((v, i) => (i === axis ? d : v)));
    }
    case 'Concat': {
      const axis = normAxis(attrInt(node, 'axis', 0), x.length);
      const out = x.slice();
      out[axis] = s.reduce((t, v) => t + v![axis]!, 0);
      return [out];
    }
    case 'Squeeze': {
      const axes = node.inputs[1] ? knownInts(node, k[1], 'axes').map((a) => normAxis(a, x.length)) : x.flatMap((d, i) => (d === 1 ? [i] : []));
      return [x.filter((_, i) => !axes.includes(i))];
    }
    case 'Unsqueeze': {
      const raw = knownInts(node, k[1], 'axes');
      const rank = x.length + raw.length;
      const axes = raw.map((a) => normAxis(a, rank));
      let j = 0;
      return [Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : x[j++]!))];
    }
    case 'Expand':
      return [broadcast([x, knownInts(node, k[1], 'the target shape')])];
    case 'Pad': {
      const pads = knownInts(node, k[1], 'pads');
      const axes = node.inputs[3] ? knownInts(node, k[3], 'axes').map((a) => normAxis(a, x.length)) : x.map((_, i) => i);
      const out = x.slice();
      axes.forEach((a, i) => (out[a] = out[a]! + pads[i]! + pads[i + axes.length]!));
      return [out];
    }
    case 'Gather': {
      const a = normAxis(attrInt(node, 'axis', 0), x.length);
      return [[...x.slice(0, a), ...s[1]!, ...x.slice(a + 1)]];
    }
    case 'GatherElements':
      return [s[1]!.slice()];
    case 'ScatterND': case 'ScatterElements':
      return same();
    case 'OneHot': {
      const depth = knownInts(node, k[1], 'depth')[0]!;
      const a = normAxis(attrInt(node, 'axis', -1), x.length + 1);
      return [[...x.slice(0, a), depth, ...x.slice(a)]];
    }
    case 'GroupQueryAttention': {
      const hkv = attrInt(node, 'kv_num_heads', 0);
      const kv = [x[0]!, hkv, x[1]!, s[1]![2]! / hkv];
      return [x.slice(), kv, kv.slice()];
    }
    case 'ConstantOfShape':
      return [knownInts(node, k[0], 'the shape')];
    case 'Range': {
      const [st, l, d] = [0, 1, 2].map((i) => knownInts(node, k[i], 'Range bounds')[0]!);
      return [[Math.max(0, Math.ceil((l! - st!) / d!))]];
    }
    default:
      return fail(node, 'no static shape function for this op');
  }
}

/** True when the node passes its first input through unchanged (static shapes, constant parameters). */
function isIdentity(node: Node, inShape: Shape | undefined, outShape: Shape | undefined, known: Map<string, Tensor>): boolean {
  if (!inShape || !outShape || inShape.length !== outShape.length || inShape.some((d, i) => d !== outShape[i])) return false;
  const constant = (i: number) => (node.inputs[i] ? known.get(node.inputs[i]!) : undefined);
  switch (node.op) {
    case 'Identity':
    case 'Reshape':
    case 'Expand':
      return true;
    case 'Pad': {
      const pads = constant(1);
      return !!pads && pads.data.every((v) => v === 0);
    }
    case 'Slice': {
      // Same shape with all steps +1 means every axis is taken whole.
      const steps = node.inputs[4] ? constant(4) : undefined;
      return node.inputs[4] ? !!steps && steps.data.every((v) => v === 1) : true;
    }
    case 'Transpose': {
      const perm = attrInts(node, 'perm');
      return !!perm && perm.every((p, i) => p === i);
    }
    default:
      return false;
  }
}

function initializerTensor(i: Initializer): Tensor | undefined {
  if (i.data.kind !== 'raw') return undefined;
  return { dtype: i.dtype, shape: i.dims.slice(), data: decodeBytes(i.dtype, i.data.bytes) };
}

export function specializeShapes(graph: Graph, inputShapes: Readonly<Record<string, readonly number[]>>, o: SpecializeOptions = {}): Graph {
  const foldLimit = o.foldLimit ?? 65536;
  const shapes = new Map<string, Shape>();
  const known = new Map<string, Tensor>();
  const values = new Map(graph.values);

  const setShape = (name: string, shape: Shape, node?: Node) => {
    const declared = graph.values.get(name);
    if (declared) {
      const clash = declared.shape.length !== shape.length || declared.shape.some((d, i) => typeof d === 'number' && d !== shape[i]);
      if (clash) throw new AutodiffError(`shape specialisation: ${node ? `${node.op} node ${node.name}: ` : ''}"${name}" is declared [${declared.shape.join(', ')}] but is [${shape.join(', ')}] for these input shapes`, name);
      values.set(name, { ...declared, shape: shape.slice() });
    }
    shapes.set(name, shape);
  };

  for (const name of Object.keys(inputShapes)) {
    if (!graph.inputs.some((v) => v.name === name)) throw new AutodiffError(`shape specialisation: "${name}" is not an input of graph ${graph.name} (inputs: ${graph.inputs.map((v) => v.name).slice(0, 4).join(', ')}…)`, name);
  }
  const inputs: Value[] = graph.inputs.map((v) => {
    const given = inputShapes[v.name];
    const shape = given ? given.slice() : v.shape.every((d) => typeof d === 'number') ? (v.shape as number[]).slice() : undefined;
    if (!shape) throw new AutodiffError(`shape specialisation: give a static shape for input "${v.name}" (declared [${v.shape.join(', ')}])`, v.name);
    setShape(v.name, shape);
    return { ...v, shape };
  });
  const inputNames = new Set(inputs.map((v) => v.name));
  for (const i of graph.initializers) {
    if (inputNames.has(i.name)) continue;
    setShape(i.name, i.dims.slice());
    if (numelOf(i.dims) <= foldLimit) {
      const t = initializerTensor(i);
      if (t) known.set(i.name, t);
    }
  }

  const nodes: Node[] = [];
  const folded: Initializer[] = [];
  for (const node of graph.nodes) {
    const ins = node.inputs.map((n) => (n === '' ? undefined : known.get(n)));
    const inShapes = node.inputs.map((n) => {
      if (n === '') return undefined;
      const sh = shapes.get(n);
      if (!sh) fail(node, `input "${n}" has no shape (not produced before use)`);
      return sh;
    });
    let outs: Tensor[] | undefined;
    if (node.op === 'Shape') {
      const x = inShapes[0]!;
      const r = x.length;
      const clampAxis = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
      const dims = x.slice(clampAxis(attrInt(node, 'start', 0)), clampAxis(node.attrs['end'] ? attrInt(node, 'end', r) : r));
      outs = [{ dtype: 'int64', shape: [dims.length], data: Float64Array.from(dims) }];
    } else if (EVAL[node.op] && node.inputs.every((n, i) => n === '' || ins[i])) {
      outs = EVAL[node.op]!(ins, node);
    }
    if (outs) {
      node.outputs.forEach((name, i) => {
        if (name === '') return;
        setShape(name, outs![i]!.shape, node);
        known.set(name, outs![i]!);
      });
      const small = outs.every((t) => t.data.length <= foldLimit);
      if (small) {
        node.outputs.forEach((name, i) => {
          if (name === '') return;
          const t = outs![i]!;
          folded.push({ name, dtype: t.dtype, dims: t.shape.slice(), data: { kind: 'raw', bytes: encodeValues(t.dtype, t.data) } });
        });
        continue;
      }
      nodes.push(node);
      continue;
    }
    const outShapes = inferShapes(node, inShapes, ins);
    node.outputs.forEach((name, i) => name !== '' && setShape(name, outShapes[i]!, node));
    nodes.push(node);
  }

  // Nodes that became identities once shapes are static (a Pad of zero width when T is a multiple of
  // the chunk, a Slice of the whole tensor, a Reshape to the same shape) are dropped: ORT still copies
  // their data every run.
  const alias = new Map<string, string>();
  const resolve = (n: string) => alias.get(n) ?? n;
  const graphOutputs = new Set(graph.outputs.map((v) => v.name));
  const kept: Node[] = [];
  for (const node of nodes) {
    node.inputs = node.inputs.map((n) => (n === '' ? n : resolve(n)));
    const src = node.inputs[0];
    const out = node.outputs[0]!;
    if (src !== undefined && src !== '' && node.outputs.length === 1 && !graphOutputs.has(out) && isIdentity(node, shapes.get(src), shapes.get(out), known)) {
      alias.set(out, src);
      continue;
    }
    kept.push(node);
  }
  nodes.length = 0;
  nodes.push(...kept);

  const g: Graph = {
    ...graph,
    inputs,
    outputs: graph.outputs.map((v) => values.get(v.name) ?? v),
    nodes,
    initializers: [...graph.initializers, ...folded],
    values,
    opsets: graph.opsets.map((x) => ({ ...x })),
    metadata: { ...graph.metadata },
  };
  // Folded results that are graph outputs stay produced (by their initializer); unused inputs of folded
  // nodes are dropped.
  pruneKeepingValues(g);
  return g;
}
