// Task definitions (type "hybrid-compress", as users write them in tasks.json) → the job the worker
// runs. The definition's properties are the CLI's options in camelCase, so a task and a command line
// read alike. Validated here, in the host, so a typo in tasks.json is a one-line error naming the
// property and what is valid — before any worker starts. No vscode import (unit-tested).

import { existsSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { HybridCompressError } from '../../core/errors';
import { makeRunId, runsRoot } from '../../core/runs/index';

export const TASK_TYPE = 'hybrid-compress';
export const TASK_ACTIONS = ['calibrate', 'prune', 'search', 'distill', 'eval', 'distill-external'] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

/** Every property a definition may carry, with its type; mirrors `taskDefinitions` in package.json. */
export const TASK_PROPERTIES: Record<string, 'string' | 'integer' | 'number' | 'boolean'> = {
  action: 'string',
  model: 'string',
  data: 'string',
  out: 'string',
  samples: 'integer',
  seqLen: 'integer',
  batch: 'integer',
  packing: 'string',
  depth: 'string',
  device: 'string',
  importance: 'string',
  hiddenSize: 'integer',
  ffnHiddenSize: 'integer',
  mambaNumHeads: 'integer',
  mambaHeadDim: 'integer',
  numAttentionHeads: 'integer',
  numLayers: 'integer',
  dropLayers: 'string',
  targetParams: 'string',
  kdSteps: 'integer',
  topK: 'integer',
  kdLr: 'number',
  mambaHeadRanking: 'string',
  metric: 'string',
  teacher: 'string',
  student: 'string',
  steps: 'integer',
  lr: 'number',
  minLr: 'number',
  warmupSteps: 'integer',
  temperature: 'number',
  loss: 'string',
  alpha: 'number',
  evalData: 'string',
  evalEvery: 'integer',
  seed: 'integer',
  resume: 'boolean',
  force: 'boolean',
  // distill-external (the Megatron-Bridge launch recipe)
  mockData: 'boolean',
  nodes: 'integer',
  gpusPerNode: 'integer',
  tp: 'integer',
  pp: 'integer',
  globalBatch: 'integer',
  microBatch: 'integer',
  outputDir: 'string',
  modelOptDir: 'string',
  partition: 'string',
  account: 'string',
};

const ENUMS: Record<string, readonly string[]> = {
  action: TASK_ACTIONS,
  packing: ['concat', 'none'],
  depth: ['none', 'bi', 'kl'],
  device: ['auto', 'cpu', 'webgpu', 'cuda'],
  mambaHeadRanking: ['group', 'global'],
  metric: ['activation', 'flap'],
  loss: ['kd', 'ce', 'kd+ce'],
};

/** Properties each action needs (beyond `action`). */
const REQUIRED: Record<TaskAction, string[]> = {
  calibrate: ['model', 'data'],
  prune: ['model', 'importance'],
  search: ['model', 'targetParams', 'importance'],
  distill: ['teacher', 'student', 'data'],
  eval: ['model', 'data'],
  'distill-external': ['teacher', 'student', 'steps'],
};

/** Properties that name files or folders: resolved against the workspace folder. */
const PATH_PROPS = new Set(['model', 'data', 'out', 'importance', 'teacher', 'student', 'evalData', 'outputDir', 'modelOptDir']);

/** Properties only some actions take: a definition giving one to another action is a mistake worth naming. */
const ONLY_FOR: Record<string, readonly TaskAction[]> = {
  kdSteps: ['search'],
  topK: ['search'],
  kdLr: ['search'],
  mockData: ['distill-external'],
  nodes: ['distill-external'],
  gpusPerNode: ['distill-external'],
  tp: ['distill-external'],
  pp: ['distill-external'],
  globalBatch: ['distill-external'],
  microBatch: ['distill-external'],
  outputDir: ['distill-external'],
  modelOptDir: ['distill-external'],
  partition: ['distill-external'],
  account: ['distill-external'],
};

/** A Hugging Face Hub id (org/name): a distill-external teacher that is not a local folder is kept as given. */
const HUB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface JobRequest {
  action: TaskAction;
  /** Job kind for runJob (the action). */
  kind: string;
  /** Job params: the definition's properties, paths made absolute, `out` always set. */
  params: Record<string, unknown>;
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

function bad(option: string, message: string): never {
  throw new HybridCompressError('OPTION_INVALID', `hybrid-compress task: "${option}" ${message}`, { option });
}

/**
 * Validates a task definition and turns it into a job request. `workspaceDir` anchors relative paths
 * and the default run folder (`.hybrid-compress/runs/<timestamp>-<action>`).
 */
export function taskToJob(definition: Record<string, unknown>, workspaceDir: string, now: Date = new Date()): JobRequest {
  const action = definition['action'];
  if (typeof action !== 'string' || !(TASK_ACTIONS as readonly string[]).includes(action)) {
    bad('action', `must be one of ${TASK_ACTIONS.join(', ')}, got ${JSON.stringify(action)}`);
  }
  const a = action as TaskAction;
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(definition)) {
    if (key === 'type' || key === 'action' || key === 'label' || key === 'id') continue;
    const type = TASK_PROPERTIES[key];
    if (!type) bad(key, `is not a property of hybrid-compress tasks (valid: ${Object.keys(TASK_PROPERTIES).join(', ')})`);
    if (value === undefined || value === null || value === '') continue;
    const only = ONLY_FOR[key];
    if (only && !only.includes(a)) bad(key, `applies only to action ${only.map((x) => `"${x}"`).join(', ')}, not "${a}"`);
    if (type === 'string' && typeof value !== 'string') bad(key, `must be a string, got ${JSON.stringify(value)}`);
    if (type === 'boolean' && typeof value !== 'boolean') bad(key, `must be true or false, got ${JSON.stringify(value)}`);
    if (type === 'integer' && (!Number.isInteger(value) || (value as number) < (key === 'seed' ? 0 : 1))) bad(key, `must be a positive integer, got ${JSON.stringify(value)}`);
    if (type === 'number' && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) bad(key, `must be a non-negative number, got ${JSON.stringify(value)}`);
    const allowed = ENUMS[key];
    if (allowed && !allowed.includes(value as string)) bad(key, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    params[key] = value;
  }
  for (const key of REQUIRED[a]) if (params[key] === undefined) bad(key, `is required for action "${a}"`);
  if (a === 'search') checkSearchKd(params);
  if (a === 'distill-external') checkRecipeData(params);
  resolvePaths(a, params, workspaceDir);
  const explicitOut = typeof params['out'] === 'string';
  // prune/search: the run folder is always under .hybrid-compress/runs; `out` is the pruned checkpoint
  // (default: <model>-pruned/ inside the run folder). Other actions write into their run folder, `out` or the default.
  const defaultRunDir = join(runsRoot(workspaceDir), makeRunId(a, now));
  const pipeline = a === 'prune' || a === 'search';
  const runDir = pipeline || !explicitOut ? defaultRunDir : (params['out'] as string);
  if (!explicitOut) params['out'] = pipeline ? join(runDir, `${basename(params['model'] as string)}-pruned`) : runDir;
  params['workspace'] = resolve(workspaceDir);
  if (pipeline) adaptPruneParams(params);
  const subject = (params['model'] ?? params['student']) as string | undefined;
  const label = `${a}${subject ? ` ${subject.split(/[\\/]/).filter(Boolean).pop()}` : ''}`;
  return { action: a, kind: a, params, runDir, explicitOut, label };
}

/** The search's short KD: --kd-steps needs data, and --kd-lr / --top-k mean nothing without it (as the CLI says). */
function checkSearchKd(params: Record<string, unknown>): void {
  const kd = params['kdSteps'] !== undefined;
  if (kd && params['data'] === undefined) bad('data', 'is required with "kdSteps": the short distillation of the top candidates trains on it');
  if (!kd && params['kdLr'] !== undefined) bad('kdLr', 'applies only with "kdSteps" (the short KD of the top candidates)');
  if (params['kdLr'] !== undefined && !((params['kdLr'] as number) > 0)) bad('kdLr', `must be a number > 0, got ${JSON.stringify(params['kdLr'])}`);
}

/** distill-external: Megatron dataset prefixes ("[weight:]prefix, ...") or mock data, not both. */
function checkRecipeData(params: Record<string, unknown>): void {
  if (params['mockData'] === true && params['data'] !== undefined) bad('mockData', 'cannot be combined with "data" (mock data replaces the datasets)');
  if (params['mockData'] !== true && params['data'] === undefined) bad('data', 'is required for action "distill-external": Megatron dataset prefixes like "/data/web_text_document" (comma-separated, each optionally "weight:prefix"), or "mockData": true for a smoke test');
  if (typeof params['data'] === 'string') parseRecipeDataList(params['data'] as string);
}

/** "0.7:/d/web_text_document, 0.3:/d/code_text_document" → weighted prefixes (a bare prefix has weight 1). */
export function parseRecipeDataList(text: string): { weight: number; prefix: string }[] {
  const items = text.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (items.length === 0) bad('data', 'must name at least one Megatron dataset prefix');
  return items.map((item) => {
    const m = /^([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?):(.+)$/.exec(item);
    const weight = m ? Number(m[1]) : 1;
    const prefix = (m ? m[2]! : item).trim();
    if (!(weight > 0)) bad('data', `weight of ${JSON.stringify(item)} must be a positive number`);
    if (prefix === '') bad('data', `${JSON.stringify(item)} has no dataset prefix after the weight`);
    return { weight, prefix };
  });
}

function resolvePaths(a: TaskAction, params: Record<string, unknown>, workspaceDir: string): void {
  for (const key of Object.keys(params)) {
    if (!PATH_PROPS.has(key) || typeof params[key] !== 'string') continue;
    const v = params[key] as string;
    if (key === 'importance' && v === 'random') continue;
    if (a === 'distill-external' && key === 'data') {
      params[key] = parseRecipeDataList(v).map((d) => `${d.weight === 1 ? '' : `${d.weight}:`}${resolvePath(d.prefix, workspaceDir)}`).join(',');
      continue;
    }
    if (a === 'distill-external' && key === 'teacher' && !isAbsolute(v) && HUB_ID_RE.test(v) && !existsSync(resolve(workspaceDir, v))) continue;
    params[key] = resolvePath(v, workspaceDir);
  }
}

/** Target property → the prune/search job's `targets` key (src/core/prune/job-params.ts). */
const TARGET_KEYS: Record<string, string> = {
  hiddenSize: 'hiddenSize',
  ffnHiddenSize: 'ffnHiddenSize',
  mambaNumHeads: 'mambaNumHeads',
  mambaHeadDim: 'mambaHeadDim',
  numAttentionHeads: 'numAttentionHeads',
  numLayers: 'numLayers',
};

/** The prune and search jobs take their targets as one `targets` object, and data rows as `rows`. */
function adaptPruneParams(params: Record<string, unknown>): void {
  const targets: Record<string, unknown> = {};
  for (const [from, to] of Object.entries(TARGET_KEYS)) {
    if (params[from] !== undefined) targets[to] = params[from];
    delete params[from];
  }
  if (typeof params['dropLayers'] === 'string') {
    const parts = (params['dropLayers'] as string).split(',').map((x) => x.trim());
    if (parts.some((x) => !/^\d+$/.test(x))) bad('dropLayers', `must be comma-separated layer indices like "3,7", got ${JSON.stringify(params['dropLayers'])}`);
    targets['dropLayers'] = parts.map(Number);
    delete params['dropLayers'];
  }
  if (params['samples'] !== undefined) {
    params['rows'] = params['samples'];
    delete params['samples'];
  }
  params['targets'] = targets;
}

function resolvePath(p: string, workspaceDir: string): string {
  return isAbsolute(p) ? p : resolve(workspaceDir, p);
}

/** `hybrid-compress recipe megatron` flags that are not the property's kebab-case. */
const RECIPE_FLAGS: Record<string, string> = { warmupSteps: 'warmup', modelOptDir: 'modelopt-dir' };

/** The CLI command line equivalent to a job request (shown in the task terminal, so runs can be repeated outside VS Code). */
export function cliEquivalent(req: JobRequest): string {
  const external = req.action === 'distill-external';
  const parts = external ? ['hybrid-compress', 'recipe', 'megatron'] : ['hybrid-compress', req.action];
  const p = req.params;
  const positional = req.action === 'calibrate' || req.action === 'prune' || req.action === 'search' || req.action === 'eval' ? (p['model'] as string) : undefined;
  if (positional) parts.push(quote(positional));
  const flat: Record<string, unknown> = { ...p };
  // prune/search carry targets as an object (see adaptPruneParams); the CLI spells them as flags.
  const targets = flat['targets'] as Record<string, unknown> | undefined;
  delete flat['targets'];
  if (targets) {
    for (const [from, to] of Object.entries(TARGET_KEYS)) if (targets[to] !== undefined) flat[from] = targets[to];
    if (Array.isArray(targets['dropLayers'])) flat['dropLayers'] = (targets['dropLayers'] as number[]).join(',');
  }
  for (const [k, v] of Object.entries(flat)) {
    if (k === 'workspace' || (positional && k === 'model')) continue;
    const flag = '--' + ((external ? RECIPE_FLAGS[k] : undefined) ?? k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));
    // The recipe command takes one --data per dataset.
    if (external && k === 'data') for (const d of String(v).split(',')) parts.push(flag, quote(d));
    else if (v === true) parts.push(flag);
    else if (v !== false) parts.push(flag, quote(String(v)));
  }
  return parts.join(' ');
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
