// The message protocol between a job's parent (CLI or extension host) and its worker process.
// Both sides validate every message they receive: the two ends may come from different builds
// (a stale dist/worker.js), and a malformed message must become a clear error, never a crash.
// Messages travel over the fork IPC channel with `serialization: 'advanced'` (structured clone),
// so params/results may hold typed arrays and non-finite numbers.

import { HybridCompressError, type ErrorCode, type ErrorContext } from '../errors';
import { parseMetricPoint as parseRunMetricPoint, type MetricPoint } from '../runs/metric-point';

/** Bumped whenever a message changes shape; the parent refuses a worker speaking another version. */
export const PROTOCOL_VERSION = 1;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface ProgressInfo {
  /** What is being done now, e.g. "forward", "layer 3/12", "distill". */
  phase: string;
  done: number;
  /** 0 when the total is unknown. */
  total: number;
  /** What `done`/`total` count, e.g. "rows", "layers", "steps". */
  unit: string;
  tokensPerS?: number;
  etaS?: number;
  message?: string;
}

/** One point of a live training curve, e.g. `{step, loss, kd_loss, lr, grad_norm}` (numbers may be non-finite). */
export type { MetricPoint } from '../runs/metric-point';

// parent → worker
export interface StartMessage {
  type: 'start';
  jobId: string;
  kind: string;
  params: unknown;
}
export interface CancelMessage {
  type: 'cancel';
  jobId: string;
}
export type ParentMessage = StartMessage | CancelMessage;

// worker → parent
/** Sent once the worker has loaded its job registry; lists the kinds it can run. */
export interface ReadyMessage {
  type: 'ready';
  protocol: number;
  pid: number;
  kinds: string[];
}
export type ProgressMessage = { type: 'progress'; jobId: string } & ProgressInfo;
export interface LogMessage {
  type: 'log';
  jobId: string;
  level: LogLevel;
  text: string;
}
export interface MetricMessage {
  type: 'metric';
  jobId: string;
  point: MetricPoint;
}
export interface ResultMessage {
  type: 'result';
  jobId: string;
  value: unknown;
}
export interface ErrorMessage {
  type: 'error';
  jobId: string;
  code: ErrorCode;
  message: string;
  context: ErrorContext;
  /** The worker-side stack, for debugging (HC_DEBUG). */
  stack?: string;
}
export type WorkerMessage = ReadyMessage | ProgressMessage | LogMessage | MetricMessage | ResultMessage | ErrorMessage;

/** Every ErrorCode, so a code received over the wire can be checked at run time. */
export const ERROR_CODES = [
  'SAFETENSORS_INVALID',
  'CHECKPOINT_INVALID',
  'CONFIG_INVALID',
  'UNSUPPORTED_ARCHITECTURE',
  'SHAPE_MISMATCH',
  'UNSAFE_FORMAT',
  'DATA_INVALID',
  'TOKENIZER_MISSING',
  'OPTION_INVALID',
  'IO_ERROR',
  'RUNTIME_ERROR',
  'CANCELLED',
  'NON_FINITE',
] as const satisfies readonly ErrorCode[];
// Fails to compile when errors.ts gains a code that is missing above.
type MissingErrorCodes = Exclude<ErrorCode, (typeof ERROR_CODES)[number]>;
const allErrorCodesListed: [MissingErrorCodes] extends [never] ? true : MissingErrorCodes = true;
void allErrorCodesListed;

export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && (ERROR_CODES as readonly string[]).includes(v);
}

/** A message that does not follow the protocol; `rule` is "protocol". */
export class ProtocolError extends HybridCompressError {
  constructor(message: string) {
    super('RUNTIME_ERROR', `invalid job message: ${message}`, { rule: 'protocol' });
    this.name = 'ProtocolError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(m: Obj, key: string, opts: { nonEmpty?: boolean; optional?: boolean } = {}): string | undefined {
  const v = m[key];
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'string') throw new ProtocolError(`"${key}" must be a string, got ${describe(v)}`);
  if (opts.nonEmpty && v.length === 0) throw new ProtocolError(`"${key}" must not be empty`);
  return v;
}
function num(m: Obj, key: string, opts: { optional?: boolean; min?: number; finite?: boolean } = {}): number | undefined {
  const v = m[key];
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new ProtocolError(`"${key}" must be a number, got ${describe(v)}`);
  if ((opts.finite ?? true) && !Number.isFinite(v)) throw new ProtocolError(`"${key}" must be finite, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw new ProtocolError(`"${key}" must be ≥ ${opts.min}, got ${v}`);
  return v;
}
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

export function parseProgressInfo(m: Obj): ProgressInfo {
  const info: ProgressInfo = {
    phase: str(m, 'phase', { nonEmpty: true })!,
    done: num(m, 'done', { min: 0 })!,
    total: num(m, 'total', { min: 0 })!,
    unit: str(m, 'unit')!,
  };
  const tokensPerS = num(m, 'tokensPerS', { optional: true, min: 0 });
  const etaS = num(m, 'etaS', { optional: true, min: 0 });
  const message = str(m, 'message', { optional: true });
  if (tokensPerS !== undefined) info.tokensPerS = tokensPerS;
  if (etaS !== undefined) info.etaS = etaS;
  if (message !== undefined) info.message = message;
  return info;
}

/** A metric point from the wire (runs/metric-point.ts), with the protocol's error type. */
export function parseMetricPoint(v: unknown): MetricPoint {
  try {
    return parseRunMetricPoint(v);
  } catch (e) {
    throw new ProtocolError(`"point": ${(e as Error).message}`);
  }
}

function parseContext(v: unknown): ErrorContext {
  if (v === undefined) return {};
  if (!isObj(v)) throw new ProtocolError(`"context" must be an object, got ${describe(v)}`);
  const ctx: ErrorContext = {};
  for (const key of ['file', 'tensor', 'option', 'rule'] as const) {
    const s = str(v, key, { optional: true });
    if (s !== undefined) ctx[key] = s;
  }
  return ctx;
}

/** Validates a message received by the worker. Throws ProtocolError. */
export function parseParentMessage(v: unknown): ParentMessage {
  if (!isObj(v)) throw new ProtocolError(`expected an object, got ${describe(v)}`);
  switch (v['type']) {
    case 'start':
      if (!('params' in v)) throw new ProtocolError('"params" is missing');
      return { type: 'start', jobId: str(v, 'jobId', { nonEmpty: true })!, kind: str(v, 'kind', { nonEmpty: true })!, params: v['params'] };
    case 'cancel':
      return { type: 'cancel', jobId: str(v, 'jobId', { nonEmpty: true })! };
    default:
      throw new ProtocolError(`unknown parent message type ${describe(v['type'])} (valid: start, cancel)`);
  }
}

/** Validates a message received by the parent. Throws ProtocolError. */
export function parseWorkerMessage(v: unknown): WorkerMessage {
  if (!isObj(v)) throw new ProtocolError(`expected an object, got ${describe(v)}`);
  const type = v['type'];
  if (type === 'ready') {
    const kinds = v['kinds'];
    if (!Array.isArray(kinds) || !kinds.every((k) => typeof k === 'string')) throw new ProtocolError('"kinds" must be an array of strings');
    const protocol = num(v, 'protocol')!;
    const pid = num(v, 'pid', { min: 0 })!;
    return { type, protocol, pid, kinds: [...kinds] as string[] };
  }
  const jobId = str(v, 'jobId', { nonEmpty: true })!;
  switch (type) {
    case 'progress':
      return { type, jobId, ...parseProgressInfo(v) };
    case 'log': {
      const level = v['level'];
      if (!LOG_LEVELS.includes(level as LogLevel)) throw new ProtocolError(`"level" must be one of ${LOG_LEVELS.join('|')}, got ${describe(level)}`);
      return { type, jobId, level: level as LogLevel, text: str(v, 'text')! };
    }
    case 'metric':
      return { type, jobId, point: parseMetricPoint(v['point']) };
    case 'result':
      if (!('value' in v)) throw new ProtocolError('"value" is missing');
      return { type, jobId, value: v['value'] };
    case 'error': {
      const code = v['code'];
      if (!isErrorCode(code)) throw new ProtocolError(`"code" must be one of ${ERROR_CODES.join('|')}, got ${describe(code)}`);
      const msg: ErrorMessage = { type, jobId, code, message: str(v, 'message')!, context: parseContext(v['context']) };
      const stack = str(v, 'stack', { optional: true });
      if (stack !== undefined) msg.stack = stack;
      return msg;
    }
    default:
      throw new ProtocolError(`unknown worker message type ${describe(type)} (valid: ready, progress, log, metric, result, error)`);
  }
}
