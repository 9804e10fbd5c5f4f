// VJP rules of MatMul / FusedMatMul / Gemm / Einsum / Conv.
//
// MatMul-like products: for Y = α·op(A)·op(B), dA and dB are again (Fused)MatMuls with the transposes
// folded into the product's flags rather than materialised. When one operand is a plain matrix (a
// weight) and the other carries batch dims, its gradient flattens the batch into the GEMM's inner
// dimension (one [K, rows] × [rows, N] product instead of a batched product followed by a ReduceSum).

import { attrFloat, attrInt, attrInts, attrString } from '../interpret/attrs';
import { broadcast } from '../interpret/tensor';
import type { Value } from '../types';
import { AutodiffError, type VjpContext } from './context';
import type { VjpRule } from './rule';

interface Product {
  transA: boolean;
  transB: boolean;
  alpha: number;
}

function matmulGrads(ctx: VjpContext, a: Value, bv: Value, g: Value, p: Product, needA: boolean, needB: boolean): [Value | undefined, Value | undefined] {
  const { b } = ctx;
  const aShape = ctx.shape(a);
  const bShape = ctx.shape(bv);
  // Rank-1 operands are promoted to matrices, as MatMul does, and the gradient reshaped back.
  if ((aShape.length === 1 && p.transA) || (bShape.length === 1 && p.transB)) throw new AutodiffError(`${ctx.where()}: transposed rank-1 operands are not supported`);
  const A = aShape.length === 1 ? ctx.reshapeTo(a, [1, aShape[0]!]) : a;
  const B = bShape.length === 1 ? ctx.reshapeTo(bv, [bShape[0]!, 1]) : bv;
  const As = ctx.shape(A);
  const Bs = ctx.shape(B);
  const M = p.transA ? As[As.length - 1]! : As[As.length - 2]!;
  const N = p.transB ? Bs[Bs.length - 2]! : Bs[Bs.length - 1]!;
  const K = p.transA ? As[As.length - 2]! : As[As.length - 1]!;
  const batch = broadcast([As.slice(0, -2), Bs.slice(0, -2)]);
  const G = ctx.reshapeTo(g, [...batch, M, N]);
  let gA: Value | undefined;
  let gB: Value | undefined;
  if (needA) {
    if (Bs.length === 2 && As.length > 2 && !p.transA) {
      // A [..., M, K] against a matrix: dA = α·G·op(B)ᵀ with rows flattened (a plain GEMM).
      const G2 = b.reshape(G, [-1, N]);
      gA = b.reshape(ctx.mm(G2, B, false, !p.transB, p.alpha), As.slice());
    } else if (As.length === 2 && Bs.length > 2 && !p.transA && batchedCopiesAreSmaller(batch, M, N, K, p.transB)) {
      // A matrix (a weight) against batched B: dA = α·Σ_b G_b·op(B_b)ᵀ as one GEMM over the batch laid
      // side by side, G → [M, batch·N] (and B → [K, batch·N] unless transposed already), rather than a
      // batched product [batch, M, K] reduced over the batch: activation-sized copies, no weight-sized temporaries.
      const r = Bs.length;
      const front = [r - 2, ...Array.from({ length: r - 2 }, (_, i) => i), r - 1];
      const Gc = b.reshape(b.transpose(G, front), [M, -1]);
      gA = p.transB ? ctx.mm(Gc, b.reshape(B, [-1, K]), false, false, p.alpha) : ctx.mm(Gc, b.reshape(b.transpose(B, front), [K, -1]), false, true, p.alpha);
    } else {
      gA = p.transA ? ctx.mm(B, G, p.transB, true, p.alpha) : ctx.mm(G, B, false, !p.transB, p.alpha);
      gA = ctx.unbroadcast(gA, As);
    }
    gA = ctx.reshapeTo(gA, aShape);
  }
  if (needB) {
    if (Bs.length === 2 && As.length > 2 && !p.transA) {
      const A2 = b.reshape(A, [-1, K]);
      const G2 = b.reshape(G, [-1, N]);
      gB = p.transB ? ctx.mm(G2, A2, true, false, p.alpha) : ctx.mm(A2, G2, true, false, p.alpha);
    } else if (As.length === 2 && Bs.length > 2 && !p.transB) {
      // A matrix against batched B [..., K, N]: dB = α·op(A)ᵀ·G per batch, no reduction needed.
      gB = ctx.mm(A, G, !p.transA, false, p.alpha);
    } else {
      gB = p.transB ? ctx.mm(G, A, true, p.transA, p.alpha) : ctx.mm(A, G, !p.transA, false, p.alpha);
      gB = ctx.unbroadcast(gB, Bs);
    }
    gB = ctx.reshapeTo(gB, bShape);
  }
  return [gA, gB];
}

/**
 * Whether flattening the batch of a matrix-times-batched product into one GEMM (copies of G, and of B
 * unless transposed) takes less memory than the batched product [batch, M, K] it replaces.
 */
function batchedCopiesAreSmaller(batch: readonly number[], M: number, N: number, K: number, transB: boolean): boolean {
  const n = batch.reduce((a, d) => a * d, 1);
  return n > 1 && M * N + (transB ? 0 : K * N) < M * K;
}

function einsumRule(ctx: VjpContext, g: Value): (Value | undefined)[] {
  const { b } = ctx;
  const eq = attrString(ctx.node, 'equation', '').replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->');
  if (rhs === undefined || eq.includes('.')) throw new AutodiffError(`${ctx.where()}: Einsum "${eq}" needs explicit output subscripts and no ellipsis`);
  const terms = lhs!.split(',');
  for (const t of [...terms, rhs]) if (new Set(t).size !== t.length) throw new AutodiffError(`${ctx.where()}: Einsum "${eq}" repeats a subscript within one term (diagonals are not differentiable here)`);
  return terms.map((t, i) => {
    if (!ctx.needs(i)) return undefined;
    const others = terms.map((o, k) => ({ o, k })).filter(({ k }) => k !== i);
    const available = new Set([...rhs, ...others.flatMap(({ o }) => [...o])]);
    // Subscripts only input i has were summed away: compute without them, then broadcast back.
    const kept = [...t].filter((c) => available.has(c)).join('');
    const eqGrad = `${[rhs, ...others.map(({ o }) => o)].join(',')}->${kept}`;
    let gi = b.einsum(eqGrad, [g, ...others.map(({ k }) => ctx.input(k))]);
    const xShape = ctx.shape(ctx.input(i));
    if (kept.length !== t.length) {
      const missing = [...t].flatMap((c, k) => (available.has(c) ? [] : [k]));
      gi = b.expand(b.unsqueeze(gi, missing), xShape);
    }
    // Size-1 subscripts broadcast against the other operands sum back down.
    return ctx.unbroadcast(gi, xShape);
  });
}

/**
 * 1-D convolution (N, C, L) with stride 1, any dilation, pads and groups (the Mamba2 causal depthwise
 * conv is group = C, kernel K, pads [K−1, 0]).
 *  dX = Conv(dY, W′) where W′ swaps in/out channels within each group and flips the kernel, with pads
 *       (K−1)·dil − pad on each side.
 *  dW[co, ci, k] = Σ_{n,t} dY[n, co, t]·Xpad[n, c(ci), t + k·dil] — K shifted products (elementwise for
 *       depthwise, a batched MatMul per tap otherwise).
 */
function convRule(ctx: VjpContext, g: Value): (Value | undefined)[] {
  const { b, node } = ctx;
  const x = ctx.input(0);
  const w = ctx.input(1);
  const xs = ctx.shape(x);
  const ws = ctx.shape(w);
  if (xs.length !== 3) throw new AutodiffError(`${ctx.where()}: only 1-D convolutions are differentiable here (input [${xs}])`);
  if (attrString(node, 'auto_pad', 'NOTSET') !== 'NOTSET') throw new AutodiffError(`${ctx.where()}: auto_pad is not supported; write explicit pads`);
  const strides = attrInts(node, 'strides') ?? [1];
  if (strides.some((s) => s !== 1)) throw new AutodiffError(`${ctx.where()}: strided convolutions are not differentiable here`);
  const dil = (attrInts(node, 'dilations') ?? [1])[0]!;
  const [pL, pR] = attrInts(node, 'pads') ?? [0, 0];
  const group = attrInt(node, 'group', 1);
  const [N, C, L] = xs as [number, number, number];
  const [CO, cinG, K] = ws as [number, number, number];
  const coutG = CO / group;
  const Lout = ctx.shape(g)[2]!;
  const out: (Value | undefined)[] = [undefined, undefined, undefined];
  const span = (K - 1) * dil;

  if (ctx.needs(0)) {
    const qL = span - pL!;
    const qR = span - pR!;
    if (qL < 0 || qR < 0) throw new AutodiffError(`${ctx.where()}: pads larger than the kernel span are not supported`);
    let wt = w;
    if (!(cinG === 1 && coutG === 1)) {
      wt = b.reshape(b.transpose(b.reshape(w, [group, coutG, cinG, K]), [0, 2, 1, 3]), [C, coutG, K]);
    }
    const flipped = b.slice(wt, [-1], [-(K + 1)], [2], [-1]);
    out[0] = b.conv(g, flipped, null, { group, pads: [qL, qR], dilations: [dil] });
    if (ctx.shape(out[0]!)[2] !== L) throw new AutodiffError(`${ctx.where()}: internal error: input gradient length ${ctx.shape(out[0]!)[2]} ≠ ${L}`);
  }
  if (ctx.needs(1)) {
    const xp = pL || pR ? b.pad(x, [0, 0, pL!, 0, 0, pR!]) : x;
    const taps: Value[] = [];
    for (let k = 0; k < K; k++) {
      const xk = b.slice(xp, [k * dil], [k * dil + Lout], [2]);
      if (cinG === 1 && coutG === 1) {
        taps.push(b.reduceSum(b.mul(g, xk), [0, 2], true)); // [1, C, 1]
      } else {
        const gr = b.reshape(g, [N, group, coutG, Lout]);
        const xr = b.reshape(xk, [N, group, cinG, Lout]);
        const prod = b.reduceSum(ctx.mm(gr, xr, false, true), [0], false); // [G, coutG, cinG]
        taps.push(b.reshape(prod, [CO, cinG, 1]));
      }
    }
    const stacked = taps.length === 1 ? taps[0]! : b.concat(taps, 2);
    out[1] = ctx.reshapeTo(stacked, ws);
  }
  if (ctx.hasInput(2) && ctx.needs(2)) out[2] = b.reduceSum(g, [0, 2], false);
  return out;
}

export const LINALG_RULES: Record<string, VjpRule> = {
  MatMul: (ctx, [g]) => matmulGrads(ctx, ctx.input(0), ctx.input(1), g!, { transA: false, transB: false, alpha: 1 }, ctx.needs(0), ctx.needs(1)),
  FusedMatMul: (ctx, [g]) => {
    const n = ctx.node;
    if (attrInt(n, 'transBatchA', 0) || attrInt(n, 'transBatchB', 0)) throw new AutodiffError(`${ctx.where()}: transBatchA/B are not supported`);
    const p = { transA: attrInt(n, 'transA', 0) === 1, transB: attrInt(n, 'transB', 0) === 1, alpha: attrFloat(n, 'alpha', 1) };
    return matmulGrads(ctx, ctx.input(0), ctx.input(1), g!, p, ctx.needs(0), ctx.needs(1));
  },
  Gemm: (ctx, [g]) => {
    const n = ctx.node;
    const p = { transA: attrInt(n, 'transA', 0) === 1, transB: attrInt(n, 'transB', 0) === 1, alpha: attrFloat(n, 'alpha', 1) };
    const [gA, gB] = matmulGrads(ctx, ctx.input(0), ctx.input(1), g!, p, ctx.needs(0), ctx.needs(1));
    let gC: Value | undefined;
    if (ctx.hasInput(2) && ctx.needs(2)) {
      const beta = attrFloat(n, 'beta', 1);
      gC = ctx.unbroadcast(beta === 1 ? g! : ctx.b.mul(g!, beta), ctx.shape(ctx.input(2)));
    }
    return [gA, gB, gC];
  },
  Einsum: (ctx, [g]) => einsumRule(ctx, g!),
  Conv: (ctx, [g]) => convRule(ctx, g!),
};
