// `hybrid-compress eval`: LM loss (mean next-token cross-entropy), perplexity and tokens/s of a model on a
// data file, on the ONNX engine in the worker process.

import type { Command } from '../command';
import { optEnum, optString, parseCommandArgs, requirePositional } from '../args';
import { createProgressRenderer } from '../progress';
import { runJob } from '../../core/jobs/index';
import type { EvalReport, EvalSettings } from '../../core/eval/lm-eval';
import { DATA_OPTIONS, readDataOptions } from '../job-options';
import { resolve } from 'node:path';
import { openCheckpoint } from '../../core/checkpoint/checkpoint';
import { memoryHint } from '../../core/runtime/execution-plan';

const usage =
  'hybrid-compress eval <model_dir> --data <file> [--samples N] [--seq-len 512] [--batch 4] [--packing concat|none] [--shuffle --seed S] ' +
  '[--device auto|cpu|webgpu|cuda] [--threads N] [--mode auto|whole|streamed] [--dump-logits out.safetensors] [--json]';

export const evalCommand: Command = {
  name: 'eval',
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, { ...DATA_OPTIONS, mode: { type: 'string' }, 'dump-logits': { type: 'string' } }, usage);
    const data = readDataOptions(values, { seqLen: 512, batch: 4 });
    const dump = optString(values, 'dump-logits');
    const settings: EvalSettings = {
      ...data,
      model: resolve(requirePositional(positionals, 0, 'model_dir', usage)),
      data: resolve(data.data),
      mode: optEnum(values, 'mode', ['auto', 'whole', 'streamed'] as const, 'auto'),
      dumpLogits: dump ? resolve(dump) : undefined,
    };
    const json = values['json'] === true;
    // Headers only: says what would fit should the worker run out of memory.
    const ckpt = await openCheckpoint(settings.model);
    const hint = memoryHint(ckpt.spec, { batch: settings.batch, seqLen: settings.seqLen, mode: settings.mode });
    await ckpt.close();
    const r = createProgressRenderer(ctx, { json });
    const rep = await runJob<EvalReport>('eval', settings, { ...r.handlers, signal: ctx.signal, memoryHint: hint }).finally(() => r.finish());
    if (json) ctx.stdout.write(JSON.stringify({ event: 'result', result: rep }) + '\n');
    else {
      ctx.stdout.write(
        [
          `model       ${rep.model} (${rep.params.toLocaleString('en-US')} parameters)`,
          `data        ${rep.data}: ${rep.rows} rows × ${settings.seqLen} tokens (${rep.dataReport})`,
          `LM loss     ${rep.loss.toFixed(4)} nats/token over ${rep.predictedTokens.toLocaleString('en-US')} predicted tokens`,
          `perplexity  ${rep.perplexity.toFixed(2)}`,
          `throughput  ${rep.tokensPerS.toFixed(0)} tokens/s on ${rep.ep}, ${rep.execution.mode === 'streamed' ? 'layer-streamed' : 'whole model'}`,
          ...(rep.logitsFile ? [`logits      ${rep.logitsFile}`] : []),
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
};
