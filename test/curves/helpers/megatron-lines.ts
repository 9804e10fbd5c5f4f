// Builds log lines exactly as Megatron-LM (megatron/training/training.py, training_log and
// evaluate_and_print_results at d98e8a64) and Megatron-Bridge (training/utils/train_utils.py and
// training/eval.py at 067f987d) print them, emulating Python's format specs.

/** Python '{:.6E}'. */
export function pyE(x: number): string {
  const [m, e] = x.toExponential(6).toUpperCase().split('E') as [string, string];
  const sign = e.startsWith('-') ? '-' : '+';
  return `${m}E${sign}${e.replace(/^[-+]/, '').padStart(2, '0')}`;
}
/** Python '{:Nd}'. */
export const pyD = (n: number, w: number) => String(n).padStart(w);
/** Python '%Y-%m-%d %H:%M:%S' (+ '.%f') of a UTC date. */
export function pyTime(ms: number, micro: boolean): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return micro ? `${base}.${p(d.getUTCMilliseconds(), 3)}000` : base;
}

export interface TrainFields {
  timeMs: number;
  iteration: number;
  trainIters: number;
  consumed: number;
  iterMs: number;
  tflops?: number;
  lr?: number;
  gbs: number;
  losses: [string, number][];
  lossScale: number;
  gradNorm?: number;
  paramsNorm?: number;
  maxAttnLogit?: number;
}

/** Megatron-LM (microsecond timestamp since Jan 2026; `learning rate` omitted when None). */
export function megatronLmTrainLine(f: TrainFields): string {
  let s = ` [${pyTime(f.timeMs, true)}]`;
  s += ` iteration ${pyD(f.iteration, 8)}/${pyD(f.trainIters, 8)} |`;
  s += ` consumed samples: ${pyD(f.consumed, 12)} |`;
  s += ` elapsed time per iteration (ms): ${f.iterMs.toFixed(1)} |`;
  if (f.tflops !== undefined) s += ` throughput per GPU (TFLOP/s/GPU): ${f.tflops.toFixed(1)} |`;
  if (f.lr !== undefined) s += ` learning rate: ${pyE(f.lr)} |`;
  s += ` global batch size: ${pyD(f.gbs, 5)} |`;
  for (const [k, v] of f.losses) if (v >= 0) s += ` ${k}: ${pyE(v)} |`;
  s += ` loss scale: ${f.lossScale.toFixed(1)} |`;
  if (f.gradNorm !== undefined) s += ` grad norm: ${f.gradNorm.toFixed(3)} |`;
  if (f.paramsNorm !== undefined) s += ` params norm: ${f.paramsNorm.toFixed(3)} |`;
  s += ` number of skipped iterations: ${pyD(0, 3)} |`;
  s += ` number of nan iterations: ${pyD(0, 3)} |`;
  return s;
}

/** Megatron-Bridge (whole-second timestamp, learning rate always printed, optional max attention logit). */
export function megatronBridgeTrainLine(f: TrainFields): string {
  let s = ` [${pyTime(f.timeMs, false)}]`;
  s += ` iteration ${pyD(f.iteration, 8)}/${pyD(f.trainIters, 8)} |`;
  s += ` consumed samples: ${pyD(f.consumed, 12)} |`;
  s += ` elapsed time per iteration (ms): ${f.iterMs.toFixed(1)} |`;
  if (f.tflops !== undefined) s += ` throughput per GPU (TFLOP/s/GPU): ${f.tflops.toFixed(1)} |`;
  s += ` learning rate: ${pyE(f.lr ?? 0)} |`;
  s += ` global batch size: ${pyD(f.gbs, 5)} |`;
  for (const [k, v] of f.losses) if (v >= 0) s += ` ${k}: ${pyE(v)} |`;
  s += ` loss scale: ${f.lossScale.toFixed(1)} |`;
  if (f.gradNorm !== undefined) s += ` grad norm: ${f.gradNorm.toFixed(3)} |`;
  if (f.paramsNorm !== undefined) s += ` params norm: ${f.paramsNorm.toFixed(3)} |`;
  if (f.maxAttnLogit !== undefined) s += ` max attention logit: ${f.maxAttnLogit.toFixed(3)} |`;
  s += ` number of skipped iterations: ${pyD(0, 3)} |`;
  s += ` number of nan iterations: ${pyD(0, 3)} |`;
  return s;
}

/** The three printed lines of an evaluation (dashes, values, dashes). */
export function validationLines(prefix: string, losses: [string, number][], suffix = ''): string[] {
  let s = ` validation${suffix} loss at ${prefix} | `;
  for (const [k, v] of losses) {
    s += `${k} value: ${pyE(v)} | `;
    s += `${k} PPL: ${pyE(Math.exp(Math.min(20, v)))} | `;
  }
  const dashes = '-'.repeat(s.length + 1);
  return [dashes, s, dashes];
}
