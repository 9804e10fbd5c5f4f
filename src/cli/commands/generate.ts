// `hybrid-compress generate`: greedy continuation of a prompt (a sanity check that a model still speaks).

import type { Command } from '../command';
import { optEnum, optInt, optString, parseCommandArgs, requirePositional } from '../args';
import { HybridCompressError } from '../../core/errors';
import { runJob } from '../../core/jobs/index';
import type { GenerateResult } from '../../core/eval/generate';
import { DEVICE_CHOICES } from '../job-options';
import { resolve } from 'node:path';

const usage = 'hybrid-compress generate <model_dir> --prompt "..." [--max-new-tokens 32] [--device auto|cpu|webgpu|cuda] [--json]';

export const generateCommand: Command = {
  name: 'generate',
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, { prompt: { type: 'string' }, 'max-new-tokens': { type: 'string' }, device: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' } }, usage);
    const prompt = optString(values, 'prompt');
    if (prompt === undefined) throw new HybridCompressError('OPTION_INVALID', `--prompt is required\nusage: ${usage}`, { option: 'prompt' });
    const res = await runJob<GenerateResult>(
      'generate',
      {
        model: resolve(requirePositional(positionals, 0, 'model_dir', usage)),
        prompt,
        maxNewTokens: optInt(values, 'max-new-tokens', 32, { min: 1, max: 4096 }),
        device: optEnum(values, 'device', DEVICE_CHOICES, 'auto'),
        threads: values['threads'] === undefined ? undefined : optInt(values, 'threads', 0, { min: 0 }),
      },
      { signal: ctx.signal },
    );
    if (values['json']) ctx.stdout.write(JSON.stringify(res) + '\n');
    else ctx.stdout.write(`${res.prompt}\x1b[1m${res.completion}\x1b[0m\n(${res.tokens.length} tokens, ${res.tokensPerS.toFixed(1)} tokens/s on ${res.ep})\n`.replace(/\x1b\[[0-9;]*m/g, ctx.isTTY ? '$&' : ''));
    return 0;
  },
};
