// The Mamba2 mixer as ONNX, written for ORT CPU speed (research/hf-formats.md §3.3 for the math):
//
//   zxbcdt = u·W_inᵀ → z | xBC | dt_raw;  xBC ← silu(causal depthwise conv(xBC));  x | B | C = xBC
//   dt = clamp(softplus(dt_raw + dt_bias));  A = −exp(A_log)
//   y = SSD(x, dt, A, B, C) + D·x;  out = (gatedRMSNorm(y ⊙ silu(z)) over normGroups)·W_outᵀ
//
// The scan is the chunked SSD form: the sequence is zero-padded to a multiple of the chunk length Q
// (padding sits after every real token, so causality keeps it out of the real outputs) and, per chunk,
//   intra-chunk   Y_diag = (L ∘ C·Bᵀ) · (dt ∘ X),           L[i,j] = exp(Acs[i] − Acs[j]) for j ≤ i
//   chunk states  S_c    = Bᵀ · (exp(Acs_last − Acs) ∘ dt ∘ X)                          [N, P]
//   state passing S'_c   = Σ_{c'<c} exp(excl[c] − incl[c']) · S_c'   (one [nC,nC] matmul over chunks)
//   inter-chunk   Y_off  = exp(Acs) ∘ (C · S'_c)
// with heads folded into batch dims ([B, G, heads/group, nC, Q, ·]) so every contraction is one batched
// MatMul and B/C broadcast over the heads of their group (no Expand, no Einsum, no Where over L×L:
// the causal structure is an additive −inf constant added before Exp).

import type { LayerSpec } from '../arch/spec';
import type { Value } from '../onnx/index';
import type { ForwardContext } from './forward-graph-context';
import { emitTapStats, wantsStatsOf } from './forward-graph-stats';

function chunkGeometry(cx: ForwardContext): { nChunks: Value; padsLast3: Value; chunkMask: Value } {
  const g = cx.g;
  const Q = cx.chunkSize;
  const nChunks = cx.memo('ssd:nchunks', () => g.div(g.add(cx.seq, Q - 1), Q, { name: 'ssd/nchunks' }));
  // Pads for a rank-3 [., ., T] tensor: [0,0,0, 0,0,padT] with padT = nC·Q − T.
  const padsLast3 = cx.memo('ssd:pads', () => {
    const padT = g.sub(g.mul(nChunks, Q), cx.seq);
    return g.concat([g.int64s([0, 0, 0, 0, 0]), g.unsqueeze(padT, [0])], 0, { name: 'ssd/pads' });
  });
  // [nC, nC] additive mask: 0 where c' < c (earlier chunks feed chunk c), −inf elsewhere.
  const chunkMask = cx.memo('ssd:chunkmask', () => {
    const r = g.range(g.scalar(0, 'int64'), nChunks, g.scalar(1, 'int64'), { shape: ['nchunks'] });
    const earlier = g.less(g.unsqueeze(r, [0]), g.unsqueeze(r, [1]));
    return g.where(earlier, 0, -Infinity, { name: 'ssd/chunk_mask' });
  });
  return { nChunks, padsLast3, chunkMask };
}

/** [Q, Q] additive mask: 0 for j ≤ i, −inf for j > i. */
function intraMask(cx: ForwardContext): Value {
  const Q = cx.chunkSize;
  return cx.memo('ssd:intramask', () => {
    const m = new Float32Array(Q * Q);
    for (let i = 0; i < Q; i++) for (let j = i + 1; j < Q; j++) m[i * Q + j] = -Infinity;
    return cx.g.constant('float32', [Q, Q], m, 'ssd/intra_mask');
  });
}

/** Mamba2 mixer on u [B·T, D]; returns [B·T, D]. Emits the layer's mamba taps. */
export function emitMambaMixer(cx: ForwardContext, layer: LayerSpec, u: Value): Value {
  const g = cx.g;
  const m = cx.spec.mamba!;
  const H = m.numHeads;
  const P = m.headDim;
  const G = m.nGroups;
  const N = m.stateSize;
  const K = m.convKernel;
  const I = H * P;
  const C = I + 2 * G * N;
  const hpg = H / G;
  const Q = cx.chunkSize;
  const n = layer.index;
  const tp = `layers.${n}.mamba`;
  const Tpad = `${Q}*nchunks`;

  // in_proj, split by weight rows so each part comes out in the layout its consumer wants:
  // z token-major [B·T, I] (gated norm), xBC and dt channel-major [B, C, T] / [B, H, T] (conv, scan) as
  // W·uᵀ — no Split copy and no transposes. Row slices of an initializer are folded by ORT at load; a weight
  // fed at run time comes as one input per row range (weightRowInputs), so no run copies it.
  const ranges = [
    [0, I],
    [I, I + C],
    [I + C, I + C + H],
  ] as const;
  const [Wz, Wxbc, Wdt] = cx.weightRows(cx.roleName(layer, 'in_proj'), ranges) as [Value, Value, Value];
  const biasName = cx.optionalRole(layer, 'in_proj_bias');
  const [bz, bxbc, bdt] = biasName ? (cx.weightRows(biasName, ranges) as [Value, Value, Value]) : [];
  const channelMajor = (v: Value) => g.unsqueeze(v, [-1]);
  let z = cx.mm(u, Wz, { transB: true });
  if (bz) z = g.add(z, bz);
  const u3 = cx.to3d(u, [cx.spec.hiddenSize]);
  let convIn = cx.mm(Wxbc, u3, { transB: true }); // [B, C, T]
  if (bxbc) convIn = g.add(convIn, channelMajor(bxbc));
  let dtRaw = cx.mm(Wdt, u3, { transB: true }); // [B, H, T]
  if (bdt) dtRaw = g.add(dtRaw, channelMajor(bdt));
  const xTap = `${tp}.x`;
  if (cx.wantsTap(xTap) || wantsStatsOf(cx, xTap)) {
    const xCm = g.slice(convIn, [0], [I], [1]); // [B, I, T]
    if (cx.wantsTap(xTap)) g.output(cx.to3d(g.reshape(g.transpose(xCm, [0, 2, 1]), [-1, I]), [I], xTap));
    // Statistics reduce over T straight from the channel-major layout: no transpose.
    emitTapStats(cx, xTap, xCm, 2);
  }

  // Causal depthwise conv over time (left padding K−1, tap K−1 = current token), then SiLU.
  const convBias = cx.optionalRole(layer, 'conv_bias');
  const conv = g.conv(convIn, cx.weight(cx.roleName(layer, 'conv_weight')), convBias ? cx.weight(convBias) : null, { group: C, pads: [K - 1, 0] });
  const act = cx.silu(conv);

  const { padsLast3, chunkMask } = chunkGeometry(cx);
  const actPad = g.pad(act, padsLast3, { shape: ['batch', C, Tpad] });
  const [xs, bs, cs] = g.split(actPad, [I, G * N, G * N], 1);
  // x → [B, H, nC, Q, P];  B, C → [B, G, 1, nC, Q, N] (broadcast over the heads of a group).
  const X = g.transpose(g.reshape(xs!, [0, H, P, -1, Q]), [0, 1, 3, 4, 2]);
  const Bm = g.transpose(g.reshape(bs!, [0, G, 1, N, -1, Q]), [0, 1, 2, 4, 5, 3]);
  const Cm = g.transpose(g.reshape(cs!, [0, G, 1, N, -1, Q]), [0, 1, 2, 4, 5, 3]);

  // dt = clamp(softplus(dt_raw + dt_bias), lo, hi) → [B, H, nC, Q].
  let dt = g.softplus(g.add(dtRaw, g.unsqueeze(cx.weight(cx.roleName(layer, 'dt_bias')), [-1])));
  const [lo, hi] = cx.dtRange;
  if (lo > 0 || hi < Infinity) dt = g.clip(dt, lo > 0 ? lo : undefined, hi < Infinity ? hi : undefined);
  const dt4 = g.reshape(g.pad(dt, padsLast3, { shape: ['batch', H, Tpad] }), [0, H, -1, Q]);

  const A = g.reshape(g.neg(g.exp(cx.weight(cx.roleName(layer, 'A_log')))), [H, 1, 1]);
  const Acs = g.cumsum(g.mul(dt4, A), -1); // [B, H, nC, Q]

  // Intra-chunk (diagonal blocks).
  const L = g.exp(g.add(g.sub(g.unsqueeze(Acs, [-1]), g.unsqueeze(Acs, [-2])), intraMask(cx)));
  const CB = cx.mm(Cm, Bm, { transB: true }); // [B, G, 1, nC, Q, Q]
  const Mx = g.mul(g.reshape(L, [0, G, hpg, -1, Q, Q]), CB);
  const Xdt = g.mul(X, g.unsqueeze(dt4, [-1])); // [B, H, nC, Q, P]
  const Ydiag = g.matmul(Mx, g.reshape(Xdt, [0, G, hpg, -1, Q, P]));

  // Chunk states and their passing between chunks.
  const AcsLast = g.slice(Acs, [Q - 1], [Q], [3]); // [B, H, nC, 1]
  const decay = g.exp(g.sub(AcsLast, Acs));
  const Xs = g.reshape(g.mul(Xdt, g.unsqueeze(decay, [-1])), [0, G, hpg, -1, Q, P]);
  const S = cx.mm(Bm, Xs, { transA: true }); // [B, G, hpg, nC, N, P]
  const At = g.reshape(AcsLast, [0, H, -1]);
  const incl = g.cumsum(At, -1);
  const excl = g.sub(incl, At);
  const Dc = g.exp(g.add(g.sub(g.unsqueeze(excl, [-1]), g.unsqueeze(incl, [-2])), chunkMask)); // [B, H, nC, nC]
  const Sprev = g.reshape(g.matmul(Dc, g.reshape(S, [0, H, -1, N * P])), [0, G, hpg, -1, N, P]);
  const Yoff = g.matmul(Cm, Sprev); // [B, G, hpg, nC, Q, P]

  const inDecay = g.reshape(g.unsqueeze(g.exp(Acs), [-1]), [0, G, hpg, -1, Q, 1]);
  const Y6 = g.add(Ydiag, g.mul(Yoff, inDecay));
  const Dskip = g.reshape(cx.weight(cx.roleName(layer, 'D')), [H, 1, 1, 1]);
  const Y = g.add(g.reshape(Y6, [0, H, -1, Q, P]), g.mul(X, Dskip)); // [B, H, nC, Q, P]
  const Yt = g.reshape(g.transpose(Y, [0, 2, 3, 1, 4]), [0, -1, I]); // [B, Tpad, I]
  const y = g.reshape(g.slice(Yt, g.int64s([0]), g.unsqueeze(cx.seq, [0]), [1], undefined, { shape: ['batch', 'seq', I] }), [-1, I]);

  // Gated RMSNorm (gate first), over normGroups contiguous groups of I/normGroups channels.
  const v = g.mul(y, cx.silu(z));
  const Gn = m.normGroups;
  const wNorm = cx.weight(cx.roleName(layer, 'mixer_norm'));
  const normed = Gn === 1 ? cx.rmsNorm(v, wNorm) : g.mul(g.reshape(cx.rmsNorm(g.reshape(v, [0, Gn, I / Gn]), null), [0, I]), wNorm);
  cx.tap(`${tp}.out_proj_input`, normed);
  return cx.linear(normed, cx.roleName(layer, 'out_proj'), cx.optionalRole(layer, 'out_proj_bias'));
}
