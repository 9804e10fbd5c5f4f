// `curves`'s options.
import type { ActionSchema } from '../util/option-schema';

export const CURVES_SCHEMA: ActionSchema = {
  command: 'curves',
  fields: [
    { key: 'path', type: 'path', positional: true, required: true, placeholder: 'log_or_dir', help: 'a run folder (metrics.jsonl), a Megatron-LM/Bridge log, or TensorBoard event files (a file or a folder)' },
    { key: 'follow', type: 'boolean', short: 'f', help: 'keep reading as the log grows (Ctrl-C stops)' },
    { key: 'seqLen', type: 'integer', min: 1, placeholder: 'N', help: 'sequence length of a Megatron run, to derive tokens_per_s' },
    { key: 'pollMs', type: 'integer', min: 10, max: 60_000, default: 500, placeholder: 'N', help: 'milliseconds between reads when following' },
    { key: 'json', type: 'boolean', cliOnly: true, help: 'one JSON point per line' },
  ],
};
