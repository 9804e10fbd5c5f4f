// AdamW (decoupled weight decay, as torch.optim.AdamW) over Float32Array parameters, plus global-norm
// gradient clipping. State is plain Float32Arrays so checkpoints can store it as safetensors and a
// resumed run continues bit for bit.

import type { TensorRole } from '../arch/spec';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 };

/** Norms, biases and the SSM scalars are not decayed (standard practice; decaying A_log would shrink memory). */
const NO_DECAY: ReadonlySet<TensorRole> = new Set<TensorRole>([
  'norm',
  'norm_f',
  'mixer_norm',
  'A_log',
  'D',
  'dt_bias',
  'conv_bias',
  'in_proj_bias',
  'out_proj_bias',
  'up_proj_bias',
  'down_proj_bias',
]);

export function decays(role: TensorRole, name: string): boolean {
  return !NO_DECAY.has(role) && !name.endsWith('.bias');
}

export interface ParamState {
  name: string;
  value: Float32Array;
  m: Float32Array;
  v: Float32Array;
  decay: boolean;
}

export class AdamW {
  readonly params: ParamState[];
  /** Number of updates applied so far. */
  step = 0;

  constructor(
    params: { name: string; value: Float32Array; decay: boolean }[],
    readonly config: AdamWConfig = DEFAULT_ADAMW,
  ) {
    this.params = params.map((p) => ({ ...p, m: new Float32Array(p.value.length), v: new Float32Array(p.value.length) }));
  }

  /** Applies one update with gradients in the same order as `params`. */
  update(grads: readonly Float32Array[], lr: number): void {
    this.step++;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.config;
    const bc1 = 1 - b1 ** this.step;
    const bc2 = 1 - b2 ** this.step;
    const stepSize = lr / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      const g = grads[k]!;
      if (g.length !== p.value.length) throw new Error(`gradient of ${p.name} has ${g.length} elements, parameter has ${p.value.length}`);
      const w = p.value;
      const m = p.m;
      const v = p.v;
      const decayFactor = p.decay ? 1 - lr * weightDecay : 1;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!;
        const mi = (m[i] = b1 * m[i]! + (1 - b1) * gi);
        const vi = (v[i] = b2 * v[i]! + (1 - b2) * gi * gi);
        w[i] = w[i]! * decayFactor - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
      }
    }
  }
}

/** Global L2 norm of all gradients (float64 accumulation). */
export function globalNorm(grads: readonly Float32Array[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
}

/** Scales gradients in place so their global norm is at most `maxNorm` (torch's clip_grad_norm_); returns the norm before clipping. */
export function clipGradients(grads: readonly Float32Array[], maxNorm: number): number {
  const norm = globalNorm(grads);
  if (maxNorm > 0 && norm > maxNorm) {
    const c = maxNorm / (norm + 1e-6);
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i]! *= c;
  }
  return norm;
}

/** Index of the first gradient tensor holding a NaN or ±Inf, or -1. */
export function firstNonFinite(grads: readonly Float32Array[]): number {
  for (let k = 0; k < grads.length; k++) {
    const g = grads[k]!;
    for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i]!)) return k;
  }
  return -1;
}
