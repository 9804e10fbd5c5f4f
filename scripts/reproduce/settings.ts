// The fixed settings of `npm run reproduce`: one set for the real run, one tiny set (--quick) that only
// checks the plumbing. Every number that shapes a result lives here, so RESULTS.md can print them all.

export interface CalibrationPart {
  /** Training-split rows × tokens for the activation scores (and block importance). */
  samples: number;
  seqLen: number;
  batch: number;
  /** Rows for the paper's KL layer metric (each layer dropped in turn). */
  depthSamples: number;
  seed: number;
}

export interface EvalPart {
  /** Held-out rows × tokens, a seeded shuffle of val.txt documents: the same rows for every model. */
  samples: number;
  seqLen: number;
  batch: number;
  seed: number;
}

export interface KdPart {
  steps: number;
  batch: number;
  seqLen: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  clip: number;
  temperature: number;
  seed: number;
}

export interface ReproduceSettings {
  quick: boolean;
  calibration: CalibrationPart;
  eval: EvalPart;
  kd: KdPart;
  /** Seeds of the random-importance baseline. */
  randomSeeds: number[];
  /** Losses closer than this (nats/token) are reported as a tie, not a win. */
  tieNats: number;
}

// KD budget, measured on the 2-core machine (AMD EPYC) with the stand-in teacher while other jobs shared
// it: one KD step (student forward+backward and teacher forward, 8 × 128 tokens) took 0.48 s (1.2–1.8 s
// under heavier load), a held-out evaluation 3–5 s, the calibration with the KL layer metric 100 s.
// Ten retraining runs of 200 steps plus ~60 evaluations come to ~25 minutes on a quiet machine, so the
// whole script stays under 45 minutes even when it shares the CPU.
export const FULL: ReproduceSettings = {
  quick: false,
  calibration: { samples: 64, seqLen: 256, batch: 8, depthSamples: 64, seed: 2 },
  eval: { samples: 64, seqLen: 256, batch: 8, seed: 1234 },
  kd: { steps: 200, batch: 8, seqLen: 128, lr: 1e-3, minLr: 1e-4, warmupSteps: 20, weightDecay: 0.01, clip: 1, temperature: 1, seed: 1 },
  randomSeeds: [1, 2, 3],
  tieNats: 0.01,
};

export const QUICK: ReproduceSettings = {
  quick: true,
  calibration: { samples: 8, seqLen: 64, batch: 4, depthSamples: 4, seed: 2 },
  eval: { samples: 4, seqLen: 64, batch: 4, seed: 1234 },
  kd: { steps: 3, batch: 2, seqLen: 32, lr: 1e-3, minLr: 1e-4, warmupSteps: 1, weightDecay: 0.01, clip: 1, temperature: 1, seed: 1 },
  randomSeeds: [1, 2],
  tieNats: 0.01,
};
