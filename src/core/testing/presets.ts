// Named fixture configurations shared by tests, benches and the `fixture` command.
import type { FixtureOptions } from './fixtures';
import type { ActionSchema } from '../util/option-schema';
import { NEMOTRON_H_4B, NEMOTRON_H_8B } from './nemotron-h-8b';

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

/** The `fixture` command's presets: tiny and mamba2 are the test models (with a tokenizer), 8b/4b Nemotron-H's shapes. */
export const FIXTURE_PRESETS: Readonly<Record<string, FixtureOptions>> = {
  tiny: { family: 'nemotron_h', pattern: 'M-M*M-', hiddenSize: 64, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, tokenizer: true },
  mamba2: { family: 'mamba2', numLayers: 4, hiddenSize: 64, mambaHeads: 8, mambaHeadDim: 16, nGroups: 2, tokenizer: true },
  bench: BENCH_FIXTURE,
  '8b': NEMOTRON_H_8B,
  '4b': NEMOTRON_H_4B,
};

export const FIXTURE_SCHEMA: ActionSchema = {
  command: 'fixture',
  fields: [
    { key: 'out', type: 'path', positional: true, required: true, placeholder: 'out_dir', help: 'folder to write the checkpoint to (must not exist, or be an earlier fixture with --force)' },
    { key: 'preset', type: 'string', choices: Object.keys(FIXTURE_PRESETS), default: 'tiny', help: 'model shape: tiny/mamba2 test models, bench, or Nemotron-H 8B/4B shapes (9-16 GB of seeded weights)' },
    { key: 'seed', type: 'integer', min: 0, default: 1234, placeholder: 'N', help: 'seed of the weights (same seed, same bytes)' },
    { key: 'sparse', type: 'boolean', help: 'shape only: headers with a file hole for the data (no disk used; seconds even at 8B)' },
    { key: 'dtype', type: 'string', choices: ['F32', 'BF16', 'F16'], help: "weight dtype (default: the preset's)" },
    { key: 'force', type: 'boolean', help: 'replace an earlier output of this tool at out_dir' },
  ],
};
