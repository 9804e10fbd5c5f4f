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

/**
 * Minitron-SSM Table 1 (paper.md §6.2): the 25 candidates after lightweight KD, best first, as
 * [layers, hidden, FFN, Mamba heads, head channels]. #1 is Nemotron-H-4B; #25 has more than 4B parameters.
 */
export const PAPER_TABLE_1: readonly (readonly [number, number, number, number, number])[] = [
  [52, 3072, 12288, 112, 64], [52, 3072, 10752, 128, 64], [52, 3328, 9984, 112, 64], [52, 3072, 12288, 112, 60], [52, 3072, 12288, 120, 56],
  [52, 3072, 13056, 112, 56], [44, 3072, 14592, 128, 64], [44, 3584, 10752, 120, 64], [52, 3072, 11520, 112, 64], [52, 3072, 13056, 96, 64],
  [52, 3072, 13824, 128, 48], [52, 3072, 12288, 104, 62], [52, 3072, 13056, 104, 60], [52, 3072, 13056, 96, 62], [52, 3072, 14592, 96, 56],
  [48, 3072, 12288, 128, 64], [48, 3328, 9984, 128, 64], [52, 3072, 13824, 96, 58], [52, 3072, 11520, 128, 56], [44, 3328, 11648, 128, 64],
  [48, 3072, 13824, 112, 64], [48, 3328, 11648, 112, 64], [52, 3072, 16128, 64, 64], [26, 4096, 21504, 128, 64], [36, 4096, 21504, 128, 64],
];
