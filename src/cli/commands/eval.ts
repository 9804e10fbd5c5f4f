// `hybrid-compress eval`: LM loss (mean next-token cross-entropy), perplexity and tokens/s of a model on a
// data file, on the ONNX engine in the worker process.

import type { Command } from '../command';
import { createProgressRenderer } from '../progress';
import { launchEval } from '../../core/eval/launch';
import { EVAL_SCHEMA, evalSettingsFrom } from '../../core/eval/settings';
import { parseArgv, usageOf } from '../../core/util/option-schema';

export const evalCommand: Command = {
  name: 'eval',
  usage: usageOf(EVAL_SCHEMA),
  schema: EVAL_SCHEMA,
  async run(ctx) {
    const values = parseArgv(EVAL_SCHEMA, ctx.argv, ctx.cwd);
    const settings = evalSettingsFrom(values);
    const json = values['json'] === true;
    const r = createProgressRenderer(ctx, { json });
    const { run, result: rep } = await launchEval(ctx.cwd, settings, { out: values['out'] as string | undefined }, { ...r.handlers, signal: ctx.signal }).finally(() => r.finish());
    if (json) ctx.stdout.write(JSON.stringify({ event: 'result', result: rep }) + '\n');
    else {
      ctx.stdout.write(
        [
          `model       ${rep.model} (${rep.params.toLocaleString('en-US')} parameters)`,
          `data        ${rep.data}: ${rep.rows} rows × ${settings.seqLen} tokens (${rep.dataReport})`,
          `LM loss     ${rep.loss.toFixed(4)} nats/token over ${rep.predictedTokens.toLocaleString('en-US')} predicted tokens`,
          `perplexity  ${rep.perplexity.toFixed(2)}`,
          `throughput  ${rep.tokensPerS.toFixed(0)} tokens/s on ${rep.ep}`,
          ...(rep.logitsFile ? [`logits      ${rep.logitsFile}`] : []),
          `run         ${run.dir}`,
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
};
