// Streaming per-channel variance in float64 (Chan et al.'s pairwise update: each batch's mean and sum of
// squared deviations are computed in two passes, then combined), for FLAP's Var(x_j). Stable when the
// mean is large against the spread, unlike Σx² − (Σx)²/n.

import { HybridCompressError } from '../errors';
import { checkLength, checkPositiveInt, readNumberArray, stateError } from './checks';

export interface VarianceAccumulatorState {
  kind: 'variance';
  channels: number;
  count: number;
  mean: number[];
  m2: number[];
}

export class VarianceAccumulator {
  private readonly mu: Float64Array;
  private readonly m2: Float64Array;
  private n = 0;

  constructor(
    readonly channels: number,
    readonly name = 'activation',
  ) {
    checkPositiveInt(`${name}: channels`, channels);
    this.mu = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  /** Samples (tokens) seen so far. */
  get count(): number {
    return this.n;
  }

  get mean(): Float64Array {
    return this.mu.slice();
  }

  /** Adds `samples` vectors laid out [samples, channels] (e.g. rows·seq tokens of a tap). */
  add(batchData: ArrayLike<number>, samples: number, channels: number): void {
    if (channels !== this.channels) {
      throw new HybridCompressError('SHAPE_MISMATCH', `${this.name}: batch has ${channels} channels, the accumulator ${this.channels}`, { tensor: this.name });
    }
    checkPositiveInt(`${this.name}: samples`, samples);
    checkLength(this.name, batchData, samples * channels, `[${samples}, ${channels}]`);
    const bMean = new Float64Array(channels);
    for (let s = 0; s < samples; s++) for (let c = 0; c < channels; c++) bMean[c]! += batchData[s * channels + c]!;
    for (let c = 0; c < channels; c++) {
      bMean[c]! /= samples;
      if (!Number.isFinite(bMean[c]!)) {
        throw new HybridCompressError('NON_FINITE', `${this.name}: non-finite activation in channel ${c}; the model or its inputs produce NaN/Inf`, { tensor: this.name });
      }
    }
    const bM2 = new Float64Array(channels);
    for (let s = 0; s < samples; s++) {
      for (let c = 0; c < channels; c++) {
        const d = batchData[s * channels + c]! - bMean[c]!;
        bM2[c]! += d * d;
      }
    }
    this.combine(samples, bMean, bM2);
  }

  private combine(nb: number, bMean: Float64Array, bM2: Float64Array): void {
    const na = this.n;
    const n = na + nb;
    for (let c = 0; c < this.channels; c++) {
      const delta = bMean[c]! - this.mu[c]!;
      this.mu[c]! += (delta * nb) / n;
      this.m2[c]! += bM2[c]! + (delta * delta * na * nb) / n;
    }
    this.n = n;
  }

  /** Population variance Σ(x − mean)² / count per channel (FLAP ranks within a layer, so the 1/n vs 1/(n−1) choice does not change rankings). */
  variance(): Float64Array {
    if (this.n === 0) throw new HybridCompressError('DATA_INVALID', `${this.name}: no samples were added, the variance is undefined`, { tensor: this.name });
    return this.m2.map((v) => v / this.n);
  }

  merge(other: VarianceAccumulator): this {
    if (other.channels !== this.channels) {
      throw new HybridCompressError('SHAPE_MISMATCH', `${this.name}: cannot merge ${other.channels} channels into ${this.channels}`, { tensor: this.name });
    }
    if (other.n > 0) this.combine(other.n, other.mu, other.m2);
    return this;
  }

  toJSON(): VarianceAccumulatorState {
    return { kind: 'variance', channels: this.channels, count: this.n, mean: Array.from(this.mu), m2: Array.from(this.m2) };
  }

  static fromJSON(state: unknown, name = 'activation'): VarianceAccumulator {
    const s = state as Partial<VarianceAccumulatorState> | null;
    if (!s || typeof s !== 'object' || s.kind !== 'variance') throw stateError(name, 'is not a variance accumulator (kind "variance")');
    if (!Number.isInteger(s.channels) || s.channels! < 1) throw stateError(name, 'has no positive integer "channels"');
    if (!Number.isInteger(s.count) || s.count! < 0) throw stateError(name, 'has no non-negative integer "count"');
    const acc = new VarianceAccumulator(s.channels!, name);
    acc.mu.set(readNumberArray(name, s.mean, s.channels!));
    acc.m2.set(readNumberArray(name, s.m2, s.channels!));
    acc.n = s.count!;
    return acc;
  }
}
