// Minitron's (batch = L2, seq = mean) activation importance for one hooked activation a[row, t, c]:
//   score[c] = sqrt( Σ_rows ( mean_t |a[row, t, c]| )² )
// The running Σ_rows(·)² is kept in float64 so calibration can stop, resume (toJSON/fromJSON) or be
// split across workers (merge) and still give the same score as one uninterrupted pass.

import { HybridCompressError } from '../errors';
import { checkLength, checkPositiveInt, readNumberArray, stateError } from './checks';

export interface ActivationAccumulatorState {
  kind: 'activation';
  channels: number;
  rows: number;
  sumSquares: number[];
}

export class ActivationAccumulator {
  private readonly sums: Float64Array;
  private rowCount = 0;

  /** `name` (e.g. the tap name) only labels error messages. */
  constructor(
    readonly channels: number,
    readonly name = 'activation',
  ) {
    checkPositiveInt(`${name}: channels`, channels);
    this.sums = new Float64Array(channels);
  }

  /** Calibration rows seen so far. */
  get rows(): number {
    return this.rowCount;
  }

  /** Σ_rows (mean_t |a|)², per channel (a copy). */
  get sumSquares(): Float64Array {
    return this.sums.slice();
  }

  /** Adds a batch laid out [rows, seq, channels] row-major. */
  add(batchData: ArrayLike<number>, rows: number, seq: number, channels: number): void {
    if (channels !== this.channels) {
      throw new HybridCompressError('SHAPE_MISMATCH', `${this.name}: batch has ${channels} channels, the accumulator ${this.channels}`, { tensor: this.name });
    }
    checkPositiveInt(`${this.name}: rows`, rows);
    checkPositiveInt(`${this.name}: seq`, seq);
    checkLength(this.name, batchData, rows * seq * channels, `[${rows}, ${seq}, ${channels}]`);
    const rowMeans = new Float64Array(rows * channels);
    for (let r = 0; r < rows; r++) {
      for (let t = 0; t < seq; t++) {
        const o = (r * seq + t) * channels;
        for (let c = 0; c < channels; c++) rowMeans[r * channels + c]! += Math.abs(batchData[o + c]!);
      }
      for (let c = 0; c < channels; c++) rowMeans[r * channels + c]! /= seq;
    }
    this.addRowMeans(rowMeans, rows);
  }

  /**
   * Adds rows already reduced over their tokens: `rowMeans` [rows, channels] = mean_t |a[row, t, c]|
   * (e.g. the engine's `layers.N.stats.<tap>.absmean`). Same result as `add` on the full rows.
   */
  addRowMeans(rowMeans: ArrayLike<number>, rows: number): void {
    const channels = this.channels;
    checkPositiveInt(`${this.name}: rows`, rows);
    checkLength(this.name, rowMeans, rows * channels, `[${rows}, ${channels}]`);
    // Validate before touching the sums, so a bad batch leaves the state as it was.
    for (let i = 0; i < rows * channels; i++) {
      const m = rowMeans[i]!;
      if (!Number.isFinite(m) || m < 0) {
        throw new HybridCompressError('NON_FINITE', `${this.name}: ${Number.isFinite(m) ? 'negative mean |a|' : 'non-finite activation'} in row ${Math.floor(i / channels)} of the batch, channel ${i % channels}; the model or its inputs produce NaN/Inf`, { tensor: this.name });
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < channels; c++) {
        const m = rowMeans[r * channels + c]!;
        this.sums[c]! += m * m;
      }
    }
    this.rowCount += rows;
  }

  /** score[c] = sqrt(Σ_rows (mean_t |a|)²). */
  score(): Float64Array {
    return this.sums.map(Math.sqrt);
  }

  /** Adds another accumulator's rows (same channels) into this one. */
  merge(other: ActivationAccumulator): this {
    if (other.channels !== this.channels) {
      throw new HybridCompressError('SHAPE_MISMATCH', `${this.name}: cannot merge ${other.channels} channels into ${this.channels}`, { tensor: this.name });
    }
    for (let c = 0; c < this.channels; c++) this.sums[c]! += other.sums[c]!;
    this.rowCount += other.rowCount;
    return this;
  }

  toJSON(): ActivationAccumulatorState {
    return { kind: 'activation', channels: this.channels, rows: this.rowCount, sumSquares: Array.from(this.sums) };
  }

  static fromJSON(state: unknown, name = 'activation'): ActivationAccumulator {
    const s = state as Partial<ActivationAccumulatorState> | null;
    if (!s || typeof s !== 'object' || s.kind !== 'activation') throw stateError(name, 'is not an activation accumulator (kind "activation")');
    if (!Number.isInteger(s.channels) || s.channels! < 1) throw stateError(name, 'has no positive integer "channels"');
    if (!Number.isInteger(s.rows) || s.rows! < 0) throw stateError(name, 'has no non-negative integer "rows"');
    const acc = new ActivationAccumulator(s.channels!, name);
    acc.sums.set(readNumberArray(name, s.sumSquares, s.channels!));
    acc.rowCount = s.rows!;
    return acc;
  }
}

/** Embedding-channel importance: the per-layer pre-norm scores summed over layers. */
export function sumLayerScores(perLayer: readonly ArrayLike<number>[]): Float64Array {
  if (perLayer.length === 0) throw new HybridCompressError('OPTION_INVALID', 'sumLayerScores: no layer scores given; pass one score vector per layer', { option: 'perLayer' });
  const n = perLayer[0]!.length;
  const out = new Float64Array(n);
  perLayer.forEach((s, i) => {
    checkLength(`layer scores ${i}`, s, n, `[${n}]`);
    for (let c = 0; c < n; c++) out[c]! += s[c]!;
  });
  return out;
}
