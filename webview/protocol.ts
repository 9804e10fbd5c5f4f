// The one message protocol between the extension host and its webviews (Compress panel, Importance
// view, loss-curve panels). Types only plus validators: both ends validate what they receive, since a
// webview is a separate page (a stale bundle after an update, a restored panel from an older version)
// and a malformed message must become a logged error, never a crash or a wrong picture.
// This file is imported by the host bundle and by every webview bundle, so it must not import
// anything from node, vscode or the DOM.

import { parseMetricPoint, type MetricPoint } from '../src/core/runs/metric-point';
import { PRUNE_AXIS_KEYS as AXIS_KEYS, type PruneAxisKey } from '../src/core/prune/axes';
import { DEVICES as ENGINE_DEVICES, type Device as EngineDevice } from '../src/core/runtime/device-names';

export type { MetricPoint };

export const WEBVIEW_PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// View models (what the host computes and the webviews draw)

export type LayerKindVM = 'M' | '*' | '-' | 'E';

export interface ModelVM {
  dir: string;
  /** Folder name, for titles. */
  name: string;
  family: string;
  modelType: string;
  runnable: boolean;
  unsupportedReason?: string;
  pattern: string;
  numLayers: number;
  hiddenSize: number;
  vocabSize: number;
  params: number;
  bytesOnDisk: number;
  /** Bytes per parameter of the weights on disk (2 for bf16), for size estimates. */
  bytesPerParam: number;
  mamba?: { numHeads: number; headDim: number; nGroups: number; stateSize: number };
  attention?: { numHeads: number; numKvHeads: number; headDim: number };
  mlp?: { intermediateSize: number };
  layers: { index: number; kind: LayerKindVM; params: number }[];
}

/** The width/depth targets the Compress panel edits; names follow PruneTargets (src/core/prune/targets.ts). */
export { PRUNE_AXIS_KEYS as AXIS_KEYS } from '../src/core/prune/axes';
export type AxisKey = PruneAxisKey;
export type Targets = Partial<Record<AxisKey, number>>;

export interface AxisVM {
  key: AxisKey;
  label: string;
  /** The CLI option, e.g. "mamba-num-heads". */
  option: string;
  /** Legal values: multiples of step in [min, max]; max is the source size. */
  min: number;
  max: number;
  step: number;
  /** Human rule, e.g. "a multiple of n_groups=8". */
  rule: string;
  /**
   * Set when the axis's legal values also depend on other targets (pure Mamba2: heads × head_dim must be a
   * whole multiple of hidden_size); the rule says why. The panel then offers axisValues(...) only.
   */
  coupled?: string;
}

export interface EstimateVM {
  targets: Targets;
  params: number;
  bytes: number;
  /** params / source params. */
  ratio: number;
  /** Set when the targets are not legal; the message says what is. */
  error?: string;
}

/** The engine's devices (one list, runtime/device-names.ts) less webgpu-f16, which the panel does not offer. */
export type Device = Exclude<EngineDevice, 'webgpu-f16'>;
export const DEVICES: readonly Device[] = ENGINE_DEVICES.filter((d): d is Device => d !== 'webgpu-f16');

export interface CompressForm {
  dataFile: string;
  samples: number;
  seqLen: number;
  device: Device;
  /** "50%" or "4B": a parameter budget for the search (empty = use the per-axis targets). */
  targetParams: string;
  steps: number;
}

/** `distill-external` writes a Megatron-Bridge launch recipe ("Distill on cluster…"); it runs nothing. */
export type CompressAction = 'calibrate' | 'prune' | 'search' | 'distill' | 'distill-external';
export const COMPRESS_ACTIONS: readonly CompressAction[] = ['calibrate', 'prune', 'search', 'distill', 'distill-external'];

export interface CompressState {
  model: ModelVM;
  axes: AxisVM[];
  targets: Targets;
  estimate: EstimateVM;
  form: CompressForm;
  /** Workspace-relative data files the picker offers. */
  dataFiles: string[];
  /** Latest finished calibration run for this model (its importance drives prune). */
  calibrationRun?: string;
  /** Jobs need a trusted workspace; the buttons explain why they are disabled otherwise. */
  trusted: boolean;
  /** Action currently running for this model, if any. */
  running?: CompressAction;
}

export interface HeatCell {
  head: number;
  group: number;
  score: number;
  kept: boolean;
}

export interface ImportanceState {
  model: { dir: string; name: string; pattern: string };
  run: { id: string; dir: string; created: string; data?: string };
  /** Per layer: kind and (when computed) depth importance. */
  layers: { index: number; kind: LayerKindVM; blockImportance?: number; kl?: number; kept: boolean }[];
  mamba?: { nGroups: number; numHeads: number; keepHeads: number; rows: { layer: number; cells: HeatCell[] }[] };
  mlp?: {
    keep: number;
    size: number;
    rows: { layer: number; bins: { lo: number; hi: number; count: number }[]; threshold: number; min: number; max: number }[];
  };
  attention?: { keep: number; numKvHeads: number; rows: { layer: number; heads: { head: number; score: number; kept: boolean }[] }[] };
  embedding?: { keep: number; size: number; sorted: { rank: number; channel: number; score: number }[] };
  targets: Targets;
  /** Why no kept/cut line is drawn (illegal targets, scores missing for an axis). */
  planError?: string;
}

export type ImportanceViewState = { kind: 'empty'; message: string } | { kind: 'scores'; state: ImportanceState };

/** One curve point: step plus named series (non-finite values allowed: a diverging loss must show). */
export interface CurvesState {
  key: string;
  title: string;
  /** Run folder or log file it follows. */
  source: string;
  status: 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted' | 'following';
  points: MetricPoint[];
}

// ---------------------------------------------------------------------------------------------
// Messages

export type HostMessage =
  | { type: 'compress/state'; state: CompressState }
  | { type: 'compress/estimate'; estimate: EstimateVM }
  /** The checkpoint cannot be read: the panel shows why (and a Retry) instead of its controls. */
  | { type: 'compress/unreadable'; dir: string; error: string }
  | { type: 'importance/state'; state: ImportanceViewState }
  | { type: 'curves/state'; state: CurvesState }
  /** Points from index `from` on (from = number of points the webview should already hold). */
  | { type: 'curves/append'; key: string; from: number; points: MetricPoint[]; status: CurvesState['status'] };

export type WebviewMessage =
  | { type: 'ready'; view: 'compress' | 'importance' | 'curves'; protocol: number }
  | { type: 'compress/targets'; targets: Targets }
  | { type: 'compress/form'; form: CompressForm }
  | { type: 'compress/run'; action: CompressAction; targets: Targets; form: CompressForm }
  | { type: 'compress/pickData' }
  | { type: 'compress/retry' }
  | { type: 'importance/refresh' }
  | { type: 'curves/resync'; key: string }
  | { type: 'curves/export'; key: string; format: 'svg' | 'png'; data: string }
  | { type: 'log'; level: 'info' | 'error'; text: string };

// ---------------------------------------------------------------------------------------------
// Validation

export class MessageError extends Error {
  constructor(message: string) {
    super(`invalid webview message: ${message}`);
    this.name = 'MessageError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const what = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v);

function field<T>(o: Obj, key: string, check: (v: unknown) => v is T, expected: string): T {
  const v = o[key];
  if (!check(v)) throw new MessageError(`"${key}" must be ${expected}, got ${what(v)}`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNonNegInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

function oneOf<T extends string>(o: Obj, key: string, values: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new MessageError(`"${key}" must be one of ${values.join('|')}, got ${what(v)}`);
  return v as T;
}

export function parseTargets(v: unknown): Targets {
  if (!isObj(v)) throw new MessageError(`"targets" must be an object, got ${what(v)}`);
  const out: Targets = {};
  for (const [k, x] of Object.entries(v)) {
    if (!(AXIS_KEYS as readonly string[]).includes(k)) throw new MessageError(`unknown target "${k}" (valid: ${AXIS_KEYS.join(', ')})`);
    if (x === undefined || x === null) continue;
    if (!Number.isInteger(x) || (x as number) < 1) throw new MessageError(`target "${k}" must be a positive integer, got ${what(x)}`);
    out[k as AxisKey] = x as number;
  }
  return out;
}

export function parseCompressForm(v: unknown): CompressForm {
  if (!isObj(v)) throw new MessageError(`"form" must be an object, got ${what(v)}`);
  const positive = (key: string): number => {
    const n = field(v, key, isNonNegInt, 'a non-negative integer');
    if (n < 1) throw new MessageError(`"${key}" must be at least 1, got ${n}`);
    return n;
  };
  return {
    dataFile: field(v, 'dataFile', isString, 'a string'),
    samples: positive('samples'),
    seqLen: positive('seqLen'),
    device: oneOf(v, 'device', DEVICES),
    targetParams: field(v, 'targetParams', isString, 'a string'),
    steps: positive('steps'),
  };
}

/** A curve point (the one metric-point shape, src/core/runs/metric-point.ts) with the protocol's error type. */
export function parseCurvePoint(v: unknown): MetricPoint {
  try {
    return parseMetricPoint(v);
  } catch (e) {
    throw new MessageError((e as Error).message);
  }
}

/** Validates a message the host received from a webview. Throws MessageError. */
export function parseWebviewMessage(v: unknown): WebviewMessage {
  if (!isObj(v)) throw new MessageError(`expected an object, got ${what(v)}`);
  switch (v['type']) {
    case 'ready': {
      const protocol = field(v, 'protocol', isFiniteNumber, 'a number');
      return { type: 'ready', view: oneOf(v, 'view', ['compress', 'importance', 'curves'] as const), protocol };
    }
    case 'compress/targets':
      return { type: 'compress/targets', targets: parseTargets(v['targets']) };
    case 'compress/form':
      return { type: 'compress/form', form: parseCompressForm(v['form']) };
    case 'compress/run':
      return { type: 'compress/run', action: oneOf(v, 'action', COMPRESS_ACTIONS), targets: parseTargets(v['targets']), form: parseCompressForm(v['form']) };
    case 'compress/pickData':
      return { type: 'compress/pickData' };
    case 'compress/retry':
      return { type: 'compress/retry' };
    case 'importance/refresh':
      return { type: 'importance/refresh' };
    case 'curves/resync':
      return { type: 'curves/resync', key: field(v, 'key', isString, 'a string') };
    case 'curves/export': {
      const format = oneOf(v, 'format', ['svg', 'png'] as const);
      const data = field(v, 'data', isString, 'a string');
      // An SVG is text; a PNG arrives as a data: URL. Anything else is not ours.
      if (format === 'png' && !data.startsWith('data:image/png;base64,')) throw new MessageError('"data" of a PNG export must be a data:image/png;base64 URL');
      if (format === 'svg' && !data.trimStart().startsWith('<svg')) throw new MessageError('"data" of an SVG export must start with <svg');
      return { type: 'curves/export', key: field(v, 'key', isString, 'a string'), format, data };
    }
    case 'log':
      return { type: 'log', level: oneOf(v, 'level', ['info', 'error'] as const), text: field(v, 'text', isString, 'a string').slice(0, 2000) };
    default:
      throw new MessageError(`unknown message type ${what(v['type'])}`);
  }
}

/**
 * Validates a message a webview received from the host. The host is trusted code, so this checks the
 * envelope and the fields the views index into (a stale webview must not draw half a state).
 */
export function parseHostMessage(v: unknown): HostMessage {
  if (!isObj(v)) throw new MessageError(`expected an object, got ${what(v)}`);
  switch (v['type']) {
    case 'compress/state': {
      const s = field(v, 'state', isObj, 'an object');
      field(s, 'model', isObj, 'an object');
      field(s, 'axes', Array.isArray, 'an array');
      field(s, 'estimate', isObj, 'an object');
      parseTargets(s['targets']);
      parseCompressForm(s['form']);
      return v as HostMessage;
    }
    case 'compress/unreadable':
      field(v, 'dir', isString, 'a string');
      field(v, 'error', isString, 'a string');
      return v as HostMessage;
    case 'compress/estimate': {
      const e = field(v, 'estimate', isObj, 'an object');
      field(e, 'params', isFiniteNumber, 'a number');
      parseTargets(e['targets']);
      return v as HostMessage;
    }
    case 'importance/state': {
      const s = field(v, 'state', isObj, 'an object');
      const kind = oneOf(s, 'kind', ['empty', 'scores'] as const);
      if (kind === 'empty') field(s, 'message', isString, 'a string');
      else {
        const st = field(s, 'state', isObj, 'an object');
        field(st, 'layers', Array.isArray, 'an array');
        field(st, 'model', isObj, 'an object');
      }
      return v as HostMessage;
    }
    case 'curves/state': {
      const s = field(v, 'state', isObj, 'an object');
      field(s, 'key', isString, 'a string');
      const points = field(s, 'points', Array.isArray, 'an array');
      return { type: 'curves/state', state: { ...(s as unknown as CurvesState), points: points.map(parseCurvePoint) } };
    }
    case 'curves/append': {
      const points = field(v, 'points', Array.isArray, 'an array');
      return {
        type: 'curves/append',
        key: field(v, 'key', isString, 'a string'),
        from: field(v, 'from', isNonNegInt, 'a non-negative integer'),
        points: points.map(parseCurvePoint),
        status: oneOf(v, 'status', ['running', 'done', 'failed', 'cancelled', 'interrupted', 'following'] as const),
      };
    }
    default:
      throw new MessageError(`unknown message type ${what(v['type'])}`);
  }
}
