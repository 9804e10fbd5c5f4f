// The per-op gradient cases: every op with a VJP rule, on small random shapes, with broadcasting,
// transposes, negative axes and the option variants (FusedMatMul off, one-hot Gather gradient).

import { makeTensor } from '../../src/core/onnx/interpret/tensor';
import type { OpCase } from './op-harness';
import { awayFromZero, ints, randn } from './helpers';

const pos = (rng: Parameters<OpCase['build']>[1], shape: number[]) => awayFromZero(rng, shape, 0.5, 2, true);

export const OP_CASES: OpCase[] = [
  // ---- elementwise, broadcasting both ways
  { name: 'Add broadcast', build: (b, r, f) => b.add(f('a', randn(r, [2, 3, 4])), f('c', randn(r, [3, 1]))) },
  { name: 'Sub broadcast', build: (b, r, f) => b.sub(f('a', randn(r, [4])), f('c', randn(r, [2, 3, 4]))) },
  { name: 'Mul broadcast', build: (b, r, f) => b.mul(f('a', randn(r, [2, 1, 4])), f('c', randn(r, [3, 1]))) },
  { name: 'Mul of a value by itself (x·x)', build: (b, r, f) => { const x = f('a', randn(r, [3, 4])); return b.mul(x, x); } },
  { name: 'Div broadcast', build: (b, r, f) => b.div(f('a', randn(r, [2, 3, 4])), f('c', pos(r, [1, 3, 1]))) },
  { name: 'Pow constant 2', build: (b, r, f) => b.pow(f('a', randn(r, [3, 4])), 2) },
  { name: 'Pow tensor exponent', build: (b, r, f) => b.pow(f('a', pos(r, [3, 4])), f('e', randn(r, [4], 0.5))) },
  { name: 'Max with constant (relu-like)', build: (b, r, f) => b.max(f('a', awayFromZero(r, [3, 5])), 0) },
  { name: 'Min broadcast', build: (b, r, f) => b.min(f('a', randn(r, [3, 5])), f('c', randn(r, [5]))) },
  { name: 'Sum of three', build: (b, r, f) => b.node('Sum', [f('a', randn(r, [2, 3])), f('c', randn(r, [3])), f('d', randn(r, [2, 1]))], [{ dtype: 'float32', shape: [2, 3] }])[0]! },
  { name: 'Exp', build: (b, r, f) => b.exp(f('a', randn(r, [3, 4]))) },
  { name: 'Log', build: (b, r, f) => b.log(f('a', pos(r, [3, 4]))) },
  { name: 'Sqrt', build: (b, r, f) => b.sqrt(f('a', pos(r, [3, 4]))) },
  { name: 'Neg', build: (b, r, f) => b.neg(f('a', randn(r, [3, 4]))) },
  { name: 'Reciprocal', build: (b, r, f) => b.reciprocal(f('a', pos(r, [3, 4]))) },
  { name: 'Sigmoid', build: (b, r, f) => b.sigmoid(f('a', randn(r, [3, 4], 2))) },
  { name: 'Softplus', build: (b, r, f) => b.softplus(f('a', randn(r, [3, 4], 3))) },
  { name: 'Relu', build: (b, r, f) => b.relu(f('a', awayFromZero(r, [3, 4]))) },
  { name: 'Tanh', build: (b, r, f) => b.tanh(f('a', randn(r, [3, 4]))) },
  { name: 'Abs', build: (b, r, f) => b.abs(f('a', awayFromZero(r, [3, 4]))) },
  { name: 'Identity', build: (b, r, f) => b.identity(f('a', randn(r, [3, 4]))) },
  { name: 'Clip both bounds', build: (b, r, f) => b.clip(f('a', awayFromZero(r, [4, 5], 0.05, 2)), -0.7, 0.9) },
  { name: 'Clip lower bound only', build: (b, r, f) => b.clip(f('a', randn(r, [4, 5])), 0.01, undefined) },
  {
    name: 'Where with mask broadcast',
    build: (b, r, f) => {
      const m = makeTensor('bool', [3, 1], [1, 0, 1]);
      return b.where(f('m', m), f('a', randn(r, [3, 4])), f('c', randn(r, [4])));
    },
  },
  { name: 'Cast float32→float32 chain', build: (b, r, f) => b.cast(b.mul(f('a', randn(r, [3, 4])), 2), 'float32') },
  // ---- products
  { name: 'MatMul 2-D', build: (b, r, f) => b.matmul(f('a', randn(r, [3, 4])), f('w', randn(r, [4, 5]))) },
  { name: 'MatMul batched × matrix (flattened weight gradient)', build: (b, r, f) => b.matmul(f('a', randn(r, [2, 3, 4])), f('w', randn(r, [4, 5]))) },
  { name: 'MatMul matrix × batched', build: (b, r, f) => b.matmul(f('a', randn(r, [3, 4])), f('w', randn(r, [2, 4, 5]))) },
  // A weight against batched activations with M·K larger than the activations: the weight's gradient is one GEMM over the batch laid side by side.
  { name: 'MatMul weight × batched (weight gradient as one GEMM)', build: (b, r, f) => b.matmul(f('a', randn(r, [8, 6])), f('w', randn(r, [3, 6, 2]))) },
  { name: 'FusedMatMul weight × batchedᵀ, two batch dims (W·uᵀ, one GEMM)', build: (b, r, f) => b.fusedMatMul(f('a', randn(r, [8, 6])), f('w', randn(r, [2, 2, 2, 6])), { transB: true, alpha: 0.5 }) },
  { name: 'MatMul with a transposed weight (x·Transpose(W): the weight gradient as one product)', build: (b, r, f) => b.matmul(f('a', randn(r, [5, 4])), b.transpose(f('w', randn(r, [3, 4])), [1, 0])) },
  { name: 'MatMul broadcast batch dims', build: (b, r, f) => b.matmul(f('a', randn(r, [2, 1, 3, 4])), f('w', randn(r, [3, 4, 2]))) },
  { name: 'MatMul rank-1 left', build: (b, r, f) => b.matmul(f('a', randn(r, [4])), f('w', randn(r, [2, 4, 3]))) },
  { name: 'MatMul rank-1 right', build: (b, r, f) => b.matmul(f('a', randn(r, [2, 3, 4])), f('w', randn(r, [4]))) },
  { name: 'MatMul without FusedMatMul', build: (b, r, f) => b.matmul(f('a', randn(r, [2, 3, 4])), f('w', randn(r, [2, 4, 5]))), autodiff: { fusedMatMul: false } },
  { name: 'FusedMatMul transB (x·Wᵀ), batched', build: (b, r, f) => b.fusedMatMul(f('a', randn(r, [2, 3, 4])), f('w', randn(r, [5, 4])), { transB: true }) },
  { name: 'FusedMatMul transA alpha', build: (b, r, f) => b.fusedMatMul(f('a', randn(r, [2, 4, 3])), f('w', randn(r, [2, 4, 5])), { transA: true, alpha: 0.5 }) },
  { name: 'FusedMatMul transA transB', build: (b, r, f) => b.fusedMatMul(f('a', randn(r, [4, 3])), f('w', randn(r, [2, 5, 4])), { transA: true, transB: true, alpha: -1.5 }) },
  { name: 'FusedMatMul transB without FusedMatMul in backward', build: (b, r, f) => b.fusedMatMul(f('a', randn(r, [2, 3, 4])), f('w', randn(r, [5, 4])), { transB: true, alpha: 2 }), autodiff: { fusedMatMul: false } },
  { name: 'Gemm transB with broadcast C', build: (b, r, f) => b.gemm(f('a', randn(r, [3, 4])), f('w', randn(r, [5, 4])), f('c', randn(r, [5])), { transB: true, alpha: 0.7, beta: 1.3 }) },
  { name: 'Gemm transA', build: (b, r, f) => b.gemm(f('a', randn(r, [4, 3])), f('w', randn(r, [4, 5])), f('c', randn(r, [3, 1])), { transA: true }) },
  { name: 'Einsum batched contraction', build: (b, r, f) => b.einsum('bhld,bhsd->bhls', [f('a', randn(r, [2, 2, 3, 4])), f('c', randn(r, [2, 2, 5, 4]))]) },
  { name: 'Einsum with a summed-only index', build: (b, r, f) => b.einsum('ij,jk->i', [f('a', randn(r, [3, 4])), f('c', randn(r, [4, 5]))]) },
  { name: 'Einsum three operands', build: (b, r, f) => b.einsum('bln,bsn,bls->bl', [f('a', randn(r, [2, 3, 4])), f('c', randn(r, [2, 5, 4])), f('d', randn(r, [2, 3, 5]))]) },
  {
    name: 'Conv depthwise causal with bias',
    build: (b, r, f) => b.conv(f('x', randn(r, [2, 6, 7])), f('w', randn(r, [6, 1, 4], 0.5)), f('bias', randn(r, [6])), { group: 6, pads: [3, 0] }),
  },
  { name: 'Conv depthwise dilated, symmetric pads', build: (b, r, f) => b.conv(f('x', randn(r, [1, 4, 9])), f('w', randn(r, [4, 1, 3], 0.5)), null, { group: 4, pads: [2, 2], dilations: [2] }) },
  { name: 'Conv grouped (2 in / 3 out per group)', build: (b, r, f) => b.conv(f('x', randn(r, [2, 4, 6])), f('w', randn(r, [6, 2, 3], 0.5)), f('bias', randn(r, [6])), { group: 2, pads: [1, 1] }) },
  { name: 'Conv dense, no padding', build: (b, r, f) => b.conv(f('x', randn(r, [1, 3, 8])), f('w', randn(r, [2, 3, 3], 0.5)), null, {}) },
  // ---- normalisation, softmax, scans, reductions
  { name: 'Softmax last axis', build: (b, r, f) => b.softmax(f('a', randn(r, [2, 3, 5])), -1) },
  { name: 'Softmax middle axis', build: (b, r, f) => b.softmax(f('a', randn(r, [2, 4, 3])), 1) },
  { name: 'LogSoftmax', build: (b, r, f) => b.logSoftmax(f('a', randn(r, [3, 6], 2)), -1) },
  { name: 'CumSum', build: (b, r, f) => b.cumsum(f('a', randn(r, [2, 5, 3])), 1) },
  { name: 'CumSum exclusive reverse', build: (b, r, f) => b.cumsum(f('a', randn(r, [2, 5, 3])), -2, { exclusive: true, reverse: true }) },
  { name: 'CumSum exclusive', build: (b, r, f) => b.cumsum(f('a', randn(r, [4, 3])), 0, { exclusive: true }) },
  { name: 'ReduceSum keepdims', build: (b, r, f) => b.reduceSum(f('a', randn(r, [2, 3, 4])), [0, 2], true) },
  { name: 'ReduceSum no keepdims, negative axis', build: (b, r, f) => b.reduceSum(f('a', randn(r, [2, 3, 4])), [-1], false) },
  { name: 'ReduceMean', build: (b, r, f) => b.reduceMean(f('a', randn(r, [2, 3, 4])), [1], false) },
  { name: 'ReduceSumSquare', build: (b, r, f) => b.reduceSumSquare(f('a', randn(r, [2, 3, 4])), [2], true) },
  { name: 'ReduceMax', build: (b, r, f) => b.reduceMax(f('a', randn(r, [3, 5])), [1], false) },
  { name: 'RMSNorm (SimplifiedLayerNormalization)', build: (b, r, f) => b.rmsNorm(f('x', randn(r, [2, 3, 8])), f('scale', randn(r, [8])), 1e-5) },
  {
    name: 'SkipSimplifiedLayerNormalization out and sum',
    build: (b, r, f) => {
      const { out, sum } = b.skipRmsNorm(f('x', randn(r, [2, 3, 8])), f('skip', randn(r, [2, 3, 8])), f('gamma', randn(r, [8])), 1e-5);
      return b.add(out, b.mul(sum, 0.3));
    },
  },
  { name: 'Trilu lower k=0', build: (b, r, f) => b.trilu(f('a', randn(r, [2, 4, 4])), { upper: false }) },
  { name: 'Trilu upper k=1', build: (b, r, f) => b.trilu(f('a', randn(r, [3, 5])), { upper: true, k: 1 }) },
  {
    name: 'GroupQueryAttention (com.microsoft, 4 query heads over 2 KV heads, causal)',
    build: (b, r, f) => {
      const [B, S] = [2, 5];
      const seqlens = b.constant('int32', [B], [S - 1, S - 1]);
      const total = b.constant('int32', [], [S]);
      return b.groupQueryAttention(f('q', randn(r, [B, S, 4 * 8])), f('k', randn(r, [B, S, 2 * 8])), f('v', randn(r, [B, S, 2 * 8])), seqlens, total, { numHeads: 4, kvNumHeads: 2 });
    },
  },
  {
    name: 'GroupQueryAttention with explicit scale, without FusedMatMul in backward',
    build: (b, r, f) => {
      const seqlens = b.constant('int32', [1], [3]);
      const total = b.constant('int32', [], [4]);
      return b.groupQueryAttention(f('q', randn(r, [1, 4, 2 * 16])), f('k', randn(r, [1, 4, 16])), f('v', randn(r, [1, 4, 16])), seqlens, total, { numHeads: 2, kvNumHeads: 1, scale: 0.3 });
    },
    autodiff: { fusedMatMul: false },
  },
  // ---- layout and indexing
  { name: 'Reshape', build: (b, r, f) => b.reshape(f('a', randn(r, [2, 3, 4])), [6, -1]) },
  { name: 'Transpose', build: (b, r, f) => b.transpose(f('a', randn(r, [2, 3, 4])), [2, 0, 1]) },
  { name: 'Slice with axes', build: (b, r, f) => b.slice(f('a', randn(r, [4, 6, 3])), [1, 2], [3, -1], [0, 1]) },
  { name: 'Slice reversed (step −1)', build: (b, r, f) => b.slice(f('a', randn(r, [3, 7])), [5], [1], [1], [-1]) },
  {
    name: 'Split, one part unused',
    build: (b, r, f) => {
      const [p, , q] = b.split(f('a', randn(r, [2, 9])), [2, 3, 4], 1);
      return b.concat([b.mul(p!, 2), q!], 1);
    },
  },
  { name: 'Concat', build: (b, r, f) => b.concat([f('a', randn(r, [2, 3])), f('c', randn(r, [2, 1])), f('d', randn(r, [2, 2]))], -1) },
  { name: 'Squeeze', build: (b, r, f) => b.squeeze(f('a', randn(r, [2, 1, 3])), [1]) },
  { name: 'Unsqueeze', build: (b, r, f) => b.unsqueeze(f('a', randn(r, [2, 3])), [0, 3]) },
  { name: 'Expand', build: (b, r, f) => b.expand(f('a', randn(r, [3, 1])), [2, 3, 4]) },
  { name: 'Pad constant (causal left pad)', build: (b, r, f) => b.pad(f('a', randn(r, [2, 3, 4])), [0, 0, 3, 0, 0, 0]) },
  { name: 'Pad with negative (cropping) pads', build: (b, r, f) => b.pad(f('a', randn(r, [4, 5])), [1, -1, -2, 2]) },
  {
    name: 'Gather embedding rows (ScatterND add, repeated ids)',
    build: (b, r, f) => b.gather(f('emb', randn(r, [7, 3])), f('ids', ints([2, 4], [1, 3, 3, 0, 6, 1, 1, 2])), 0),
  },
  {
    name: 'Gather embedding rows (one-hot MatMul)',
    build: (b, r, f) => b.gather(f('emb', randn(r, [7, 3])), f('ids', ints([2, 4], [1, 3, 3, 0, 6, 1, 1, -1])), 0),
    autodiff: { gatherGrad: 'onehot' },
  },
  { name: 'Gather on axis 1 with a scalar index', build: (b, r, f) => b.gather(f('a', randn(r, [2, 5, 3])), f('k', ints([], [3])), 1) },
  { name: 'Gather on axis 1 with a matrix of indices', build: (b, r, f) => b.gather(f('a', randn(r, [2, 5, 3])), f('k', ints([2, 2], [4, 0, 4, -2])), 1) },
  {
    name: 'GatherElements (target picking)',
    build: (b, r, f) => {
      const data = f('a', randn(r, [3, 6]));
      const idx = f('t', ints([3, 1], [5, 0, 2]));
      return b.node('GatherElements', [data, idx], [{ dtype: 'float32', shape: [3, 1] }], { axis: { kind: 'int', value: 1 } })[0]!;
    },
  },
  // ---- graph structure: fan-out and a value reused by many consumers
  {
    name: 'fan-out: x used by four consumers',
    build: (b, r, f) => {
      const x = f('a', randn(r, [3, 4]));
      const gram = b.matmul(x, b.transpose(x, [1, 0]));
      return b.add(b.matmul(gram, x), b.mul(x, b.exp(x)));
    },
  },
];
