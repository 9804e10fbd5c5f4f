// Distillation / language-modelling losses as graph nodes, with their closed-form logits gradient.
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
// Memory: the positions are split into `chunks` row blocks at build time; each block computes its
// softmaxes, loss partial sum and gradient block, so the [rows, V] temporaries exist per block only
// (ORT frees a block's buffers once the next block runs); the gradient blocks are concatenated.

import { HybridCompressError } from '../errors';
import { GraphBuilder } from '../onnx/builder';
import type { Graph, Value } from '../onnx/types';

export type LossKind = 'kd' | 'ce' | 'kd+ce';
export const LOSS_KINDS: readonly LossKind[] = ['kd', 'ce', 'kd+ce'];

export interface LossOptions {
  loss: LossKind;
  /** Weight of the KD term in kd+ce (default 0.5). */
  alpha?: number;
  /** Softmax temperature of the KD term (default 1). */
  temperature?: number;
  /** Row blocks the positions are split into (default 1: one block). */
  chunks?: number;
  /** Also emit d loss / d logits (default true). */
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
  /** d loss / d logits, shaped like the logits. */
  dLogits?: Value;
}

export const LOSS = 'loss';
export const KD_LOSS = 'kd_loss';
export const CE_LOSS = 'ce_loss';
export const D_LOGITS = 'd_logits';

export function checkLossOptions(o: LossOptions): Required<Omit<LossOptions, 'gradient'>> & { gradient: boolean } {
  if (!LOSS_KINDS.includes(o.loss)) throw new HybridCompressError('OPTION_INVALID', `--loss ${String(o.loss)} is not valid; use kd, ce or kd+ce`, { option: 'loss' });
  const alpha = o.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new HybridCompressError('OPTION_INVALID', `--alpha ${alpha} is not valid; use a number in [0, 1] (weight of the KD term)`, { option: 'alpha' });
  const temperature = o.temperature ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new HybridCompressError('OPTION_INVALID', `--temperature ${temperature} is not valid; use a positive number`, { option: 'temperature' });
  const chunks = o.chunks ?? 1;
  if (!Number.isInteger(chunks) || chunks < 1) throw new HybridCompressError('OPTION_INVALID', `loss chunks ${chunks} is not valid; use a positive integer`, { option: 'chunks' });
  return { loss: o.loss, alpha, temperature, chunks, gradient: o.gradient ?? true };
}

/** Near-equal row block sizes (the first P mod K blocks one row longer). */
export function chunkSizes(rows: number, chunks: number): number[] {
  const k = Math.max(1, Math.min(chunks, rows));
  const base = Math.floor(rows / k);
  return Array.from({ length: k }, (_, i) => base + (i < rows % k ? 1 : 0));
}

/** Appends the loss (and its logits gradient) on `logits` [batch, seq, V] to the builder's graph. */
export function appendLoss(b: GraphBuilder, logits: Value, opts: LossOptions, io: LossInputs): LossValues {
  const o = checkLossOptions(opts);
  const shape = logits.shape;
  if (shape.length !== 3 || !shape.every((d) => typeof d === 'number')) throw new HybridCompressError('SHAPE_MISMATCH', `loss: logits must have a static [batch, seq, vocab] shape, got [${shape.join(', ')}]`);
  const [B, T, V] = shape as number[];
  const P = B! * T!;
  const kd = o.loss !== 'ce';
  const ce = o.loss !== 'kd';
  const wKd = o.loss === 'kd' ? 1 : o.loss === 'ce' ? 0 : o.alpha;
  const wCe = 1 - wKd;
  if (kd && !io.teacherLogits) throw new HybridCompressError('OPTION_INVALID', `loss ${o.loss} needs the teacher's logits`, { option: 'loss' });
  if (ce && !io.targets) throw new HybridCompressError('OPTION_INVALID', `loss ${o.loss} needs next-token targets`, { option: 'loss' });
  if (kd && io.teacherLogits!.shape.join() !== shape.join()) throw new HybridCompressError('SHAPE_MISMATCH', `teacher logits [${io.teacherLogits!.shape.join(', ')}] do not match the student's [${shape.join(', ')}]; teacher and student must share the vocabulary`, { tensor: 'teacher_logits' });
  const dtype = logits.dtype;

  return b.scope('loss', () => {
    const sizes = chunkSizes(P, o.chunks);
    const split = (v: Value, width: number[]): Value[] => {
      const flat = b.reshape(v, [P, ...width]);
      return sizes.length === 1 ? [flat] : b.split(flat, sizes, 0);
    };
    const S = split(logits, [V!]);
    const Tch = kd ? split(io.teacherLogits!, [V!]) : [];
    const invT = 1 / o.temperature;

    let maskF: Value[] = [];
    let idx: Value[] = [];
    let ceDen: Value | undefined;
    if (ce) {
      const tg = io.targets!;
      const mask = b.greater(tg, b.scalar(-1, tg.dtype)); // target ≥ 0
      const safe = b.where(mask, tg, b.scalar(0, tg.dtype));
      const mf = b.cast(mask, dtype);
      // M = number of predicted positions (at least 1, so an all-ignored batch gives loss 0, not NaN).
      ceDen = b.max(b.reduceSum(mf, [0, 1], false), 1);
      maskF = split(mf, [1]);
      idx = split(safe, [1]);
    }

    // d kd/d s coefficient (1/T)·w/P as a scalar node built from the same (dtype-rounded) constants the
    // loss itself multiplies by, so the closed form is the exact derivative of the graph's loss.
    let coef: Value | undefined;
    const kdCoef = (): Value => (coef ??= b.div(o.temperature === 1 ? b.scalar(wKd, dtype) : b.mul(b.scalar(invT, dtype), b.scalar(wKd, dtype)), P));
    const kdParts: Value[] = [];
    const ceParts: Value[] = [];
    const grads: Value[] = [];
    sizes.forEach((_, c) => {
      const s = S[c]!;
      let gKd: Value | undefined;
      let gCe: Value | undefined;
      let lsT1: Value | undefined;
      if (kd) {
        const ls = b.logSoftmax(o.temperature === 1 ? s : b.mul(s, invT), -1);
        const lt = b.logSoftmax(o.temperature === 1 ? Tch[c]! : b.mul(Tch[c]!, invT), -1);
        const pt = b.exp(lt);
        kdParts.push(b.reduceSum(b.mul(pt, b.sub(lt, ls)), [0, 1], false));
        if (o.gradient) gKd = b.mul(b.sub(b.exp(ls), pt), kdCoef());
        if (o.temperature === 1) lsT1 = ls;
      }
      if (ce) {
        const ls = lsT1 ?? b.logSoftmax(s, -1);
        const [picked] = b.node('GatherElements', [ls, idx[c]!], [{ dtype, shape: [sizes[c]!, 1] }], { axis: { kind: 'int', value: 1 } });
        ceParts.push(b.reduceSum(b.mul(picked!, maskF[c]!), [0, 1], false));
        if (o.gradient) {
          // (softmax(s) − onehot)·mask·w/M: scale the probabilities, then subtract at the target column.
          const scale = b.div(b.mul(maskF[c]!, wCe), ceDen!); // [n, 1]
          const probs = b.mul(b.exp(ls), scale);
          const [sc] = b.node('ScatterElements', [probs, idx[c]!, b.neg(scale)], [{ dtype, shape: [sizes[c]!, V!] }], {
            axis: { kind: 'int', value: 1 },
            reduction: { kind: 'string', value: 'add' },
          });
          gCe = sc!;
        }
      }
      if (o.gradient) grads.push(gKd && gCe ? b.add(gKd, gCe) : (gKd ?? gCe)!);
    });

    const total = (parts: Value[]) => (parts.length === 1 ? parts[0]! : b.node('Sum', parts, [{ dtype, shape: [] }])[0]!);
    const out: LossValues = { loss: undefined as unknown as Value };
    if (kd) out.kdLoss = b.div(total(kdParts), P, { name: KD_LOSS });
    if (ce) out.ceLoss = b.div(b.neg(total(ceParts)), ceDen!, { name: CE_LOSS });
    if (o.loss === 'kd') out.loss = b.identity(out.kdLoss!, { name: LOSS });
    else if (o.loss === 'ce') out.loss = b.identity(out.ceLoss!, { name: LOSS });
    else out.loss = b.add(b.mul(out.kdLoss!, wKd), b.mul(out.ceLoss!, wCe), { name: LOSS });
    if (o.gradient) {
      const g = grads.length === 1 ? grads[0]! : b.concat(grads, 0);
      out.dLogits = b.reshape(g, [B!, T!, V!], { name: D_LOGITS });
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
