// VJP of com.microsoft GroupQueryAttention (causal, no cache, full-length rows). ORT has no backward
// kernel, so the rule recomputes the attention probabilities with standard ops in the grouped layout the
// forward MatMul form uses — query heads sharing a KV head folded into rows, [B, Hkv, rep·S, d], so K and
// V are never repeated — and applies the softmax-attention backward:
//   P = softmax(scale·Q·Kᵀ + causal mask);  dV = Pᵀ·dO;  dP = dO·Vᵀ;  dS = P ∘ (dP − rowsum(dP ∘ P))
//   dQ = scale·dS·K;  dK = scale·dSᵀ·Q

import { attrFloat, attrInt } from '../interpret/attrs';
import { checkPlainGqa } from '../interpret/ops-attention';
import type { Value } from '../types';
import { AutodiffError, type VjpContext } from './context';
import type { VjpRule } from './rule';

function gqaRule(ctx: VjpContext, gys: (Value | undefined)[]): (Value | undefined)[] {
  const { b, node } = ctx;
  if (gys[1] || gys[2]) throw new AutodiffError(`${ctx.where()}: gradients through present_key/present_value are not supported`);
  try {
    checkPlainGqa(node, ctx.hasInput(3) || ctx.hasInput(4));
  } catch (e) {
    throw new AutodiffError((e as Error).message);
  }
  const q = ctx.input(0);
  const k = ctx.input(1);
  const v = ctx.input(2);
  const [B, S, W] = ctx.shape(q) as [number, number, number];
  const Hq = attrInt(node, 'num_heads', 0);
  const Hkv = attrInt(node, 'kv_num_heads', 0);
  const d = W / Hq;
  const rep = Hq / Hkv;
  const scale = attrFloat(node, 'scale', 0) || 1 / Math.sqrt(d);
  const seqlens = ctx.ints(5);
  if (seqlens.some((l) => l !== S - 1)) throw new AutodiffError(`${ctx.where()}: only full-length rows (seqlens_k = S−1) are differentiable here`);
  if (ctx.shape(k)[1] !== S) throw new AutodiffError(`${ctx.where()}: keys must have the query length (no cache)`);

  // [B, S, Hq·d] → [B, Hkv, rep·S, d] (query head h = kv·rep + r) and back.
  const toRows = (x: Value) => b.reshape(b.transpose(b.reshape(x, [B, S, Hkv, rep, d]), [0, 2, 3, 1, 4]), [B, Hkv, rep * S, d]);
  const fromRows = (x: Value) => b.reshape(b.transpose(b.reshape(x, [B, Hkv, rep, S, d]), [0, 3, 1, 2, 4]), [B, S, W]);
  const toKv = (x: Value) => b.transpose(b.reshape(x, [B, S, Hkv, d]), [0, 2, 1, 3]); // [B, Hkv, S, d]
  const fromKv = (x: Value) => b.reshape(b.transpose(x, [0, 2, 1, 3]), [B, S, Hkv * d]);

  const mask = ctx.memo(`gqa-mask:${q.dtype}:${rep}:${S}`, () => {
    const m = new Float32Array(rep * S * S);
    for (let r = 0; r < rep; r++) for (let i = 0; i < S; i++) for (let j = i + 1; j < S; j++) m[(r * S + i) * S + j] = -Infinity;
    return b.constant(q.dtype, [rep * S, S], m);
  });
  const Q = toRows(q);
  const K = toKv(k);
  const V = toKv(v);
  const P = b.softmax(b.add(ctx.mm(Q, K, false, true, scale), mask), -1); // [B, Hkv, rep·S, S]
  const dO = toRows(gys[0]!);
  const out: (Value | undefined)[] = new Array(node.inputs.length).fill(undefined);
  if (ctx.needs(2)) out[2] = fromKv(ctx.mm(P, dO, true, false));
  if (ctx.needs(0) || ctx.needs(1)) {
    const dP = ctx.mm(dO, V, false, true);
    const pdP = b.mul(P, dP);
    const dS = b.sub(pdP, b.mul(P, b.reduceSum(pdP, [-1], true)));
    if (ctx.needs(0)) out[0] = fromRows(ctx.mm(dS, K, false, false, scale));
    if (ctx.needs(1)) out[1] = fromKv(ctx.mm(dS, Q, true, false, scale));
  }
  return out;
}

export const ATTENTION_RULES: Record<string, VjpRule> = {
  GroupQueryAttention: gqaRule,
};
