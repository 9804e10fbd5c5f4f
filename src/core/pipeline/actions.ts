// The actions a "hybrid-compress" task can run, each with its stage's option schema. The task
// definition schema in package.json is generated from these (test/extension/task-params.test.ts keeps
// them equal), so tasks.json, the CLI and the worker accept the same options. Loads no engine code.

import { CALIBRATE_SCHEMA } from '../calibrate/settings';
import { DISTILL_SCHEMA } from '../distill/settings';
import { EVAL_SCHEMA } from '../eval/settings';
import { PRUNE_SCHEMA, SEARCH_SCHEMA } from '../prune/settings';
import { RECIPE_SCHEMA } from '../recipes/settings';
import { taskProperty, type ActionSchema } from '../util/option-schema';

export const TASK_TYPE = 'hybrid-compress';
export const TASK_ACTIONS = ['calibrate', 'prune', 'search', 'distill', 'eval', 'distill-external'] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

export const ACTION_SCHEMAS: Record<TaskAction, ActionSchema> = {
  calibrate: CALIBRATE_SCHEMA,
  prune: PRUNE_SCHEMA,
  search: SEARCH_SCHEMA,
  distill: DISTILL_SCHEMA,
  eval: EVAL_SCHEMA,
  'distill-external': RECIPE_SCHEMA,
};

const ACTION_HELP =
  'What to run (the CLI command of the same name; distill-external is `recipe megatron`: it writes a Megatron-Bridge launch recipe into a run folder and starts nothing).';
const OUT_HELP =
  'Run folder (default: .hybrid-compress/runs/<timestamp>-<action>). For prune/search: the pruned checkpoint (default: <model>-pruned inside the run folder, which is always under .hybrid-compress/runs).';

/** package.json's `contributes.taskDefinitions` entry: every property of every action, typed as its field. */
export function taskDefinition(): { type: string; required: string[]; properties: Record<string, Record<string, unknown>> } {
  const properties: Record<string, Record<string, unknown>> = { action: { type: 'string', description: ACTION_HELP, enum: [...TASK_ACTIONS] } };
  const keys: string[] = [];
  const byKey = new Map<string, { field: ActionSchema['fields'][number]; helps: Map<string, TaskAction[]> }>();
  for (const action of TASK_ACTIONS) {
    for (const f of ACTION_SCHEMAS[action].fields) {
      if (f.cliOnly) continue;
      let e = byKey.get(f.key);
      if (!e) {
        e = { field: f, helps: new Map() };
        byKey.set(f.key, e);
        keys.push(f.key);
      }
      const list = e.helps.get(f.help) ?? [];
      list.push(action);
      e.helps.set(f.help, list);
    }
  }
  for (const k of keys) {
    const { field, helps } = byKey.get(k)!;
    const description =
      k === 'out'
        ? OUT_HELP
        : helps.size === 1
          ? `${[...helps.keys()][0]} (${[...helps.values()][0]!.join(', ')})`
          : [...helps].map(([h, actions]) => `${actions.join(', ')}: ${h}`).join('; ');
    properties[k] = taskProperty(field, description);
  }
  return { type: TASK_TYPE, required: ['action'], properties };
}
