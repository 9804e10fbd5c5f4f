// The graph a session actually gets on each execution provider. Graphs are built once, for ORT's CPU
// provider (contrib ops included); before a session is created on another provider, nodes that
// provider computes wrongly or not at all are replaced by standard ai.onnx ops computing the same
// function (onnx/rewrite.ts). On CPU the rewritten graphs agree with the originals to float rounding
// (test/runtime/provider-graph.test.ts).
//
// WebGPU (ORT 1.30's WebGPU EP, Dawn):
// - com.microsoft GroupQueryAttention — WRONG results: for prompts of 32 tokens or more every query
//   position from the 5th on differs from the CPU kernel (by up to 1.5 on unit-scale random inputs; 0.48
//   on the logits of `fixture --preset tiny`, 4 × 128 tokens; measured on SwiftShader, docs/gpu.md).
//   Replaced by the grouped MatMul
//   form the forward builder uses without contrib ops (model/forward-graph-attention.ts). It assumes what
//   this project's graphs always feed: full-length rows (seqlens_k = T − 1) and no past cache.
// - com.microsoft FusedMatMul, LogSoftmax, Sum — no WebGPU kernels: ORT ran them on the CPU with a
//   device↔host copy around each (74 FusedMatMul and 13 Sum nodes in a training step). Replaced by
//   Transpose + MatMul (+ Mul), the max-shifted log-sum-exp, and a chain of Adds.
// CUDA: GroupQueryAttention has no float32 CUDA kernel (the node would run on the CPU): replaced too.
//
// precision 'f16': every MatMul, Gemm and FusedMatMul (projections, attention, the SSD's chunk products)
// multiplies in float16 (operands cast, the product cast back to float32; ORT folds the casts of constant
// weights once at load); elementwise ops, norms, softmax, cumulative sums and the losses stay float32.
// WebGPU needs the adapter feature shader-f16 for it.

import { attrFloat, attrInt } from '../onnx/interpret/attrs';
import { checkPlainGqa } from '../onnx/interpret/ops-attention';
import { rewriteNodes, type RewriteRule } from '../onnx/rewrite';
import type { GraphBuilder } from '../onnx/builder';
import type { Graph, Node, Value } from '../onnx/types';
import { MS_DOMAIN } from '../onnx/types';
import { additiveCausalMask, groupedCausalAttention } from '../model/forward-graph-attention';
import type { ExecutionProvider } from './session';

export type Precision = 'f32' | 'f16';

interface Lowering {
  gqa: boolean;
  fusedMatMul: boolean;
  logSoftmax: boolean;
  sum: boolean;
  f16: boolean;
}

function loweringFor(ep: ExecutionProvider, precision: Precision): Lowering {
  const f16 = precision === 'f16';
  if (ep === 'webgpu') return { gqa: true, fusedMatMul: true, logSoftmax: true, sum: true, f16 };
  if (ep === 'cuda') return { gqa: true, fusedMatMul: false, logSoftmax: false, sum: false, f16 };
  return { gqa: false, fusedMatMul: false, logSoftmax: false, sum: false, f16 };
}

/** `graph` as a session on `ep` should run it (the same graph object when nothing needs rewriting). */
export function graphForProvider(graph: Graph, ep: ExecutionProvider, precision: Precision = 'f32'): Graph {
  const l = loweringFor(ep, precision);
  const lowered = l.gqa || l.fusedMatMul || l.logSoftmax || l.sum ? rewriteNodes(graph, (node, b, input) => lower(l, node, b, input)) : graph;
  return l.f16 ? rewriteNodes(lowered, f16Products) : lowered;
}

function lower(l: Lowering, node: Node, b: GraphBuilder, input: (i: number) => Value | undefined): ReturnType<RewriteRule> {
  const x = (i: number) => input(i)!;
  const ms = node.domain === MS_DOMAIN;
  if (l.gqa && ms && node.op === 'GroupQueryAttention') return [gqaFromMatMuls(node, b, input)];
  if (l.fusedMatMul && ms && node.op === 'FusedMatMul') {
    checkNoBatchTranspose(node);
    return [b.matmulT(x(0), x(1), { transA: attrInt(node, 'transA', 0) === 1, transB: attrInt(node, 'transB', 0) === 1, alpha: attrFloat(node, 'alpha', 1) })];
  }
  if (l.logSoftmax && node.domain === '' && node.op === 'LogSoftmax') {
    const axis = attrInt(node, 'axis', -1);
    const shifted = b.sub(x(0), b.reduceMax(x(0), [axis], true));
    return [b.sub(shifted, b.log(b.reduceSum(b.exp(shifted), [axis], true)))];
  }
  if (l.sum && node.domain === '' && node.op === 'Sum' && node.inputs.length > 1) {
    let acc = b.add(x(0), x(1));
    for (let i = 2; i < node.inputs.length; i++) acc = b.add(acc, x(i));
    return [acc];
  }
  return undefined;
}

function checkNoBatchTranspose(node: Node): void {
  if (attrInt(node, 'transBatchA', 0) !== 0 || attrInt(node, 'transBatchB', 0) !== 0) throw new Error(`${node.name}: FusedMatMul with transBatchA/B cannot be lowered`);
}

/** Causal GQA as batched MatMuls (see the header); outputs present_key/value must be unused. */
function gqaFromMatMuls(node: Node, b: GraphBuilder, input: (i: number) => Value | undefined): Value {
  checkPlainGqa(node, !!(input(3) || input(4)));
  const q = input(0)!;
  const Hq = attrInt(node, 'num_heads', 0);
  const Hkv = attrInt(node, 'kv_num_heads', 0);
  const d = (q.shape[2] as number) / Hq;
  const scale = attrFloat(node, 'scale', 0) || 1 / Math.sqrt(d);
  const ctx = groupedCausalAttention(b, q, input(1)!, input(2)!, {
    numHeads: Hq,
    kvNumHeads: Hkv,
    headDim: d,
    mask: () => {
      const m = additiveCausalMask(b, b.cast(input(6)!, 'int64'));
      return Hq === Hkv ? m : b.concat(new Array(Hq / Hkv).fill(m), 0);
    },
    heads: (x, tail) => b.reshape(x, [0, 0, ...tail]),
    scores: (q4, kT) => b.matmulT(q4, kT, { alpha: scale }),
  });
  return b.reshape(ctx, [0, 0, Hq * d]);
}

/** MatMul / Gemm / FusedMatMul on float32 operands → float16 operands, float32 result. */
const f16Products: RewriteRule = (node, b, input) => {
  const a = input(0);
  const isProduct = node.op === 'MatMul' || node.op === 'Gemm' || (node.domain === MS_DOMAIN && node.op === 'FusedMatMul');
  if (!isProduct || a?.dtype !== 'float32') return undefined;
  const h = (v: Value) => b.cast(v, 'float16');
  const w = input(1)!;
  if (node.op === 'MatMul') return [b.cast(b.matmul(h(a), h(w)), 'float32')];
  if (node.op === 'FusedMatMul') checkNoBatchTranspose(node);
  const y = b.cast(b.matmulT(h(a), h(w), { transA: attrInt(node, 'transA', 0) === 1, transB: attrInt(node, 'transB', 0) === 1 }), 'float32');
  const alpha = attrFloat(node, 'alpha', 1);
  const scaled = alpha === 1 ? y : b.mul(y, alpha);
  const c = node.op === 'Gemm' ? input(2) : undefined;
  if (!c) return [scaled];
  const beta = attrFloat(node, 'beta', 1);
  return [b.add(scaled, beta === 1 ? c : b.mul(c, beta))];
};
