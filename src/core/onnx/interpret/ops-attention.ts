// com.microsoft GroupQueryAttention (no past cache, no rotary) for the reference interpreter: causal
// attention of q [B, S, Hq·d] over k, v [B, S, Hkv·d]; query head h reads KV head ⌊h/(Hq/Hkv)⌋; row b
// sees keys j ≤ min(i, seqlens_k[b]); outputs (out [B, S, Hq·d], present_key/value [B, Hkv, S, d]).

import type { Node } from '../types';
import { attrFloat, attrInt } from './attrs';
import type { Evaluator } from './evaluator';
import { makeTensor, type Tensor } from './tensor';

function need(t: Tensor | undefined, node: Node, i: number): Tensor {
  if (!t) throw new Error(`${node.op} ${node.name}: input ${i} is missing`);
  return t;
}

/** Rejects attribute/input combinations the evaluator (and the VJP rule) do not implement. */
export function checkPlainGqa(node: Node, hasPast: boolean): void {
  const unsupported = [
    ['do_rotary', attrInt(node, 'do_rotary', 0) !== 0],
    ['local_window_size', attrInt(node, 'local_window_size', -1) !== -1],
    ['softcap', attrFloat(node, 'softcap', 0) !== 0],
    ['past_key/past_value', hasPast],
  ] as const;
  for (const [what, bad] of unsupported) if (bad) throw new Error(`GroupQueryAttention ${node.name}: ${what} is not supported (only causal attention without cache)`);
}

export const ATTENTION: Record<string, Evaluator> = {
  GroupQueryAttention: (ins, node) => {
    checkPlainGqa(node, !!(ins[3] || ins[4]));
    const q = need(ins[0], node, 0);
    const k = need(ins[1], node, 1);
    const v = need(ins[2], node, 2);
    const seqlens = need(ins[5], node, 5);
    const Hq = attrInt(node, 'num_heads', 0);
    const Hkv = attrInt(node, 'kv_num_heads', 0);
    const [B, S, W] = q.shape as [number, number, number];
    const d = W / Hq;
    const scale = attrFloat(node, 'scale', 0) || 1 / Math.sqrt(d);
    const rep = Hq / Hkv;
    const out = makeTensor(q.dtype, q.shape);
    const kw = Hkv * d;
    const p = new Float64Array(S);
    for (let b = 0; b < B; b++) {
      const L = Math.min(S, seqlens.data[b]! + 1);
      for (let h = 0; h < Hq; h++) {
        const kh = Math.floor(h / rep);
        for (let i = 0; i < S; i++) {
          const last = Math.min(i, L - 1);
          const qo = (b * S + i) * W + h * d;
          let max = -Infinity;
          for (let j = 0; j <= last; j++) {
            const ko = (b * S + j) * kw + kh * d;
            let s = 0;
            for (let e = 0; e < d; e++) s += q.data[qo + e]! * k.data[ko + e]!;
            p[j] = s * scale;
            max = Math.max(max, p[j]!);
          }
          let z = 0;
          for (let j = 0; j <= last; j++) z += p[j] = Math.exp(p[j]! - max);
          for (let j = 0; j <= last; j++) {
            const w = p[j]! / z;
            const vo = (b * S + j) * kw + kh * d;
            for (let e = 0; e < d; e++) out.data[qo + e] += w * v.data[vo + e]!;
          }
        }
      }
    }
    const present = (x: Tensor): Tensor => {
      const t = makeTensor(x.dtype, [B, Hkv, S, d]);
      for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) for (let h = 0; h < Hkv; h++) for (let e = 0; e < d; e++) t.data[((b * Hkv + h) * S + s) * d + e] = x.data[(b * S + s) * kw + h * d + e]!;
      return t;
    };
    return [out, present(k), present(v)];
  },
};
