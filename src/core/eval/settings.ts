// `eval`'s options (CLI flags and the "eval" task's properties) and settings. Loads no engine code.

import { dataFields, dataSettingsFrom, JSON_FIELD } from '../data/options';
import { ENGINE_FIELDS } from '../runtime/devices';
import type { ActionSchema, OptionValues } from '../util/option-schema';
import type { EvalSettings } from './lm-eval';

export const EVAL_SCHEMA: ActionSchema = {
  command: 'eval',
  fields: [
    { key: 'model', type: 'path', positional: true, required: true, placeholder: 'model_dir', help: 'checkpoint folder' },
    ...dataFields({ seqLen: 512, batch: 4 }),
    { key: 'mode', type: 'string', choices: ['whole', 'streamed'], default: 'whole', help: 'whole model in one session, or layer by layer' },
    { key: 'dumpLogits', type: 'path', flag: 'dump-logits', placeholder: 'out.safetensors', help: 'also write the float32 logits [rows, seq, vocab] to this new file' },
    {
      key: 'dtClamp',
      flag: 'dt-clamp',
      type: 'string',
      choices: ['config', 'transformers5'],
      default: 'config',
      // transformers ≥ 5's NemotronH mixer replaces time_step_limit by (time_step_min, inf) on prefill
      // (transformers/models/nemotron_h/modeling_nemotron_h.py); the Hub code and mamba_ssm use time_step_limit.
      help: "lower bound of dt: config = time_step_limit (the Hub code, mamba_ssm); transformers5 = time_step_min, as transformers ≥ 5's NemotronH computes",
    },
    ...ENGINE_FIELDS,
    { key: 'out', type: 'path', placeholder: 'run_dir', help: 'the run folder (default: .hybrid-compress/runs/<id>)' },
    { key: 'force', type: 'boolean', help: 'replace an existing --dump-logits file this tool wrote' },
    JSON_FIELD,
  ],
};

export function evalSettingsFrom(v: OptionValues): EvalSettings {
  const s: EvalSettings = {
    model: v['model'] as string,
    ...dataSettingsFrom(v),
    device: v['device'] as EvalSettings['device'],
    mode: v['mode'] as EvalSettings['mode'],
    dtClampMode: v['dtClamp'] as EvalSettings['dtClampMode'],
  };
  if (v['threads'] !== undefined) s.threads = v['threads'] as number;
  if (v['dumpLogits'] !== undefined) s.dumpLogits = v['dumpLogits'] as string;
  if (v['force'] === true) s.force = true;
  return s;
}

export const GENERATE_SCHEMA: ActionSchema = {
  command: 'generate',
  fields: [
    { key: 'model', type: 'path', positional: true, required: true, placeholder: 'model_dir', help: 'checkpoint folder (with its tokenizer)' },
    { key: 'prompt', type: 'string', required: true, placeholder: '"text"', help: 'the text to continue' },
    { key: 'maxNewTokens', type: 'integer', min: 1, max: 4096, default: 32, placeholder: 'N', help: 'tokens to generate (greedy)' },
    ...ENGINE_FIELDS,
    JSON_FIELD,
  ],
};
