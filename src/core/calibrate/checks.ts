// Argument checks shared by the importance functions: every mistake becomes a typed error that says
// which argument was wrong and what would be valid.

import { HybridCompressError } from '../errors';

export function checkLength(what: string, data: ArrayLike<number>, expected: number, shape: string): void {
  if (data.length !== expected) {
    throw new HybridCompressError('SHAPE_MISMATCH', `${what}: got ${data.length} values, shape ${shape} needs ${expected}`, { tensor: what });
  }
}

export function checkPositiveInt(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new HybridCompressError('OPTION_INVALID', `${what} is ${n}; it must be a positive integer`, { option: what });
}

export function checkDivides(what: string, total: number, groups: number): void {
  checkPositiveInt(what, groups);
  if (total % groups !== 0) throw new HybridCompressError('OPTION_INVALID', `${what}: ${total} is not divisible into ${groups} equal groups`, { option: what });
}

/** NaN scores cannot be ranked; they mean the calibration pass diverged. */
export function checkNoNaN(what: string, scores: ArrayLike<number>): void {
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new HybridCompressError('NON_FINITE', `${what}: score ${i} is NaN (non-finite activations in the calibration pass?)`, { tensor: what });
  }
}

export function stateError(what: string, problem: string): HybridCompressError {
  return new HybridCompressError('DATA_INVALID', `${what}: saved accumulator state ${problem}; delete the run folder's partial state to start over`, { rule: 'accumulator-state' });
}

/** A JSON array of finite numbers of the given length, as Float64Array. */
export function readNumberArray(what: string, v: unknown, length: number): Float64Array {
  if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw stateError(what, `needs an array of ${length} finite numbers`);
  }
  return Float64Array.from(v as number[]);
}
