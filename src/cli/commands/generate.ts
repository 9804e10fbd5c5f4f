// `hybrid-compress generate`: greedy continuation of a prompt (a sanity check that a model still speaks).

import type { Command } from '../command';
import { runJob } from '../../core/jobs/index';
import type { GenerateResult, GenerateSettings } from '../../core/eval/generate';
import { GENERATE_SCHEMA } from '../../core/eval/settings';
import { parseArgv, usageOf } from '../../core/util/option-schema';

export const generateCommand: Command = {
  name: 'generate',
  usage: usageOf(GENERATE_SCHEMA),
  schema: GENERATE_SCHEMA,
  async run(ctx) {
    const values = parseArgv(GENERATE_SCHEMA, ctx.argv, ctx.cwd);
    const settings = { model: values['model'], prompt: values['prompt'], maxNewTokens: values['maxNewTokens'], device: values['device'], threads: values['threads'] } as GenerateSettings;
    const res = await runJob<GenerateResult>('generate', settings, { signal: ctx.signal });
    if (values['json']) ctx.stdout.write(JSON.stringify(res) + '\n');
    else ctx.stdout.write(`${res.prompt}\x1b[1m${res.completion}\x1b[0m\n(${res.tokens.length} tokens, ${res.tokensPerS.toFixed(1)} tokens/s on ${res.ep})\n`.replace(/\x1b\[[0-9;]*m/g, ctx.isTTY ? '$&' : ''));
    return 0;
  },
};
