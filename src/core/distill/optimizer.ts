// AdamW (decoupled weight decay, as torch.optim.AdamW) over Float32Array parameters, plus global-norm
// gradient clipping. State is plain Float32Arrays so checkpoints can store it as safetensors and a
// resumed run continues bit for bit. With an OptimizerMemory (optimizer-memory.ts) the parameters and
// moments live in WebAssembly memory and a SIMD kernel applies the update, to the same bits as the loop
// here, which stays as the path for everything else and as the reference.

import type { TensorRole } from '../arch/spec';
import type { AdamWScalars, OptimizerMemory } from './optimizer-memory';

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

  /**
   * `memory`: the parameters' values are `memory.value(k)` (in order) and the update runs there; m and v
   * come from it too. Without it, plain arrays and the loop below.
   */
  constructor(
    params: { name: string; value: Float32Array; decay: boolean }[],
    readonly config: AdamWConfig = DEFAULT_ADAMW,
    private readonly memory?: OptimizerMemory,
  ) {
    if (memory && (memory.tensors !== params.length || params.some((p, k) => p.value !== memory.value(k)))) {
      throw new Error('AdamW: the parameter values must be the optimizer memory\'s own arrays, in order');
    }
    this.params = params.map((p, k) => ({ ...p, ...(memory ? memory.moments(k) : { m: new Float32Array(p.value.length), v: new Float32Array(p.value.length) }) }));
  }

  /** Whether updates run in the SIMD kernel. */
  get usesKernel(): boolean {
    return this.memory !== undefined;
  }

  /**
   * Applies one update with gradients in the same order as `params`, first scaled by `clip` (clipFactor:
   * the same float32 values as clipGradients' in-place scaling; the kernel path leaves `grads` as they are).
   */
  update(grads: readonly Float32Array[], lr: number, clip = 1): void {
    this.step++;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.config;
    const bc1 = 1 - b1 ** this.step;
    const bc2 = 1 - b2 ** this.step;
    const stepSize = lr / bc1;
    // √v̂ = √v · (1/√bc2): one division per element fewer than torch's √v / √bc2 (the kernel is bound by
    // float64 divisions), a difference of an ulp of float64, below the float32 the result is stored in.
    const invSqrtBc2 = 1 / Math.sqrt(bc2);
    if (clip !== 1 && !this.memory) scaleGradients(grads, clip);
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k]!;
      const g = grads[k]!;
      if (g.length !== p.value.length) throw new Error(`gradient of ${p.name} has ${g.length} elements, parameter has ${p.value.length}`);
      const decayFactor = p.decay ? 1 - lr * weightDecay : 1;
      if (this.memory) {
        const scalars: AdamWScalars = { b1, oneMinusB1: 1 - b1, b2, oneMinusB2: 1 - b2, decay: decayFactor, stepSize, invSqrtBc2, eps, clip };
        this.memory.update(k, g, scalars);
        continue;
      }
      const w = p.value;
      const m = p.m;
      const v = p.v;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!;
        const mi = (m[i] = b1 * m[i]! + (1 - b1) * gi);
        const vi = (v[i] = b2 * v[i]! + (1 - b2) * gi * gi);
        w[i] = w[i]! * decayFactor - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
      }
    }
  }
}

/** Global L2 norm of all gradients (float64 accumulation; gradients in `memory` by its SIMD kernel). */
export function globalNorm(grads: readonly Float32Array[], memory?: OptimizerMemory): number {
  let s = 0;
  for (const g of grads) {
    const fast = memory?.sumOfSquares(g);
    if (fast !== undefined) s += fast;
    else for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  }
  return Math.sqrt(s);
}

/** The factor torch's clip_grad_norm_ scales gradients by for a global norm `norm` (1: no clipping). */
export function clipFactor(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}

function scaleGradients(grads: readonly Float32Array[], c: number): void {
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i]! *= c;
}

/** Scales gradients in place so their global norm is at most `maxNorm` (torch's clip_grad_norm_); returns the norm before clipping. */
export function clipGradients(grads: readonly Float32Array[], maxNorm: number): number {
  const norm = globalNorm(grads);
  const c = clipFactor(norm, maxNorm);
  if (c !== 1) scaleGradients(grads, c);
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
