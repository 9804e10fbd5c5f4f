// FLAP importance (An et al., extended to SSMs by the paper, research/paper.md §3.4): input feature j of
// an output projection W [out, in] scores S_j = ‖W[:, j]‖² · Var(x_j), with the variance of x_j over all
// calibration tokens (VarianceAccumulator). Used on out_proj (Mamba, summed per head) and on down_proj
// (MLP neurons).

import { checkLength, checkPositiveInt } from './checks';

/** ‖W[:, j]‖² for every input column j of W (stored row-major [outFeatures, inFeatures], as PyTorch Linear), in float64. */
export function flapColumnNorms(w: ArrayLike<number>, outFeatures: number, inFeatures: number): Float64Array {
  checkPositiveInt('outFeatures', outFeatures);
  checkPositiveInt('inFeatures', inFeatures);
  checkLength('projection weight', w, outFeatures * inFeatures, `[${outFeatures}, ${inFeatures}]`);
  const norm2 = new Float64Array(inFeatures);
  for (let o = 0; o < outFeatures; o++) for (let j = 0; j < inFeatures; j++) norm2[j]! += w[o * inFeatures + j]! ** 2;
  return norm2;
}

/** S_j from the column norms (flapColumnNorms) and the input variances. */
export function flapFromNorms(norm2: ArrayLike<number>, variance: ArrayLike<number>): Float64Array {
  checkLength('input variance', variance, norm2.length, `[${norm2.length}]`);
  return Float64Array.from(norm2, (n, j) => n * variance[j]!);
}

/** S_j for every input column j of W (stored row-major [outFeatures, inFeatures], as PyTorch Linear). */
export function flapColumnScores(w: ArrayLike<number>, outFeatures: number, inFeatures: number, variance: ArrayLike<number>): Float64Array {
  checkLength('input variance', variance, inFeatures, `[${inFeatures}]`);
  return flapFromNorms(flapColumnNorms(w, outFeatures, inFeatures), variance);
}

/** Per-head FLAP score: the column scores summed over each head's headDim consecutive channels. */
export function flapHeadScores(columnScores: ArrayLike<number>, numHeads: number, headDim: number): Float64Array {
  checkPositiveInt('numHeads', numHeads);
  checkPositiveInt('headDim', headDim);
  checkLength('FLAP column scores', columnScores, numHeads * headDim, `[${numHeads}·${headDim}]`);
  const out = new Float64Array(numHeads);
  for (let h = 0; h < numHeads; h++) for (let c = 0; c < headDim; c++) out[h]! += columnScores[h * headDim + c]!;
  return out;
}
