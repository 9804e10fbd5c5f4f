// Importance formulas written out directly (float64, no shared code with the engine), for the calibration tests.

/** sqrt(Σ_rows (mean_t |a[row,t,c]|)²) written out directly. */
export function bruteActivation(a: Float64Array, rows: number, T: number, C: number): Float64Array {
  const out = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) {
      let m = 0;
      for (let t = 0; t < T; t++) m += Math.abs(a[(r * T + t) * C + c]!);
      s += (m / T) ** 2;
    }
    out[c] = Math.sqrt(s);
  }
  return out;
}
