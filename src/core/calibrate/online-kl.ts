// KL(p ‖ q) per token from logits that arrive one vocabulary slice at a time (the layer-streamed head),
// in float64, with running maxima (the streaming log-sum-exp): per token keep
//   mp, sp = Σ exp(zp − mp)      mq, sq = Σ exp(zq − mq)      a = Σ exp(zp − mp)·(zp − zq)
// and at the end KL = a/sp − (mp + log sp) + (mq + log sq), since Σ_v p_v (log p_v − log q_v)
// = Σ_v p_v (zp_v − zq_v) − lse(zp) + lse(zq). Equals depth.ts klPerToken on the full logits up to
// float64 rounding, for any slicing of the vocabulary.

import { HybridCompressError } from '../errors';

export class OnlineKl {
  private readonly mp: Float64Array;
  private readonly sp: Float64Array;
  private readonly mq: Float64Array;
  private readonly sq: Float64Array;
  private readonly a: Float64Array;

  constructor(readonly tokens: number) {
    this.mp = new Float64Array(tokens).fill(-Infinity);
    this.sp = new Float64Array(tokens);
    this.mq = new Float64Array(tokens).fill(-Infinity);
    this.sq = new Float64Array(tokens);
    this.a = new Float64Array(tokens);
  }

  /**
   * Adds one vocabulary slice of `width` logits for tokens [t0, t0 + n): zp (full model) and zq (the
   * other distribution), both laid out [n, width].
   */
  add(zp: ArrayLike<number>, zq: ArrayLike<number>, t0: number, n: number, width: number): void {
    if (t0 < 0 || t0 + n > this.tokens || zp.length !== n * width || zq.length !== n * width) {
      throw new HybridCompressError('SHAPE_MISMATCH', `OnlineKl.add: tokens [${t0}, ${t0 + n}) of ${this.tokens}, ${zp.length}/${zq.length} logits for width ${width}`);
    }
    for (let i = 0; i < n; i++) {
      const t = t0 + i;
      const base = i * width;
      let cp = -Infinity;
      let cq = -Infinity;
      // Math.max propagates NaN, so a NaN logit is caught below.
      for (let v = 0; v < width; v++) {
        cp = Math.max(cp, zp[base + v]!);
        cq = Math.max(cq, zq[base + v]!);
      }
      if (!Number.isFinite(cp) || !Number.isFinite(cq)) throw new HybridCompressError('NON_FINITE', `logits contain non-finite values (max ${Number.isFinite(cp) ? cq : cp}); the model produced NaN/Inf`, { tensor: 'logits' });
      const mp = Math.max(this.mp[t]!, cp);
      const mq = Math.max(this.mq[t]!, cq);
      const rp = Math.exp(this.mp[t]! - mp);
      let sp = this.sp[t]! * rp;
      let a = this.a[t]! * rp;
      let sq = this.sq[t]! * Math.exp(this.mq[t]! - mq);
      for (let v = 0; v < width; v++) {
        const p = zp[base + v]!;
        const q = zq[base + v]!;
        const e = Math.exp(p - mp);
        sp += e;
        a += e * (p - q);
        sq += Math.exp(q - mq);
      }
      this.mp[t] = mp;
      this.mq[t] = mq;
      this.sp[t] = sp;
      this.sq[t] = sq;
      this.a[t] = a;
    }
  }

  /** KL per token (non-negative: float rounding can leave a tiny negative value when p ≈ q). */
  values(): Float64Array {
    const out = new Float64Array(this.tokens);
    for (let t = 0; t < this.tokens; t++) {
      const kl = this.a[t]! / this.sp[t]! - (this.mp[t]! + Math.log(this.sp[t]!)) + (this.mq[t]! + Math.log(this.sq[t]!));
      out[t] = Math.max(kl, 0);
    }
    return out;
  }
}
