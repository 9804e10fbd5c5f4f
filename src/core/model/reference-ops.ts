// Float64 building blocks of the reference forward (see reference.ts). Deliberately plain loops:
// this code is the test oracle, so it favours being obviously right over being fast.
// Matrices are row-major; a sequence activation is [T, width].

export type WeightArray = Float32Array | Float64Array;

/** y[t, o] = Σ_i x[t, i]·W[o, i] (+ b[o]) — PyTorch Linear with W stored [out, in]. */
export function linear(x: Float64Array, T: number, inF: number, w: WeightArray, outF: number, bias?: WeightArray): Float64Array {
  const y = new Float64Array(T * outF);
  for (let t = 0; t < T; t++) {
    const xo = t * inF;
    for (let o = 0; o < outF; o++) {
      const wo = o * inF;
      let s = bias ? bias[o]! : 0;
      for (let i = 0; i < inF; i++) s += x[xo + i]! * w[wo + i]!;
      y[t * outF + o] = s;
    }
  }
  return y;
}

/** RMSNorm over the last axis: w ⊙ x / sqrt(mean(x²) + eps). */
export function rmsNorm(x: Float64Array, T: number, width: number, w: WeightArray, eps: number): Float64Array {
  const y = new Float64Array(T * width);
  for (let t = 0; t < T; t++) {
    const o = t * width;
    let ss = 0;
    for (let i = 0; i < width; i++) ss += x[o + i]! * x[o + i]!;
    const inv = 1 / Math.sqrt(ss / width + eps);
    for (let i = 0; i < width; i++) y[o + i] = w[i]! * (x[o + i]! * inv);
  }
  return y;
}

export function sigmoid(u: number): number {
  return 1 / (1 + Math.exp(-u));
}

export function silu(u: number): number {
  return u * sigmoid(u);
}

/** torch.nn.functional.softplus with beta 1, threshold 20: the input itself above the threshold. */
export function softplusTorch(u: number): number {
  return u > 20 ? u : Math.log1p(Math.exp(u));
}

/** max(u, 0)² — Nemotron-H's MLP activation. */
export function relu2(u: number): number {
  return u > 0 ? u * u : 0;
}

/** Columns [from, from+count) of a [T, width] matrix, as a new [T, count] matrix. */
export function sliceColumns(x: Float64Array, T: number, width: number, from: number, count: number): Float64Array {
  const y = new Float64Array(T * count);
  for (let t = 0; t < T; t++) for (let i = 0; i < count; i++) y[t * count + i] = x[t * width + from + i]!;
  return y;
}
