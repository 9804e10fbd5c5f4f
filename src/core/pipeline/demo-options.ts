// `demo`'s options: the whole recipe on the bundled teacher (or another model and data folder).
import { THREADS_FIELD } from '../runtime/devices';
import { JSON_FIELD } from '../data/options';
import type { ActionSchema } from '../util/option-schema';

export const DEMO_SCHEMA: ActionSchema = {
  command: 'demo',
  fields: [
    { key: 'teacher', type: 'path', placeholder: 'dir', help: 'the model to compress (default: the bundled examples/teacher)' },
    { key: 'dataDir', type: 'path', placeholder: 'dir', help: 'a folder with train.txt and val.txt (default: examples/data)' },
    { key: 'out', type: 'path', placeholder: 'dir', help: 'where the demo writes (default: .hybrid-compress/demo)' },
    { key: 'steps', type: 'integer', min: 1, default: 600, placeholder: 'N', help: 'distillation steps' },
    THREADS_FIELD,
    JSON_FIELD,
  ],
};
