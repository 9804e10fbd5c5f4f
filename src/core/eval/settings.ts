// `eval`'s options (CLI flags and the "eval" task's properties) and settings. Loads no engine code.

import { dataFields, dataSettingsFrom, JSON_FIELD } from '../data/options';
import { ENGINE_FIELDS } from '../runtime/devices';
import { DT_CLAMP_FIELD, type DtClampMode } from '../model/dt-clamp';
import type { ActionSchema, OptionValues } from '../util/option-schema';
import type { EvalSettings } from './lm-eval';

export const EVAL_SCHEMA: ActionSchema = {
  command: 'eval',
  fields: [
    { key: 'model', type: 'path', positional: true, required: true, placeholder: 'model_dir', help: 'checkpoint folder' },
    ...dataFields({ seqLen: 512, batch: 4 }),
    { key: 'mode', type: 'string', choices: ['auto', 'whole', 'streamed'], default: 'auto', help: 'auto: the whole model in one session when it fits comfortably in memory, else layer by layer (bounded memory)' },
    { key: 'dumpLogits', type: 'path', flag: 'dump-logits', placeholder: 'out.safetensors', help: 'also write the float32 logits [rows, seq, vocab] to this new file' },
    DT_CLAMP_FIELD,
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
    dtClampMode: v['dtClamp'] as DtClampMode,
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
