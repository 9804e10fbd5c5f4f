// Attention (`*`) and MLP (`-`) blocks as ONNX (research/hf-formats.md §3.6–3.7).
//
// Attention is NoPE causal GQA with scale d^-½ and an fp32 softmax.
// - fused (default; head_dim a multiple of 8, as ORT's kernel requires): com.microsoft
//   GroupQueryAttention on the [B, T, H·d] projections (no past cache: seqlens_k = T−1,
//   total_sequence_length = T). On the bench layer (4 × 512 tokens, 8/2 heads of 64) it took 34 ms
//   against 61 ms for the MatMul form, and it never materialises a [T, T] mask.
// - standard ops: the query heads that share a KV head are folded into the row dimension
//   ([B, Hkv, rep·T, d]), so K and V are used as they are, never repeated: scores = Q·Kᵀ per KV head is
//   one batched MatMul, plus a [rep·T, T] additive causal mask.

import type { LayerSpec } from '../arch/spec';
import type { GraphBuilder, Value } from '../onnx/index';
import type { ForwardContext } from './forward-graph-context';

/** [rep·T, T] additive causal mask (0 on and below the diagonal, −inf above), tiled for rep query heads. */
function causalMask(cx: ForwardContext, rep: number): Value {
  const base = cx.memo('attn:mask', () => additiveCausalMask(cx.g, cx.seq, { name: 'attn/causal_mask' }));
  return rep === 1 ? base : cx.memo(`attn:mask:${rep}`, () => cx.g.concat(new Array(rep).fill(base), 0));
}

/** [T, T] additive causal mask from the int64 scalar T: [i, j] = −inf where j > i, else 0. */
export function additiveCausalMask(g: GraphBuilder, seq: Value, o: { name?: string } = {}): Value {
  const r = g.range(g.scalar(0, 'int64'), seq, g.scalar(1, 'int64'), { shape: ['seq'] });
  const future = g.greater(g.unsqueeze(r, [0]), g.unsqueeze(r, [1])); // [i, j] = j > i
  return g.where(future, -Infinity, 0, o);
}

/**
 * Causal GQA from standard ops, in the layout the file header describes; also what runtime/provider-graph.ts
 * puts in place of GroupQueryAttention. `heads(x, tail)` reshapes a [.., W] projection to [B, T, ...tail];
 * `scores(q, kT)` is the scaled Q·Kᵀ; `mask()` the [rep·T, T] additive mask (emitted after the scores).
 * Returns the context as [B, T, Hkv, rep, d].
 */
export function groupedCausalAttention(
  g: GraphBuilder,
  q: Value,
  k: Value,
  v: Value,
  o: { numHeads: number; kvNumHeads: number; headDim: number; mask: () => Value; heads: (x: Value, tail: number[]) => Value; scores: (q: Value, kT: Value) => Value },
): Value {
  const { kvNumHeads: Hkv, headDim: d } = o;
  const rep = o.numHeads / Hkv;
  // Query head i = kv·rep + r (heads of one KV head are contiguous).
  const q4 = g.reshape(g.transpose(o.heads(q, [Hkv, rep, d]), [0, 2, 3, 1, 4]), [0, 0, -1, d]);
  const kT = g.transpose(o.heads(k, [Hkv, d]), [0, 2, 3, 1]);
  const v4 = g.transpose(o.heads(v, [Hkv, d]), [0, 2, 1, 3]);
  const scores = g.add(o.scores(q4, kT), o.mask()); // [B, Hkv, rep·T, T]
  const ctx = g.matmul(g.softmax(scores, -1), v4); // [B, Hkv, rep·T, d]
  return g.transpose(g.reshape(ctx, [0, 0, rep, -1, d]), [0, 3, 1, 2, 4]);
}

/** GroupQueryAttention's lengths for a pass without cache: seqlens_k = T−1 per row (int32 [B]), total = T. */
function gqaLengths(cx: ForwardContext): [Value, Value] {
  const g = cx.g;
  const seqlens = cx.memo('gqa:seqlens', () => {
    const zeros = g.constantOfShape(g.slice(cx.bt, [0], [1]), 0, 'int32', { shape: ['batch'] });
    return g.add(zeros, g.cast(g.sub(cx.seq, 1), 'int32'), { name: 'gqa/seqlens_k' });
  });
  const total = cx.memo('gqa:total', () => g.cast(cx.seq, 'int32', { name: 'gqa/total_len' }));
  return [seqlens, total];
}

export function emitAttention(cx: ForwardContext, layer: LayerSpec, u: Value): Value {
  const g = cx.g;
  const a = cx.spec.attention!;
  const Hq = a.numHeads;
  const Hkv = a.numKvHeads;
  const d = a.headDim;
  const rep = Hq / Hkv;
  const q = cx.linear(u, cx.roleName(layer, 'q_proj'), cx.optionalSuffix(layer, '.q_proj.bias'));
  const k = cx.linear(u, cx.roleName(layer, 'k_proj'), cx.optionalSuffix(layer, '.k_proj.bias'));
  const v = cx.linear(u, cx.roleName(layer, 'v_proj'), cx.optionalSuffix(layer, '.v_proj.bias'));
  let o: Value;
  // ORT's kernel needs head_size % 8 == 0; other sizes use the MatMul form.
  if (cx.fused && d % 8 === 0) {
    const [seqlensK, total] = gqaLengths(cx);
    const o3 = g.groupQueryAttention(cx.to3d(q, [Hq * d]), cx.to3d(k, [Hkv * d]), cx.to3d(v, [Hkv * d]), seqlensK, total, { numHeads: Hq, kvNumHeads: Hkv, scale: 1 / Math.sqrt(d) });
    o = g.reshape(o3, [-1, Hq * d]);
  } else {
    const ctx = groupedCausalAttention(g, q, k, v, {
      numHeads: Hq,
      kvNumHeads: Hkv,
      headDim: d,
      mask: () => causalMask(cx, rep),
      heads: (x, tail) => g.reshape(x, cx.dynShape(tail), { shape: ['batch', 'seq', ...tail] }),
      scores: (q4, kT) => cx.mm(q4, kT, { alpha: 1 / Math.sqrt(d) }),
    });
    o = g.reshape(ctx, [-1, Hq * d]);
  }
  cx.tap(`layers.${layer.index}.attention.o_proj_input`, o);
  return cx.linear(o, cx.roleName(layer, 'o_proj'), cx.optionalSuffix(layer, '.o_proj.bias'));
}

export function emitMlp(cx: ForwardContext, layer: LayerSpec, u: Value): Value {
  const g = cx.g;
  const pre = cx.linear(u, cx.roleName(layer, 'up_proj'), cx.optionalRole(layer, 'up_proj_bias'));
  cx.tap(`layers.${layer.index}.mlp.up_proj_output`, pre);
  const up = g.relu(pre);
  const act = g.mul(up, up); // relu²
  cx.tap(`layers.${layer.index}.mlp.down_proj_input`, act);
  return cx.linear(act, cx.roleName(layer, 'down_proj'), cx.optionalRole(layer, 'down_proj_bias'));
}
