// Distillation / language-modelling losses as graph nodes, with their closed-form gradients.
//
//   kd  = (1/P) Σ_positions Σ_v p_t (log p_t − log p_s),  p = softmax(logits / T)   (forward KL, no T²)
//   ce  = −(1/M) Σ_{positions with target ≥ 0} log softmax(logits)[target]         (targets < 0 ignored)
//   kd+ce = α·kd + (1 − α)·ce
// with P = batch·seq and M the number of non-ignored targets. The teacher's logits are an input and
// are never differentiated.
//
//   d kd / d s = (softmax(s/T) − p_t) / (T·P)
//   d ce / d s = (softmax(s) − onehot(target)) · [target ≥ 0] / M
//
// Two front ends share the per-row-block core:
//  - appendLoss(logits): the loss of given logits [B, T, V] and d loss/d logits (standalone loss graphs,
//    and the training graph's autodiff-through-the-loss mode).
//  - appendHeadLoss(hidden, W): the LM head fused in: for each block of rows, z = h·Wᵀ, the loss
//    partials, g = d loss/d z, then dh = g·W and dW += gᵀ·h (a Gemm chain). No [rows, V] tensor ever
//    exists beyond one block, so with `chunks` blocks the vocabulary-sized temporaries shrink K-fold
//    (the teacher's logits, an input, are the one full [B, T, V] tensor).

import { HybridCompressError } from '../errors';
import { GraphBuilder } from '../onnx/builder';
import type { DType, Graph, Value } from '../onnx/types';

export type LossKind = 'kd' | 'ce' | 'kd+ce';
export const LOSS_KINDS: readonly LossKind[] = ['kd', 'ce', 'kd+ce'];

export interface LossOptions {
  loss: LossKind;
  /** Weight of the KD term in kd+ce (default 0.5). */
  alpha?: number;
  /** Softmax temperature of the KD term (default 1). */
  temperature?: number;
  /**
   * Row blocks the positions are split into. Default 'auto': blocks of at most 2^24 / V rows (a [rows, V]
   * float32 temporary ≤ 64 MiB), i.e. one block for small vocabularies.
   */
  chunks?: number | 'auto';
  /** Also emit the gradients (default true). */
  gradient?: boolean;
}

export interface LossInputs {
  /** int64 [batch, seq] next-token ids (negative = ignore); needed for ce and kd+ce. */
  targets?: Value;
  /** float [batch, seq, V]; needed for kd and kd+ce. */
  teacherLogits?: Value;
}

export interface LossValues {
  loss: Value;
  kdLoss?: Value;
  ceLoss?: Value;
  /** appendLoss: d loss / d logits, shaped like the logits. */
  dLogits?: Value;
  /** appendHeadLoss: d loss / d hidden [rows, D] and d loss / d W [V, D]. */
  dHidden?: Value;
  dWeight?: Value;
}

export const LOSS = 'loss';
export const KD_LOSS = 'kd_loss';
export const CE_LOSS = 'ce_loss';
export const D_LOGITS = 'd_logits';
export const D_HIDDEN = 'd_hidden';
export const D_HEAD_WEIGHT = 'd_head_weight';

/** Elements per [rows, V] block in 'auto' chunking (64 MiB of float32). */
const AUTO_BLOCK_ELEMENTS = 2 ** 24;

interface CheckedLoss {
  loss: LossKind;
  alpha: number;
  temperature: number;
  chunks: number | 'auto';
  gradient: boolean;
}

export function checkLossOptions(o: LossOptions): CheckedLoss {
  if (!LOSS_KINDS.includes(o.loss)) throw new HybridCompressError('OPTION_INVALID', `--loss ${String(o.loss)} is not valid; use kd, ce or kd+ce`, { option: 'loss' });
  const alpha = o.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new HybridCompressError('OPTION_INVALID', `--alpha ${alpha} is not valid; use a number in [0, 1] (weight of the KD term)`, { option: 'alpha' });
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new HybridCompressError('OPTION_INVALID', `--temperature ${temperature} is not valid; use a positive number`, { option: 'temperature' });
  const chunks = o.chunks ?? 'auto';
  if (chunks !== 'auto' && (!Number.isInteger(chunks) || chunks < 1)) throw new HybridCompressError('OPTION_INVALID', `loss chunks ${chunks} is not valid; use a positive integer or 'auto'`, { option: 'chunks' });
  return { loss: o.loss, alpha, temperature, chunks, gradient: o.gradient ?? true };
}

/** Near-equal row block sizes (the first rows mod K blocks one row longer). */
export function chunkSizes(rows: number, chunks: number | 'auto', vocab = 1): number[] {
  const k = chunks === 'auto' ? Math.ceil(rows / Math.max(1, Math.floor(AUTO_BLOCK_ELEMENTS / vocab))) : chunks;
  const n = Math.max(1, Math.min(k, rows));
  const base = Math.floor(rows / n);
  return Array.from({ length: n }, (_, i) => base + (i < rows % n ? 1 : 0));
}

/** The per-block loss machinery over rows of logits; the front ends supply each block's logits. */
class BlockLoss {
  readonly kd: boolean;
  readonly ce: boolean;
  readonly wKd: number;
  readonly wCe: number;
  private readonly kdParts: Value[] = [];
  private readonly ceParts: Value[] = [];
  private teacher2?: Value;
  private mask2?: Value;
  private idx2?: Value;
  private ceDen?: Value;
  private coef?: Value;

  constructor(
    private readonly b: GraphBuilder,
    private readonly o: CheckedLoss,
    private readonly rows: number,
    private readonly V: number,
    private readonly dtype: DType,
    io: LossInputs,
    expectTeacher: readonly (number | string)[],
  ) {
    this.kd = o.loss !== 'ce';
    this.ce = o.loss !== 'kd';
    this.wKd = o.loss === 'kd' ? 1 : o.loss === 'ce' ? 0 : o.alpha;
    this.wCe = 1 - this.wKd;
    if (this.kd && !io.teacherLogits) throw new HybridCompressError('OPTION_INVALID', `loss ${o.loss} needs the teacher's logits`, { option: 'loss' });
    if (this.ce && !io.targets) throw new HybridCompressError('OPTION_INVALID', `loss ${o.loss} needs next-token targets`, { option: 'loss' });
    if (this.kd) {
      const ts = io.teacherLogits!.shape;
      if (ts.join() !== expectTeacher.join()) throw new HybridCompressError('SHAPE_MISMATCH', `teacher logits [${ts.join(', ')}] do not match the student's [${expectTeacher.join(', ')}]; teacher and student must share the vocabulary`, { tensor: 'teacher_logits' });
      this.teacher2 = b.reshape(io.teacherLogits!, [rows, V]);
    }
    if (this.ce) {
      const tg = io.targets!;
      const mask = b.greater(tg, b.scalar(-1, tg.dtype)); // target ≥ 0
      const mf = b.cast(mask, dtype);
      // M = number of predicted positions (at least 1, so an all-ignored batch gives loss 0, not NaN).
      this.ceDen = b.max(b.reduceSum(mf, [0, 1], false), 1);
      this.mask2 = b.reshape(mf, [rows, 1]);
      this.idx2 = b.reshape(b.where(mask, tg, b.scalar(0, tg.dtype)), [rows, 1]);
    }
  }

  /** Rows [r0, r0+n) of a [rows, ·] value — Slice rather than Split, so each block's copy lives only as long as the block. */
  rowsOf(v: Value, r0: number, n: number): Value {
    return n === this.rows ? v : this.b.slice(v, [r0], [r0 + n], [0]);
  }

  /**
   * A [1, 1] zero that data-depends on `done` (block outputs) and on the block's loss partials. ORT runs
   * nodes in a reverse-DFS order from the graph's sinks, which would compute every block's loss partial
   * first and every block's gradient afterwards, keeping all blocks' [n, V] softmaxes alive at once;
   * feeding this zero into the next block's first node makes the blocks run one after the other.
   */
  token(done: Value[]): Value {
    const b = this.b;
    const one = (v: Value) => (v.shape.length === 0 ? b.reshape(v, [1, 1]) : b.slice(v, [0, 0], [1, 1], [0, 1]));
    const last = [...done, ...this.kdParts.slice(-1), ...this.ceParts.slice(-1)].map(one);
    return b.mul(last.length === 1 ? last[0]! : b.node('Sum', last, [{ dtype: this.dtype, shape: [1, 1] }])[0]!, 0);
  }

  /**
   * Adds block [r0, r0+n)'s loss partials for its logits s [n, V]; returns d loss/d s (with gradients on).
   * With `deferScale` a pure-KD gradient comes back unscaled, with its factor in `scale`, so the caller
   * can fold it into a GEMM's alpha instead of a pass over [n, V].
   */
  block(s: Value, r0: number, n: number, deferScale = false): { grad: Value; scale: number } | undefined {
    const { b, o, dtype } = this;
    const invT = 1 / o.temperature;
    // Two Softmax passes give everything: log-sum-exp(x) = max(x) − log(max(softmax(x))) per row (exact,
    // and stable since max softmax ≥ 1/V), so no LogSoftmax and no separate Exp over [n, V] are needed:
    //   KD row  = Σ_v p_t·(t − s)/T + lse(s/T) − lse(t/T);   CE row = s[target] − lse(s)
    const lse = (x: Value, p: Value) => b.sub(b.reduceMax(x, [1], true), b.log(b.reduceMax(p, [1], true))); // [n, 1]
    let gKd: Value | undefined;
    let gCe: Value | undefined;
    let psT1: Value | undefined;
    let lseT1: Value | undefined;
    if (this.kd) {
      const t = this.rowsOf(this.teacher2!, r0, n);
      const sT = o.temperature === 1 ? s : b.mul(s, invT);
      const tT = o.temperature === 1 ? t : b.mul(t, invT);
      const ps = b.softmax(sT, -1);
      const pt = b.softmax(tT, -1);
      const lseS = lse(sT, ps);
      const cross = b.reduceSum(b.mul(pt, b.sub(tT, sT)), [0, 1], false);
      this.kdParts.push(b.add(cross, b.reduceSum(b.sub(lseS, lse(tT, pt)), [0, 1], false)));
      if (o.gradient) gKd = b.sub(ps, pt);
      if (o.temperature === 1) {
        psT1 = ps;
        lseT1 = lseS;
      }
    }
    if (this.ce) {
      const ps = psT1 ?? b.softmax(s, -1);
      const lseS = lseT1 ?? lse(s, ps);
      const idx = this.rowsOf(this.idx2!, r0, n);
      const mask = this.rowsOf(this.mask2!, r0, n);
      const [picked] = b.node('GatherElements', [s, idx], [{ dtype, shape: [n, 1] }], { axis: { kind: 'int', value: 1 } });
      this.ceParts.push(b.reduceSum(b.mul(b.sub(picked!, lseS), mask), [0, 1], false));
      if (o.gradient) {
        // (softmax(s) − onehot)·mask·w/M: scale the probabilities, then subtract at the target column.
        const scale = b.div(b.mul(mask, this.wCe), this.ceDen!); // [n, 1]
        const [sc] = b.node('ScatterElements', [b.mul(ps, scale), idx, b.neg(scale)], [{ dtype, shape: [n, this.V] }], {
          axis: { kind: 'int', value: 1 },
          reduction: { kind: 'string', value: 'add' },
        });
        gCe = sc!;
      }
    }
    if (!o.gradient) return undefined;
    if (gKd && !gCe && deferScale) return { grad: gKd, scale: this.kdScale() };
    if (gKd) gKd = b.mul(gKd, this.kdCoef());
    return { grad: gKd && gCe ? b.add(gKd, gCe) : (gKd ?? gCe)!, scale: 1 };
  }

  /** kdCoef's value as a number: the same product of dtype-rounded constants, for a GEMM alpha. */
  private kdScale(): number {
    const r = this.dtype === 'float32' ? Math.fround : (x: number) => x;
    return ((this.o.temperature === 1 ? 1 : r(1 / this.o.temperature)) * r(this.wKd)) / this.rows;
  }

  /**
   * (1/T)·w/P as a scalar node built from the same dtype-rounded constants the loss multiplies by, so the
   * closed form is the exact derivative of the graph's own loss.
   */
  private kdCoef(): Value {
    const { b, o, dtype } = this;
    return (this.coef ??= b.div(o.temperature === 1 ? b.scalar(this.wKd, dtype) : b.mul(b.scalar(1 / o.temperature, dtype), b.scalar(this.wKd, dtype)), this.rows));
  }

  finish(): LossValues {
    const { b, dtype } = this;
    const total = (parts: Value[]) => (parts.length === 1 ? parts[0]! : b.node('Sum', parts, [{ dtype, shape: [] }])[0]!);
    const out: LossValues = { loss: undefined as unknown as Value };
    if (this.kd) out.kdLoss = b.div(total(this.kdParts), this.rows, { name: KD_LOSS });
    if (this.ce) out.ceLoss = b.div(b.neg(total(this.ceParts)), this.ceDen!, { name: CE_LOSS });
    if (this.o.loss === 'kd') out.loss = b.identity(out.kdLoss!, { name: LOSS });
    else if (this.o.loss === 'ce') out.loss = b.identity(out.ceLoss!, { name: LOSS });
    else out.loss = b.add(b.mul(out.kdLoss!, this.wKd), b.mul(out.ceLoss!, this.wCe), { name: LOSS });
    return out;
  }
}

function staticDims(v: Value, rank: number, what: string): number[] {
  if (v.shape.length !== rank || !v.shape.every((d) => typeof d === 'number')) throw new HybridCompressError('SHAPE_MISMATCH', `loss: ${what} must have a static rank-${rank} shape, got [${v.shape.join(', ')}]`);
  return v.shape as number[];
}

/** Appends the loss (and d loss/d logits) on `logits` [batch, seq, V] to the builder's graph. */
export function appendLoss(b: GraphBuilder, logits: Value, opts: LossOptions, io: LossInputs): LossValues {
  const o = checkLossOptions(opts);
  const [B, T, V] = staticDims(logits, 3, 'logits') as [number, number, number];
  const P = B * T;
  return b.scope('loss', () => {
    const core = new BlockLoss(b, o, P, V, logits.dtype, io, logits.shape);
    const flat = b.reshape(logits, [P, V]);
    const grads: Value[] = [];
    let r0 = 0;
    let token: Value | undefined;
    for (const n of chunkSizes(P, o.chunks, V)) {
      const rows = core.rowsOf(flat, r0, n);
      const g = core.block(token ? b.add(rows, token) : rows, r0, n)?.grad;
      if (g) grads.push(g);
      r0 += n;
      if (r0 < P) token = core.token(g ? [g] : []);
    }
    const out = core.finish();
    if (o.gradient) out.dLogits = b.reshape(grads.length === 1 ? grads[0]! : b.concat(grads, 0), [B, T, V], { name: D_LOGITS });
    return out;
  });
}

/**
 * Appends the LM head and the loss: logits = hidden [B·T, D] · Wᵀ with W [V, D] (PyTorch layout), computed
 * block by block together with the loss and (with gradients) d loss/d hidden and d loss/d W.
 */
export function appendHeadLoss(b: GraphBuilder, hidden: Value, weight: Value, batch: number, seq: number, opts: LossOptions, io: LossInputs): LossValues {
  const o = checkLossOptions(opts);
  const [P, D] = staticDims(hidden, 2, 'the final hidden states');
  const [V, D2] = staticDims(weight, 2, 'the LM head weight');
  if (P !== batch * seq || D !== D2) throw new HybridCompressError('SHAPE_MISMATCH', `loss: hidden [${P}, ${D}] and LM head [${V}, ${D2}] do not fit batch ${batch} × seq ${seq}`);
  return b.scope('loss', () => {
    const core = new BlockLoss(b, o, P, V!, hidden.dtype, io, [batch, seq, V!]);
    const dHidden: Value[] = [];
    let dW: Value | undefined;
    let r0 = 0;
    let token: Value | undefined;
    for (const n of chunkSizes(P, o.chunks, V)) {
      const h = core.rowsOf(hidden, r0, n);
      const z = b.gemm(h, weight, token ?? null, { transB: true }); // [n, V] (+ the ordering zero, free in the GEMM)
      const r = core.block(z, r0, n, true);
      if (r) {
        const alpha = r.scale === 1 ? {} : { alpha: r.scale };
        dHidden.push(b.gemm(r.grad, weight, null, alpha)); // [n, D]
        // dW accumulates through Gemm's C input: one [V, D] buffer alive, not one per block.
        dW = b.gemm(r.grad, h, dW ?? null, { transA: true, ...alpha });
      }
      r0 += n;
      if (r0 < P) token = core.token(r ? [dHidden[dHidden.length - 1]!, dW!] : []);
    }
    const out = core.finish();
    if (o.gradient) {
      out.dHidden = b.identity(dHidden.length === 1 ? dHidden[0]! : b.concat(dHidden, 0), { name: D_HIDDEN });
      out.dWeight = b.identity(dW!, { name: D_HEAD_WEIGHT });
    }
    return out;
  });
}

/**
 * A standalone loss graph: inputs `logits` [B,T,V] (+ `teacher_logits`, `targets`), outputs loss,
 * kd_loss / ce_loss and (with gradient) d_logits.
 */
export function buildLossGraph(batch: number, seq: number, vocab: number, o: LossOptions, dtype: 'float32' | 'float64' = 'float32'): Graph {
  const b = new GraphBuilder(`loss_${o.loss}`);
  const logits = b.input('logits', dtype, [batch, seq, vocab]);
  const teacherLogits = o.loss !== 'ce' ? b.input('teacher_logits', dtype, [batch, seq, vocab]) : undefined;
  const targets = o.loss !== 'kd' ? b.input('targets', 'int64', [batch, seq]) : undefined;
  const v = appendLoss(b, logits, o, { teacherLogits, targets });
  b.output(v.loss);
  if (v.kdLoss) b.output(v.kdLoss);
  if (v.ceLoss) b.output(v.ceLoss);
  if (v.dLogits) b.output(v.dLogits);
  return b.build();
}

/**
 * A standalone head+loss graph: inputs `hidden` [B·T, D], `weight` [V, D] (+ `teacher_logits`, `targets`),
 * outputs loss, kd_loss / ce_loss and (with gradient) d_hidden, d_head_weight.
 */
export function buildHeadLossGraph(batch: number, seq: number, hiddenSize: number, vocab: number, o: LossOptions, dtype: 'float32' | 'float64' = 'float32'): Graph {
  const b = new GraphBuilder(`head_loss_${o.loss}`);
  const hidden = b.input('hidden', dtype, [batch * seq, hiddenSize]);
  const weight = b.input('weight', dtype, [vocab, hiddenSize]);
  const teacherLogits = o.loss !== 'ce' ? b.input('teacher_logits', dtype, [batch, seq, vocab]) : undefined;
  const targets = o.loss !== 'kd' ? b.input('targets', 'int64', [batch, seq]) : undefined;
  const v = appendHeadLoss(b, hidden, weight, batch, seq, o, { teacherLogits, targets });
  for (const x of [v.loss, v.kdLoss, v.ceLoss, v.dHidden, v.dWeight]) if (x) b.output(x);
  return b.build();
}
