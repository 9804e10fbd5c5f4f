import type { Command } from '../command';
import { optInt, optString, parseCommandArgs, requirePositional } from '../args';
import { HybridCompressError } from '../../core/errors';
import { checkOutput } from '../../core/runs/output-guard';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../core/testing/fixtures';
import { NEMOTRON_H_4B, NEMOTRON_H_8B } from '../../core/testing/nemotron-h-8b';
import { BENCH_FIXTURE } from '../../core/testing/presets';

const usage = 'hybrid-compress fixture <out_dir> [--preset tiny|mamba2|bench|8b|4b] [--seed S] [--sparse] [--dtype F32|BF16|F16] [--force]';

const PRESETS: Record<string, FixtureOptions> = {
  tiny: { family: 'nemotron_h', pattern: 'M-M*M-', hiddenSize: 64, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, tokenizer: true },
  mamba2: { family: 'mamba2', numLayers: 4, hiddenSize: 64, mambaHeads: 8, mambaHeadDim: 16, nGroups: 2, tokenizer: true },
  bench: BENCH_FIXTURE,
  '8b': NEMOTRON_H_8B,
  '4b': NEMOTRON_H_4B,
};

export const fixtureCommand: Command = {
  name: 'fixture',
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(
      ctx.argv,
      { preset: { type: 'string' }, seed: { type: 'string' }, sparse: { type: 'boolean' }, dtype: { type: 'string' }, force: { type: 'boolean' } },
      usage,
    );
    const out = requirePositional(positionals, 0, 'out_dir', usage);
    const presetName = optString(values, 'preset') ?? 'tiny';
    const preset = PRESETS[presetName];
    if (!preset) throw new HybridCompressError('OPTION_INVALID', `--preset must be one of ${Object.keys(PRESETS).join('|')}, got "${presetName}"`, { option: 'preset' });
    checkOutput(out, { option: 'out_dir', force: values['force'] === true, kind: 'checkpoint', sources: [] });
    const dtype = optString(values, 'dtype');
    if (dtype && !['F32', 'BF16', 'F16'].includes(dtype)) throw new HybridCompressError('OPTION_INVALID', `--dtype must be F32, BF16 or F16, got "${dtype}"`, { option: 'dtype' });
    const f = await writeFixtureCheckpoint(out, {
      ...preset,
      seed: optInt(values, 'seed', 1234, { min: 0 }),
      ...(values['sparse'] ? { sparse: true } : {}),
      ...(dtype ? { dtype: dtype as FixtureOptions['dtype'] } : {}),
    });
    ctx.stdout.write(`wrote ${presetName} fixture (${f.spec.family}, ${f.spec.params.total.toLocaleString('en-US')} parameters) to ${out}\n`);
    return 0;
  },
};
