// `hybrid-compress calibrate`: Minitron activation importance with group-aware Mamba scores, into a run
// folder (importance.safetensors, run.json, summary.md). Reuses a finished run of the same model +
// data + settings and resumes an interrupted one.

import type { Command } from '../command';
import { optEnum, optInt, optString, parseCommandArgs, requirePositional } from '../args';
import { createProgressRenderer } from '../progress';
import { launchCalibration } from '../../core/jobs/launch';
import { CALIBRATION_DEFAULTS, type CalibrationSettings, type DepthMetric } from '../../core/calibrate/settings';
import { DATA_OPTIONS, readDataOptions } from '../job-options';

const usage =
  'hybrid-compress calibrate <model_dir> --data <file> [--samples 1024] [--seq-len 4096] [--batch B] [--packing concat|none] [--shuffle --seed S] ' +
  '[--depth none|bi|kl] [--depth-samples 256] [--device auto|cpu|webgpu|webgpu-f16|cuda] [--threads N] [--mode auto|whole|streamed] [--out DIR] [--force] [--json]';

export const calibrateCommand: Command = {
  name: 'calibrate',
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(
      ctx.argv,
      { ...DATA_OPTIONS, depth: { type: 'string' }, 'depth-samples': { type: 'string' }, mode: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } },
      usage,
    );
    const d = CALIBRATION_DEFAULTS;
    const data = readDataOptions(values, { seqLen: d.seqLen, batch: d.batch, samples: d.samples });
    const settings: CalibrationSettings = {
      ...d,
      ...data,
      samples: data.samples ?? d.samples,
      model: requirePositional(positionals, 0, 'model_dir', usage),
      depth: optEnum<DepthMetric>(values, 'depth', ['none', 'bi', 'kl'], 'bi'),
      depthSamples: optInt(values, 'depth-samples', d.depthSamples, { min: 1 }),
      mode: optEnum(values, 'mode', ['auto', 'whole', 'streamed'] as const, 'auto'),
    };
    const json = values['json'] === true;
    const r = createProgressRenderer(ctx, { json });
    const launch = await launchCalibration(ctx.cwd, settings, { out: optString(values, 'out'), force: values['force'] === true }, { ...r.handlers, signal: ctx.signal }).finally(() => r.finish());
    const result = launch.result;
    if (launch.action === 'reuse') {
      ctx.stderr.write(`reusing finished calibration ${launch.run.dir} (same model, data and settings; --force recomputes)\n`);
      if (json) ctx.stdout.write(JSON.stringify({ event: 'result', reused: true, run: launch.run.dir, result }) + '\n');
      return 0;
    }
    if (json) ctx.stdout.write(JSON.stringify({ event: 'result', reused: false, resumed: launch.action === 'resume', run: launch.run.dir, result }) + '\n');
    else {
      ctx.stdout.write(
        [
          `calibrated ${result.rows} rows (${result.tokens.toLocaleString('en-US')} tokens) on ${result.ep}: ${result.tokensPerS.toFixed(0)} tokens/s`,
          `time: forward ${result.timings.forward_s.toFixed(2)} s, aggregation ${result.timings.aggregation_s.toFixed(2)} s${result.timings.depth_kl_s > 0 ? `, depth KL ${result.timings.depth_kl_s.toFixed(2)} s` : ''}, total ${result.timings.total_s.toFixed(2)} s`,
          `importance: ${result.importance}`,
          `summary:    ${result.summary}`,
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
};
