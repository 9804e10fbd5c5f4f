// MatMul / FusedMatMul / Gemm / Einsum / Conv evaluators (plain loops, float64).

import type { Node } from '../types';
import { attrFloat, attrInt, attrInts, attrString } from './attrs';
import type { Evaluator } from './evaluator';
import { broadcast, broadcastMap, makeTensor, numelOf, stridesOf, transposeData, type Tensor } from './tensor';

function need(t: Tensor | undefined, node: Node, i: number): Tensor {
  if (!t) throw new Error(`${node.op} ${node.name}: input ${i} is missing`);
  return t;
}

function swapLast(t: Tensor): Tensor {
  const r = t.shape.length;
  const perm = t.shape.map((_, i) => i);
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return transposeData(t, perm);
}

/** alpha · op(a) @ op(b) with numpy batch broadcasting and rank-1 promotion (ONNX MatMul semantics). */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false, alpha = 1): Tensor {
  const aVec = a.shape.length === 1;
  const bVec = b.shape.length === 1;
  let A: Tensor = aVec ? { ...a, shape: [1, a.shape[0]!] } : a;
  let B: Tensor = bVec ? { ...b, shape: [b.shape[0]!, 1] } : b;
  if (transA && !aVec) A = swapLast(A);
  if (transB && !bVec) B = swapLast(B);
  const M = A.shape[A.shape.length - 2]!;
  const K = A.shape[A.shape.length - 1]!;
  const K2 = B.shape[B.shape.length - 2]!;
  const N = B.shape[B.shape.length - 1]!;
  if (K !== K2) throw new Error(`MatMul: inner dims ${K} and ${K2} differ`);
  const batchA = A.shape.slice(0, -2);
  const batchB = B.shape.slice(0, -2);
  const batch = broadcast([batchA, batchB]);
  const mapA = broadcastMap(batchA, batch);
  const mapB = broadcastMap(batchB, batch);
  const nb = numelOf(batch);
  const out = new Float64Array(nb * M * N);
  for (let bi = 0; bi < nb; bi++) {
    const ao = mapA[bi]! * M * K;
    const bo = mapB[bi]! * K * N;
    const oo = bi * M * N;
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K; k++) {
        const av = A.data[ao + m * K + k]!;
        if (av === 0) continue;
        for (let n = 0; n < N; n++) out[oo + m * N + n] += av * B.data[bo + k * N + n]!;
      }
    }
  }
  if (alpha !== 1) for (let i = 0; i < out.length; i++) out[i] *= alpha;
  const shape = [...batch, M, N];
  if (aVec) shape.splice(shape.length - 2, 1);
  if (bVec) shape.splice(shape.length - 1, 1);
  return { dtype: a.dtype, shape, data: out };
}

function einsum(equation: string, ins: Tensor[]): Tensor {
  const [lhs, rhs] = equation.replace(/\s+/g, '').split('->');
  if (rhs === undefined) throw new Error(`Einsum "${equation}": implicit output is not supported`);
  const terms = lhs!.split(',');
  if (terms.length !== ins.length) throw new Error(`Einsum "${equation}": ${terms.length} terms for ${ins.length} inputs`);
  const size = new Map<string, number>();
  terms.forEach((t, i) => {
    if (t.length !== ins[i]!.shape.length) throw new Error(`Einsum "${equation}": term ${t} for rank ${ins[i]!.shape.length}`);
    [...t].forEach((c, k) => {
      const d = ins[i]!.shape[k]!;
      const prev = size.get(c);
      if (prev === undefined || prev === 1) size.set(c, d);
      else if (d !== 1 && d !== prev) throw new Error(`Einsum "${equation}": ${c} is ${prev} and ${d}`);
    });
  });
  const letters = [...rhs, ...[...size.keys()].filter((c) => !rhs.includes(c))];
  const dims = letters.map((c) => size.get(c)!);
  // Per input: stride of each letter (summed over repeats, 0 where the input broadcasts it).
  const strides = ins.map((t, i) => {
    const st = stridesOf(t.shape);
    return letters.map((c) => {
      let s = 0;
      [...terms[i]!].forEach((tc, k) => {
        if (tc === c && t.shape[k] !== 1) s += st[k]!;
      });
      return s;
    });
  });
  const outShape = [...rhs].map((c) => size.get(c)!);
  const out = makeTensor(ins[0]!.dtype, outShape);
  const outStrides = stridesOf(outShape);
  const L = letters.length;
  const total = numelOf(dims);
  const idx = new Array<number>(L).fill(0);
  const offs = new Array<number>(ins.length).fill(0);
  let oo = 0;
  for (let it = 0; it < total; it++) {
    let p = 1;
    for (let i = 0; i < ins.length; i++) p *= ins[i]!.data[offs[i]!]!;
    out.data[oo] += p;
    for (let k = L - 1; k >= 0; k--) {
      idx[k]!++;
      for (let i = 0; i < ins.length; i++) offs[i]! += strides[i]![k]!;
      if (k < rhs.length) oo += outStrides[k]!;
      if (idx[k]! < dims[k]!) break;
      for (let i = 0; i < ins.length; i++) offs[i]! -= strides[i]![k]! * dims[k]!;
      if (k < rhs.length) oo -= outStrides[k]! * dims[k]!;
      idx[k] = 0;
    }
  }
  return out;
}

/** N-d grouped convolution (NCHW…), explicit pads only. */
function conv(x: Tensor, w: Tensor, bias: Tensor | undefined, node: Node): Tensor {
  if (attrString(node, 'auto_pad', 'NOTSET') !== 'NOTSET') throw new Error(`Conv ${node.name}: only auto_pad=NOTSET is supported`);
  const S = x.shape.length - 2;
  const group = attrInt(node, 'group', 1);
  const kernel = w.shape.slice(2);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * S).fill(0);
  const strides = attrInts(node, 'strides') ?? new Array<number>(S).fill(1);
  const dil = attrInts(node, 'dilations') ?? new Array<number>(S).fill(1);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  const CO = w.shape[0]!;
  const cinG = w.shape[1]!;
  if (cinG * group !== C) throw new Error(`Conv ${node.name}: weight has ${cinG} input channels per group × ${group} groups for ${C} channels`);
  const coutG = CO / group;
  const inSp = x.shape.slice(2);
  const outSp = inSp.map((L, i) => Math.floor((L + pads[i]! + pads[i + S]! - dil[i]! * (kernel[i]! - 1) - 1) / strides[i]!) + 1);
  const out = makeTensor(x.dtype, [N, CO, ...outSp]);
  const xs = stridesOf(x.shape);
  const ws = stridesOf(w.shape);
  const nOut = numelOf(outSp);
  const nKer = numelOf(kernel);
  const oIdx = new Array<number>(S);
  const kIdx = new Array<number>(S);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < CO; co++) {
      const g = Math.floor(co / coutG);
      for (let op = 0; op < nOut; op++) {
        let r = op;
        for (let s = S - 1; s >= 0; s--) {
          oIdx[s] = r % outSp[s]!;
          r = Math.floor(r / outSp[s]!);
        }
        let acc = bias ? bias.data[co]! : 0;
        for (let ci = 0; ci < cinG; ci++) {
          const c = g * cinG + ci;
          for (let kp = 0; kp < nKer; kp++) {
            let q = kp;
            for (let s = S - 1; s >= 0; s--) {
              kIdx[s] = q % kernel[s]!;
              q = Math.floor(q / kernel[s]!);
            }
            let xo = n * xs[0]! + c * xs[1]!;
            let inside = true;
            for (let s = 0; s < S; s++) {
              const pos = oIdx[s]! * strides[s]! - pads[s]! + kIdx[s]! * dil[s]!;
              if (pos < 0 || pos >= inSp[s]!) {
                inside = false;
                break;
              }
              xo += pos * xs[2 + s]!;
            }
            if (!inside) continue;
            let wo = co * ws[0]! + ci * ws[1]!;
            for (let s = 0; s < S; s++) wo += kIdx[s]! * ws[2 + s]!;
            acc += x.data[xo]! * w.data[wo]!;
          }
        }
        out.data[(n * CO + co) * nOut + op] = acc;
      }
    }
  }
  return out;
}

export const LINALG: Record<string, Evaluator> = {
  MatMul: (ins, node) => [matmul(need(ins[0], node, 0), need(ins[1], node, 1))],
  FusedMatMul: (ins, node) => {
    if (attrInt(node, 'transBatchA', 0) || attrInt(node, 'transBatchB', 0)) throw new Error(`FusedMatMul ${node.name}: transBatchA/B are not supported`);
    return [matmul(need(ins[0], node, 0), need(ins[1], node, 1), attrInt(node, 'transA', 0) === 1, attrInt(node, 'transB', 0) === 1, attrFloat(node, 'alpha', 1))];
  },
  Gemm: (ins, node) => {
    const y = matmul(need(ins[0], node, 0), need(ins[1], node, 1), attrInt(node, 'transA', 0) === 1, attrInt(node, 'transB', 0) === 1, attrFloat(node, 'alpha', 1));
    const c = ins[2];
    if (c) {
      const beta = attrFloat(node, 'beta', 1);
      const map = broadcastMap(c.shape, y.shape);
      for (let i = 0; i < y.data.length; i++) y.data[i] += beta * c.data[map[i]!]!;
    }
    return [y];
  },
  Einsum: (ins, node) => [einsum(attrString(node, 'equation', ''), ins.map((t, i) => need(t, node, i)))],
  Conv: (ins, node) => [conv(need(ins[0], node, 0), need(ins[1], node, 1), ins[2], node)],
};
