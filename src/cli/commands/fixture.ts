import type { Command } from '../command';
import { parseArgv, usageOf } from '../../core/util/option-schema';
import { checkOutput } from '../../core/runs/output-guard';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../core/testing/fixtures';
import { FIXTURE_PRESETS, FIXTURE_SCHEMA } from '../../core/testing/presets';
import { ProgressMeter } from '../../core/jobs/progress-meter';
import { createProgressRenderer } from '../progress';

export const fixtureCommand: Command = {
  name: 'fixture',
  usage: usageOf(FIXTURE_SCHEMA),
  schema: FIXTURE_SCHEMA,
  async run(ctx) {
    const values = parseArgv(FIXTURE_SCHEMA, ctx.argv, ctx.cwd);
    const out = values['out'] as string;
    const presetName = values['preset'] as string;
    const preset = FIXTURE_PRESETS[presetName]!;
    checkOutput(out, { option: 'out_dir', force: values['force'] === true, kind: 'checkpoint', sources: [] });
    const dtype = values['dtype'] as FixtureOptions['dtype'] | undefined;
    // The 4b/8b presets write 9–16 GB: a progress bar (MB written, ETA) on the terminal, plain lines otherwise.
    const r = createProgressRenderer(ctx);
    let meter: ProgressMeter | undefined;
    let lastMb = 0;
    const onBytes = (done: number, total: number) => {
      if (total < 100e6) return;
      meter ??= new ProgressMeter('write weights', Math.ceil(total / 1e6), 'MB');
      const mb = done === total ? meter.total : Math.floor(done / 1e6);
      if (mb > lastMb || done === total) r.progress(meter.update((lastMb = mb)));
    };
    const f = await writeFixtureCheckpoint(
      out,
      { ...preset, seed: values['seed'] as number, ...(values['sparse'] ? { sparse: true } : {}), ...(dtype ? { dtype } : {}) },
      { onBytes },
    ).finally(() => r.finish());
    ctx.stdout.write(`wrote ${presetName} fixture (${f.spec.family}, ${f.spec.params.total.toLocaleString('en-US')} parameters) to ${out}\n`);
    return 0;
  },
};
