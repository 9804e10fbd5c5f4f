// Task definitions (type "hybrid-compress", as users write them in tasks.json) → the job the worker
// runs. A definition's properties are the options of its action's schema (src/core/<stage>/settings.ts,
// listed in src/core/pipeline/actions.ts) under their settings names, so a task and a command line read
// alike and are checked by the same rules — here, in the host, before any worker starts. No vscode import.

import { basename, join, resolve } from 'node:path';
import { HybridCompressError } from '../../core/errors';
import { makeRunId, runsRoot } from '../../core/runs/index';
import { ACTION_SCHEMAS, TASK_ACTIONS, TASK_TYPE, type TaskAction } from '../../core/pipeline/actions';
import { calibrationSettingsFrom } from '../../core/calibrate/settings';
import { trainSettingsFrom } from '../../core/distill/settings';
import { evalSettingsFrom } from '../../core/eval/settings';
import { pruneParamsFrom, searchParamsFrom } from '../../core/prune/settings';
import { parseDataSource, recipeOptionsFrom } from '../../core/recipes/settings';
import { commandLine, parseTaskDefinition, type OptionValues } from '../../core/util/option-schema';

export { TASK_ACTIONS, TASK_TYPE, type TaskAction };

export interface JobRequest {
  action: TaskAction;
  /** Job kind for runJob (the action). */
  kind: string;
  /** The definition's option values: paths absolute, defaults applied, `out` always set. */
  params: OptionValues;
  /** The workspace folder: relative paths and the default run folders start there. */
  workspace: string;
  /**
   * The run folder (run.json): `out` for calibrate/distill/eval/distill-external, else the default under
   * .hybrid-compress/runs. prune/search always get the default; their `out` is the pruned checkpoint.
   */
  runDir: string;
  /** The task named `out` itself (else runDir is the default under .hybrid-compress/runs). */
  explicitOut: boolean;
  /** Short label for terminals, notifications and the status bar. */
  label: string;
}

/** Properties of a VS Code task definition that are not options. */
const NOT_OPTIONS = ['type', 'action', 'label', 'id'];

/**
 * Validates a task definition and turns it into a job request. `workspaceDir` anchors relative paths
 * and the default run folder (`.hybrid-compress/runs/<timestamp>-<action>`).
 */
export function taskToJob(definition: Record<string, unknown>, workspaceDir: string, now: Date = new Date()): JobRequest {
  const action = definition['action'];
  if (typeof action !== 'string' || !(TASK_ACTIONS as readonly string[]).includes(action)) {
    throw new HybridCompressError('OPTION_INVALID', `hybrid-compress task: "action" must be one of ${TASK_ACTIONS.join(', ')}, got ${JSON.stringify(action)}`, { option: 'action' });
  }
  const a = action as TaskAction;
  const workspace = resolve(workspaceDir);
  const def = { ...definition };
  const explicitOut = typeof def['out'] === 'string' && def['out'] !== '';
  // prune/search: the run folder is always under .hybrid-compress/runs; `out` is the pruned checkpoint
  // (default: <model>-pruned/ inside the run folder). Other actions write into their run folder, `out` or the default.
  const defaultRunDir = join(runsRoot(workspace), makeRunId(a, now));
  const pipeline = a === 'prune' || a === 'search';
  if (!explicitOut) def['out'] = pipeline ? join(defaultRunDir, `${basename(String(def['model'] ?? 'model'))}-pruned`) : defaultRunDir;
  let values: OptionValues;
  try {
    values = parseTaskDefinition(ACTION_SCHEMAS[a], def, workspace, NOT_OPTIONS);
    if (a === 'distill-external') {
      // Megatron prefixes and a teacher that may be a Hub id resolve as the recipe command resolves them.
      const o = recipeOptionsFrom(values, workspace);
      values = { ...values, teacher: o.teacher, ...(values['data'] ? { data: (values['data'] as string[]).map((d) => parseDataSource(d, workspace)).map((d) => `${d.weight === 1 ? '' : `${d.weight}:`}${d.prefix}`) } : {}) };
      if (o.mockData !== true && o.data.length === 0) {
        throw new HybridCompressError('OPTION_INVALID', '"data" is required for action "distill-external": Megatron dataset prefixes like "/data/web_text_document" (comma-separated, each optionally "weight:prefix"), or "mockData": true for a smoke test', { option: 'data' });
      }
    } else checkSettings(a, values);
  } catch (e) {
    if (e instanceof HybridCompressError) throw new HybridCompressError(e.code, `hybrid-compress task: ${e.message}`, e.context);
    throw e;
  }
  const runDir = pipeline || !explicitOut ? defaultRunDir : (values['out'] as string);
  const subject = (values['model'] ?? values['student']) as string | undefined;
  const label = `${a}${subject ? ` ${subject.split(/[\\/]/).filter(Boolean).pop()}` : ''}`;
  return { action: a, kind: a, params: values, workspace, runDir, explicitOut, label };
}

/** The cross-option rules of each action (the same functions build the job's settings). */
function checkSettings(a: Exclude<TaskAction, 'distill-external'>, v: OptionValues): void {
  if (a === 'calibrate') calibrationSettingsFrom(v);
  else if (a === 'distill') trainSettingsFrom('distill', v);
  else if (a === 'eval') evalSettingsFrom(v);
  else if (a === 'prune') pruneParamsFrom(v);
  else searchParamsFrom(v);
}

/** The CLI command line equivalent to a job request (shown in the task terminal, so runs can be repeated outside VS Code). */
export function cliEquivalent(req: JobRequest): string {
  return commandLine(ACTION_SCHEMAS[req.action], req.params);
}
