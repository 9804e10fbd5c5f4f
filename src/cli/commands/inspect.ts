import type { Command } from '../command';
import { parseCommandArgs, requirePositional } from '../args';
import { openCheckpoint } from '../../core/checkpoint/checkpoint';
import { describeCheckpoint, formatInspectReport, groupThousands } from '../../core/checkpoint/describe';

const usage = 'hybrid-compress inspect <model_dir> [--json] [--layers]';

export const inspectCommand: Command = {
  name: 'inspect',
  usage,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx.argv, { json: { type: 'boolean' }, layers: { type: 'boolean' } }, usage);
    const ckpt = await openCheckpoint(requirePositional(positionals, 0, 'model_dir', usage));
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
