import type { Command } from '../command';
import { parseArgv, usageOf } from '../../core/util/option-schema';
import { INSPECT_SCHEMA } from '../../core/checkpoint/inspect-options';
import { openCheckpoint } from '../../core/checkpoint/checkpoint';
import { describeCheckpoint, formatInspectReport, groupThousands } from '../../core/checkpoint/describe';

export const inspectCommand: Command = {
  name: 'inspect',
  usage: usageOf(INSPECT_SCHEMA),
  schema: INSPECT_SCHEMA,
  async run(ctx) {
    const values = parseArgv(INSPECT_SCHEMA, ctx.argv, ctx.cwd);
    const ckpt = await openCheckpoint(values['model'] as string);
    try {
      const report = describeCheckpoint(ckpt);
      if (values['json']) {
        ctx.stdout.write(JSON.stringify(report) + '\n');
      } else {
        ctx.stdout.write(formatInspectReport(report) + '\n');
        if (values['layers']) for (const l of report.layers) ctx.stdout.write(`  layer ${String(l.index).padStart(3)}  ${l.kind}  ${groupThousands(l.params)}\n`);
      }
      return 0;
    } finally {
      await ckpt.close();
    }
  },
};
