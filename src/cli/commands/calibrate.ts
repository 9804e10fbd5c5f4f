// `hybrid-compress calibrate`: Minitron activation importance with group-aware Mamba scores, into a run
// folder (importance.safetensors, run.json, summary.md). Reuses a finished run of the same model +
// data + settings and resumes an interrupted one.

import type { Command } from '../command';
import { createProgressRenderer } from '../progress';
import { launchCalibration } from '../../core/calibrate/launch';
import { CALIBRATE_SCHEMA, calibrationSettingsFrom } from '../../core/calibrate/settings';
import { parseArgv, usageOf } from '../../core/util/option-schema';

export const calibrateCommand: Command = {
  name: 'calibrate',
  usage: usageOf(CALIBRATE_SCHEMA),
  schema: CALIBRATE_SCHEMA,
  async run(ctx) {
    const values = parseArgv(CALIBRATE_SCHEMA, ctx.argv, ctx.cwd);
    const settings = calibrationSettingsFrom(values);
    const json = values['json'] === true;
    const r = createProgressRenderer(ctx, { json });
    const launch = await launchCalibration(ctx.cwd, settings, { out: values['out'] as string | undefined, force: values['force'] === true }, { ...r.handlers, signal: ctx.signal }).finally(() => r.finish());
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
