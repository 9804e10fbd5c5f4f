// Task definitions (type "hybrid-compress", as users write them in tasks.json) → the job the worker
// runs. The definition's properties are the CLI's options in camelCase, so a task and a command line
// read alike. Validated here, in the host, so a typo in tasks.json is a one-line error naming the
// property and what is valid — before any worker starts. No vscode import (unit-tested).

import { isAbsolute, join, resolve } from 'node:path';
import { HybridCompressError } from '../../core/errors';
import { makeRunId, runsRoot } from '../../core/runs/index';

export const TASK_TYPE = 'hybrid-compress';
export const TASK_ACTIONS = ['calibrate', 'prune', 'search', 'distill', 'eval'] as const;
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
  search: ['model', 'targetParams'],
  distill: ['teacher', 'student', 'data'],
  eval: ['model', 'data'],
};

/** Properties that name files or folders: resolved against the workspace folder. */
const PATH_PROPS = new Set(['model', 'data', 'out', 'importance', 'teacher', 'student', 'evalData']);

export interface JobRequest {
  action: TaskAction;
  /** Job kind for runJob (the action). */
  kind: string;
  /** Job params: the definition's properties, paths made absolute, `out` always set. */
  params: Record<string, unknown>;
  /** The run folder the job writes (params.out). */
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
    if (type === 'string' && typeof value !== 'string') bad(key, `must be a string, got ${JSON.stringify(value)}`);
    if (type === 'boolean' && typeof value !== 'boolean') bad(key, `must be true or false, got ${JSON.stringify(value)}`);
    if (type === 'integer' && (!Number.isInteger(value) || (value as number) < (key === 'seed' ? 0 : 1))) bad(key, `must be a positive integer, got ${JSON.stringify(value)}`);
    if (type === 'number' && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) bad(key, `must be a non-negative number, got ${JSON.stringify(value)}`);
    const allowed = ENUMS[key];
    if (allowed && !allowed.includes(value as string)) bad(key, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    params[key] = PATH_PROPS.has(key) && key !== 'importance' ? resolvePath(value as string, workspaceDir) : value;
  }
  if (typeof params['importance'] === 'string' && params['importance'] !== 'random') params['importance'] = resolvePath(params['importance'] as string, workspaceDir);
  for (const key of REQUIRED[a]) if (params[key] === undefined) bad(key, `is required for action "${a}"`);
  const explicitOut = typeof params['out'] === 'string';
  const runDir = explicitOut ? (params['out'] as string) : join(runsRoot(workspaceDir), makeRunId(a, now));
  params['out'] = runDir;
  params['workspace'] = resolve(workspaceDir);
  if (a === 'prune' || a === 'search') adaptPruneParams(params);
  const subject = (params['model'] ?? params['student']) as string | undefined;
  const label = `${a}${subject ? ` ${subject.split(/[\\/]/).filter(Boolean).pop()}` : ''}`;
  return { action: a, kind: a, params, runDir, explicitOut, label };
}

/** Target property → the prune/search job's `targets` key (src/core/prune/job-params.ts). */
const TARGET_KEYS: Record<string, string> = {
  hiddenSize: 'hiddenSize',
  ffnHiddenSize: 'intermediateSize',
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

/** The CLI command line equivalent to a job request (shown in the task terminal, so runs can be repeated outside VS Code). */
export function cliEquivalent(req: JobRequest): string {
  const parts = ['hybrid-compress', req.action];
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
  if (flat['rows'] !== undefined) {
    flat['samples'] = flat['rows'];
    delete flat['rows'];
  }
  for (const [k, v] of Object.entries(flat)) {
    if (k === 'workspace' || (positional && k === 'model')) continue;
    const flag = '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    if (v === true) parts.push(flag);
    else if (v !== false) parts.push(flag, quote(String(v)));
  }
  return parts.join(' ');
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
