// `inspect`'s options (headers only: no engine, no data).
import type { ActionSchema } from '../util/option-schema';

export const INSPECT_SCHEMA: ActionSchema = {
  command: 'inspect',
  fields: [
    { key: 'model', type: 'path', positional: true, required: true, placeholder: 'model_dir', help: 'checkpoint folder, or its config.json / a .safetensors file / the index' },
    { key: 'layers', type: 'boolean', help: 'also list every layer with its parameter count' },
    { key: 'json', type: 'boolean', cliOnly: true, help: 'the report as one JSON object' },
  ],
};
