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

/**
 * Section 4's architecture search (the product's `search`): the paper's width limits, steps coarser than
 * its default (a share of each teacher size) so that every candidate is scored in minutes, a short KD of
 * the top candidates (the paper's share) at the retraining LR used everywhere here.
 */
export interface SearchPart {
  /** Grid steps as shares of the teacher's hidden size, FFN width and Mamba head_dim (Mamba heads: every legal count, layers: every count). */
  stepShares: { hidden: number; ffn: number; headDim: number };
  /** Candidates lie between (1 − window) × the budget and the budget. */
  window: number;
  kdSteps: number;
  kdLr: number;
}

export interface ReproduceSettings {
  quick: boolean;
  calibration: CalibrationPart;
  eval: EvalPart;
  kd: KdPart;
  search: SearchPart;
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
  search: { stepShares: { hidden: 1 / 16, ffn: 1 / 8, headDim: 1 / 4 }, window: 0.05, kdSteps: 30, kdLr: 1e-3 },
  randomSeeds: [1, 2, 3],
  tieNats: 0.01,
};

export const QUICK: ReproduceSettings = {
  quick: true,
  calibration: { samples: 8, seqLen: 64, batch: 4, depthSamples: 4, seed: 2 },
  eval: { samples: 4, seqLen: 64, batch: 4, seed: 1234 },
  kd: { steps: 3, batch: 2, seqLen: 32, lr: 1e-3, minLr: 1e-4, warmupSteps: 1, weightDecay: 0.01, clip: 1, temperature: 1, seed: 1 },
  search: { stepShares: { hidden: 1 / 4, ffn: 1 / 4, headDim: 1 / 2 }, window: 0.1, kdSteps: 2, kdLr: 1e-3 },
  randomSeeds: [1, 2],
  tieNats: 0.01,
};
