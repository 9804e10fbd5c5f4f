// Named fixture configurations shared by tests, benches and the `fixture` command.
import type { FixtureOptions } from './fixtures';

/** The inference bench model of bench/forward.ts (13.8M parameters). */
export const BENCH_FIXTURE: FixtureOptions = {
  family: 'nemotron_h',
  vocabSize: 4096,
  hiddenSize: 512,
  pattern: 'M-M*M-M-',
  mambaHeads: 16,
  mambaHeadDim: 32,
  nGroups: 4,
  stateSize: 64,
  convKernel: 4,
  intermediateSize: 1536,
  attentionHeads: 8,
  kvHeads: 2,
  attentionHeadDim: 64,
  tieEmbeddings: false,
  chunkSize: 128,
};

/** The training bench student of bench/train.ts: the bench model with hidden 384, FFN 768, 8 Mamba heads (2 per group). */
export const BENCH_STUDENT: FixtureOptions = { ...BENCH_FIXTURE, hiddenSize: 384, intermediateSize: 768, mambaHeads: 8 };
