// The op set the builder emits: the contract between graph builders and graph passes (a reverse-mode
// autodiff needs exactly one VJP rule per entry). Adding an op means adding it here, a builder helper
// and a test against a JS computation (test/onnx/ops.test.ts).

export interface OpInfo {
  op: string;
  domain: '' | 'com.microsoft';
  /** GraphBuilder method that emits it. */
  helper: string;
  /** Inputs in order ('?' = optional); attributes used. */
  signature: string;
}

export const OPS: readonly OpInfo[] = [
  { op: 'Add', domain: '', helper: 'add', signature: '(A, B) broadcast' },
  { op: 'Sub', domain: '', helper: 'sub', signature: '(A, B) broadcast' },
  { op: 'Mul', domain: '', helper: 'mul', signature: '(A, B) broadcast' },
  { op: 'Div', domain: '', helper: 'div', signature: '(A, B) broadcast; integer division for int64' },
  { op: 'Pow', domain: '', helper: 'pow', signature: '(X, Y) broadcast' },
  { op: 'Max', domain: '', helper: 'max', signature: '(A, B) broadcast' },
  { op: 'Min', domain: '', helper: 'min', signature: '(A, B) broadcast' },
  { op: 'Mod', domain: '', helper: 'mod', signature: '(A, B) int, fmod=0' },
  { op: 'Equal', domain: '', helper: 'equal', signature: '(A, B) → bool' },
  { op: 'Less', domain: '', helper: 'less', signature: '(A, B) → bool' },
  { op: 'Greater', domain: '', helper: 'greater', signature: '(A, B) → bool' },
  { op: 'Exp', domain: '', helper: 'exp', signature: '(X)' },
  { op: 'Log', domain: '', helper: 'log', signature: '(X)' },
  { op: 'Neg', domain: '', helper: 'neg', signature: '(X)' },
  { op: 'Sqrt', domain: '', helper: 'sqrt', signature: '(X)' },
  { op: 'Reciprocal', domain: '', helper: 'reciprocal', signature: '(X)' },
  { op: 'Sigmoid', domain: '', helper: 'sigmoid', signature: '(X)' },
  { op: 'Softplus', domain: '', helper: 'softplus', signature: '(X)' },
  { op: 'Relu', domain: '', helper: 'relu', signature: '(X)' },
  { op: 'Tanh', domain: '', helper: 'tanh', signature: '(X)' },
  { op: 'Abs', domain: '', helper: 'abs', signature: '(X)' },
  { op: 'Identity', domain: '', helper: 'identity', signature: '(X)' },
  { op: 'Clip', domain: '', helper: 'clip', signature: '(X, min?, max?)' },
  { op: 'Where', domain: '', helper: 'where', signature: '(cond: bool, A, B) broadcast' },
  { op: 'Cast', domain: '', helper: 'cast', signature: '(X) to' },
  { op: 'MatMul', domain: '', helper: 'matmul', signature: '(A, B) numpy batch broadcast' },
  { op: 'FusedMatMul', domain: 'com.microsoft', helper: 'fusedMatMul', signature: '(A, B) alpha, transA, transB (last two axes)' },
  { op: 'Gemm', domain: '', helper: 'gemm', signature: '(A, B, C?) alpha, beta, transA, transB; 2-D' },
  { op: 'Einsum', domain: '', helper: 'einsum', signature: '(X...) equation with explicit ->' },
  { op: 'Conv', domain: '', helper: 'conv', signature: '(X, W, B?) group, kernel_shape, pads, strides, dilations' },
  { op: 'Softmax', domain: '', helper: 'softmax', signature: '(X) axis' },
  { op: 'LogSoftmax', domain: '', helper: 'logSoftmax', signature: '(X) axis' },
  { op: 'CumSum', domain: '', helper: 'cumsum', signature: '(X, axis: int64 scalar) exclusive, reverse' },
  { op: 'ReduceSum', domain: '', helper: 'reduceSum', signature: '(X, axes: int64[]) keepdims' },
  { op: 'ReduceMean', domain: '', helper: 'reduceMean', signature: '(X, axes: int64[]) keepdims' },
  { op: 'ReduceSumSquare', domain: '', helper: 'reduceSumSquare', signature: '(X, axes: int64[]) keepdims' },
  { op: 'ReduceMax', domain: '', helper: 'reduceMax', signature: '(X, axes: int64[]) keepdims' },
  { op: 'SimplifiedLayerNormalization', domain: '', helper: 'rmsNorm', signature: '(X, scale) axis=-1, epsilon, stash_type=1 (ORT contrib op registered in ai.onnx)' },
  { op: 'SkipSimplifiedLayerNormalization', domain: 'com.microsoft', helper: 'skipRmsNorm', signature: '(X, skip, gamma) epsilon → (out, mean, inv_std, sum)' },
  { op: 'GroupQueryAttention', domain: 'com.microsoft', helper: 'groupQueryAttention', signature: '(q, k, v, past_key=∅, past_value=∅, seqlens_k: int32[B], total_sequence_length: int32) num_heads, kv_num_heads, scale → (out, present_key, present_value)' },
  { op: 'Trilu', domain: '', helper: 'trilu', signature: '(X, k?) upper' },
  { op: 'Reshape', domain: '', helper: 'reshape', signature: '(X, shape: int64[])' },
  { op: 'Transpose', domain: '', helper: 'transpose', signature: '(X) perm' },
  { op: 'Slice', domain: '', helper: 'slice', signature: '(X, starts, ends, axes?, steps?)' },
  { op: 'Split', domain: '', helper: 'split', signature: '(X, split: int64[]) axis' },
  { op: 'Concat', domain: '', helper: 'concat', signature: '(X...) axis' },
  { op: 'Squeeze', domain: '', helper: 'squeeze', signature: '(X, axes: int64[])' },
  { op: 'Unsqueeze', domain: '', helper: 'unsqueeze', signature: '(X, axes: int64[])' },
  { op: 'Expand', domain: '', helper: 'expand', signature: '(X, shape: int64[])' },
  { op: 'Gather', domain: '', helper: 'gather', signature: '(data, indices) axis' },
  { op: 'GatherElements', domain: '', helper: 'gatherElements', signature: '(data, indices: int64) axis' },
  { op: 'Pad', domain: '', helper: 'pad', signature: '(X, pads: int64[], value?) mode' },
  { op: 'Shape', domain: '', helper: 'shapeOf', signature: '(X) start?, end?' },
  { op: 'Range', domain: '', helper: 'range', signature: '(start, limit, delta)' },
  { op: 'ConstantOfShape', domain: '', helper: 'constantOfShape', signature: '(shape: int64[]) value' },
  { op: 'Constant', domain: '', helper: 'constantNode', signature: '() value' },
];
