// run.json: the one description of a run folder, shared by the CLI (which writes it) and the
// extension (whose Runs tree reads it). Validated on read: the folder lives in the user's
// workspace and may have been edited, truncated or written by another version.

import { HybridCompressError, type ErrorContext } from '../errors';

export type RunStatus = 'running' | 'done' | 'failed' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'done', 'failed', 'cancelled'];

export interface RunError {
  code: string;
  message: string;
  context?: ErrorContext;
}

export interface RunRecord {
  /** `<UTC timestamp>-<kind>`, e.g. "20250131T120501Z-calibrate" (a "-2" suffix when two start in the same second). */
  id: string;
  /** The job kind: calibrate, prune, search, distill, eval, … */
  kind: string;
  status: RunStatus;
  /** ISO 8601 UTC. */
  created: string;
  updated: string;
  /** What the run reads (model dir, data file, importance run, …), as given or resolved to absolute paths. */
  inputs: Record<string, unknown>;
  /** The options it ran with. */
  settings: Record<string, unknown>;
  /** Seconds per phase; `total` is set when the run ends. */
  timings: Record<string, number>;
  /** Execution provider actually used (cpu, webgpu, cuda). */
  ep?: string;
  /** Key figures of a finished run (final loss, params, output paths); JSON data. */
  result?: unknown;
  error?: RunError;
  /** Process that owns the run while it is running, and its host: a dead owner means the run was interrupted. */
  pid?: number;
  host?: string;
}

export { RUN_FILE, METRICS_FILE } from './layout';

const KIND_RE = /^[a-z][a-z0-9-]*$/;

export function checkKind(kind: string): void {
  if (!KIND_RE.test(kind)) {
    throw new HybridCompressError('OPTION_INVALID', `run kind ${JSON.stringify(kind)} is invalid: use lower-case letters, digits and dashes, starting with a letter`);
  }
}

/** `20250131T120501Z-calibrate` for a run started at 2025-01-31 12:05:01.xxx UTC. */
export function makeRunId(kind: string, date: Date = new Date()): string {
  checkKind(kind);
  const iso = date.toISOString(); // 2025-01-31T12:05:01.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z-${kind}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** parseJson builds null-prototype objects (safe against "__proto__" keys); callers get ordinary ones. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (!isObj(v)) return v;
  const out: Obj = {};
  // defineProperty, not assignment: a "__proto__" key stays an ordinary own property.
  for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: plain(x), enumerable: true, writable: true, configurable: true });
  return out;
}

/** Checks the shape of a parsed run.json; `file` names it in the error. */
export function validateRunRecord(v: unknown, file: string): RunRecord {
  const bad = (what: string): never => {
    throw new HybridCompressError('DATA_INVALID', `${file}: ${what}`, { file, rule: 'run-json' });
  };
  if (!isObj(v)) return bad('expected a JSON object');
  const s = (key: string) => (typeof v[key] === 'string' && (v[key] as string).length > 0 ? (v[key] as string) : bad(`"${key}" must be a non-empty string`));
  const o = (key: string) => (isObj(v[key]) ? (v[key] as Obj) : bad(`"${key}" must be an object`));
  const rec: RunRecord = {
    id: s('id'),
    kind: s('kind'),
    status: RUN_STATUSES.includes(v['status'] as RunStatus) ? (v['status'] as RunStatus) : bad(`"status" must be one of ${RUN_STATUSES.join('|')}, got ${JSON.stringify(v['status'])}`),
    created: s('created'),
    updated: s('updated'),
    inputs: plain(o('inputs')) as Obj,
    settings: plain(o('settings')) as Obj,
    timings: {},
  };
  for (const key of ['created', 'updated'] as const) if (Number.isNaN(Date.parse(rec[key]))) bad(`"${key}" must be an ISO 8601 date, got ${JSON.stringify(rec[key])}`);
  for (const [k, x] of Object.entries(o('timings'))) {
    if (typeof x !== 'number') bad(`timing "${k}" must be a number of seconds`);
    rec.timings[k] = x as number;
  }
  if (v['ep'] !== undefined) rec.ep = s('ep');
  if (v['result'] !== undefined) rec.result = plain(v['result']);
  if (v['error'] !== undefined) {
    const e = o('error');
    if (typeof e['code'] !== 'string' || typeof e['message'] !== 'string') bad('"error" must have string "code" and "message"');
    rec.error = { code: e['code'] as string, message: e['message'] as string };
    if (isObj(e['context'])) rec.error.context = { ...e['context'] } as ErrorContext;
  }
  if (v['pid'] !== undefined) {
    if (!Number.isInteger(v['pid']) || (v['pid'] as number) <= 0) bad('"pid" must be a positive integer');
    rec.pid = v['pid'] as number;
  }
  if (v['host'] !== undefined) rec.host = s('host');
  return rec;
}
