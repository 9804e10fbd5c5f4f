import type { Command } from '../command';
import { parseArgv, usageOf } from '../../core/util/option-schema';
import { CURVES_SCHEMA } from '../../core/curves/options';
import { streamCurves, type CurveSource } from '../../core/curves/source';
import type { MetricPoint } from '../../core/runs/metric-point';
import { mergeByStep, TableFormatter } from '../../core/curves/table';
import { WarningTally } from '../../core/curves/warnings';

export const curvesCommand: Command = {
  name: 'curves',
  usage: usageOf(CURVES_SCHEMA),
  schema: CURVES_SCHEMA,
  async run(ctx) {
    const values = parseArgv(CURVES_SCHEMA, ctx.argv, ctx.cwd);
    const path = values['path'] as string;
    const follow = values['follow'] === true;
    const json = values['json'] === true;
    const seqLength = values['seqLen'] as number | undefined;
    const pollMs = values['pollMs'] as number;
    const tally = new WarningTally();
    let source: CurveSource | undefined;
    const onSource = (s: CurveSource) => {
      source = s;
      if (follow) ctx.stderr.write(`following ${s.kind} ${s.path} (Ctrl-C to stop)\n`);
    };
    if (follow && !json) ctx.stderr.write(`waiting for a training log at ${path} ...\n`);
    const table = new TableFormatter();
    const write = (pts: MetricPoint[]) => {
      if (json) for (const p of pts) ctx.stdout.write(JSON.stringify(p) + '\n');
      else for (const r of table.rows(pts)) ctx.stdout.write(r + '\n');
    };
    const all: MetricPoint[] = [];
    for await (const u of streamCurves(path, { follow, signal: ctx.signal, pollMs, seqLength, onSource, onWarning: tally.sink })) {
      if (u.reset) ctx.stderr.write(`${u.file} was truncated or replaced; reading it again\n`);
      if (follow) write(json ? u.points : mergeByStep(u.points));
      else all.push(...u.points);
    }
    if (!follow) {
      if (!json) ctx.stdout.write(`${source!.kind} ${source!.path}: ${all.length} points\n`);
      write(json ? all : mergeByStep(all));
    }
    if (tally.total > 0) ctx.stderr.write(`warnings: ${tally.summary()}\n`);
    return 0;
  },
};
