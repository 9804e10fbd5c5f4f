// Streaming per-channel variance in float64 (Chan et al.'s pairwise update: each batch's mean and sum of
// squared deviations are computed in two passes, then combined), for FLAP's Var(x_j). Stable when the
// mean is large against the spread, unlike Σx² − (Σx)²/n. `addMoments` takes groups already reduced to
// (mean, m2) elsewhere (the engine reduces each calibration row in the graph).

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

  /**
   * Adds groups of samples already reduced to their moments: `means` and `m2s` [groups, channels] with
   * m2 = Σ (x − group mean)² over `samplesPerGroup` samples each (e.g. the engine's per-row
   * `layers.N.stats.<tap>.mean` / `.m2` over seq tokens). Groups are combined one by one (Chan et al.),
   * in float64; the result equals `add` on the samples up to rounding.
   */
  addMoments(means: ArrayLike<number>, m2s: ArrayLike<number>, groups: number, samplesPerGroup: number): void {
    const C = this.channels;
    checkPositiveInt(`${this.name}: groups`, groups);
    checkPositiveInt(`${this.name}: samples per group`, samplesPerGroup);
    checkLength(`${this.name} means`, means, groups * C, `[${groups}, ${C}]`);
    checkLength(`${this.name} m2`, m2s, groups * C, `[${groups}, ${C}]`);
    for (let i = 0; i < groups * C; i++) {
      if (!Number.isFinite(means[i]!) || !Number.isFinite(m2s[i]!) || m2s[i]! < 0) {
        throw new HybridCompressError('NON_FINITE', `${this.name}: ${Number.isFinite(m2s[i]!) && Number.isFinite(means[i]!) ? 'negative sum of squared deviations' : 'non-finite activation'} in group ${Math.floor(i / C)}, channel ${i % C}; the model or its inputs produce NaN/Inf`, { tensor: this.name });
      }
    }
    const gMean = new Float64Array(C);
    const gM2 = new Float64Array(C);
    for (let r = 0; r < groups; r++) {
      for (let c = 0; c < C; c++) {
        gMean[c] = means[r * C + c]!;
        gM2[c] = m2s[r * C + c]!;
      }
      this.combine(samplesPerGroup, gMean, gM2);
    }
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
