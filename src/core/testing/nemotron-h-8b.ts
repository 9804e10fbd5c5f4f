// Fixture options with the exact Nemotron-H-8B shapes (research/hf-formats.md §1–2), and the 4B target.
import type { FixtureOptions } from './fixtures';

export const NEMOTRON_H_8B_PATTERN = 'M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-';

export const NEMOTRON_H_8B: FixtureOptions = {
  family: 'nemotron_h',
  vocabSize: 131072,
  hiddenSize: 4096,
  pattern: NEMOTRON_H_8B_PATTERN,
  intermediateSize: 21504,
  mambaHeads: 128,
  mambaHeadDim: 64,
  stateSize: 128,
  nGroups: 8,
  convKernel: 4,
  attentionHeads: 32,
  kvHeads: 8,
  attentionHeadDim: 128,
  tieEmbeddings: false,
  dtype: 'BF16',
  // 16 GB of seeded values, generated and written chunk by chunk; add `sparse: true` for a shape-only file.
  stream: true,
};

export const NEMOTRON_H_8B_PARAMS = 8_100_852_736;
export const NEMOTRON_H_4B_PARAMS = 4_489_223_040;

export const NEMOTRON_H_4B: FixtureOptions = { ...NEMOTRON_H_8B, hiddenSize: 3072, intermediateSize: 12288, mambaHeads: 112 };
