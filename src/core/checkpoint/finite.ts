// Naming the first non-finite weight of a checkpoint: a NaN or Inf in the weights makes every later
// number NaN (logits, loss, gradients), so errors name the tensor it started from rather than the first
// place it shows up.

import { HybridCompressError } from '../errors';
import type { Checkpoint } from './checkpoint';

/** First value of `a` that is NaN or ±Inf, or -1. */
export function firstNonFiniteIndex(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

/** The first tensor (in the checkpoint's order) holding a NaN or Inf, with the index and value; undefined when all are finite. */
export async function firstNonFiniteTensor(ckpt: Checkpoint): Promise<{ tensor: string; index: number; value: number } | undefined> {
  for (const name of ckpt.tensors.keys()) {
    const t = ckpt.tensors.get(name)!;
    if (t.dtype !== 'F32' && t.dtype !== 'BF16' && t.dtype !== 'F16' && t.dtype !== 'F64') continue;
    const v = await ckpt.readFloat32(name);
    const i = firstNonFiniteIndex(v);
    if (i >= 0) return { tensor: name, index: i, value: v[i]! };
  }
  return undefined;
}

/** The error for a non-finite result of `what` (e.g. "the teacher's logits"), naming the weight it came from when one is. */
export async function nonFiniteError(ckpt: Checkpoint, role: string, what: string): Promise<HybridCompressError> {
  const bad = await firstNonFiniteTensor(ckpt);
  if (bad) {
    return new HybridCompressError('NON_FINITE', `${role} ${ckpt.dir}: weight tensor "${bad.tensor}" holds ${bad.value} (element ${bad.index}), so ${what} are not finite; the checkpoint is damaged`, { tensor: bad.tensor, file: ckpt.dir });
  }
  return new HybridCompressError('NON_FINITE', `${role} ${ckpt.dir}: ${what} are not finite although every weight is; the numbers overflow (try float32 weights or shorter rows)`, { file: ckpt.dir });
}
