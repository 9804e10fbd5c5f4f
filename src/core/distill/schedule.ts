// Learning-rate schedule: linear warmup to `lr`, then cosine decay to `minLr` at `totalSteps`
// (Megatron/NeMo's "cosine with warmup"; the paper uses a 60-step warmup).

export interface LrSchedule {
  lr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** LR for optimizer step `step` (1-based: the first update uses step 1). */
export function learningRate(s: LrSchedule, step: number): number {
  if (s.warmupSteps > 0 && step <= s.warmupSteps) return (s.lr * step) / s.warmupSteps;
  const decaySteps = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - s.warmupSteps) / decaySteps));
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}
