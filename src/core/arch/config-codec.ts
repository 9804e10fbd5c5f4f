// The one reader and writer of config.json. Reading accepts what any transformers version writes:
// standard JSON, the bare Infinity / -Infinity / NaN tokens of Python's json.dumps (transformers 4.x),
// and transformers 5.x's tagged form {"__float__": "Infinity"} (configuration_utils.py,
// `PreTrainedConfig._encode_special_floats` / `_decode_special_floats`: the tags are "Infinity",
// "-Infinity" and "NaN", in any dict or list). Writing keeps every key whose value did not change
// byte for byte as the source had it, writes changed values with the type transformers declares for
// the key (upstream-config-types.ts: a float stays `0.0`, never `0`), and writes non-finite values
// the way the source wrote them (tagged for a fresh config, as transformers 5.x writes them).

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { HybridCompressError } from '../errors';
import { parseJson } from '../util/json';
import { upstreamNumberKind } from './upstream-config-types';

const FLOAT_TAG = '__float__';
const FLOAT_TAGS: Record<string, number> = { Infinity: Infinity, '-Infinity': -Infinity, NaN: NaN };

export type NonFiniteStyle = 'tagged' | 'bare';

/** One top-level member of the source text: `lead` + `"key": value` (`raw`) + `trail`. */
interface SourceMember {
  key: string;
  lead: string;
  raw: string;
  /** Just the value's text, for its number formatting. */
  valueText: string;
  /** Text between the key and the value, e.g. ": ". */
  colon: string;
  trail: string;
  value: unknown;
}

interface ConfigOrigin {
  text: string;
  /** Text up to and including the opening brace. */
  head: string;
  /** Whitespace after the last member, the closing brace and what follows (the final newline). */
  tail: string;
  members: SourceMember[];
  /** Separator between a key and its value, e.g. ": ". */
  colon: string;
  /** One level of indentation ("  "), or "" for a single-line file. */
  indent: string;
  nonFinite: NonFiniteStyle;
}

// The source text of each decoded config, so that a writer can keep what it did not change. Objects
// derived with `withConfigChanges` share their base's origin.
const origins = new WeakMap<object, ConfigOrigin>();

function configError(file: string, message: string): HybridCompressError {
  return new HybridCompressError('CONFIG_INVALID', `${file}: ${message}`, { file });
}

/** Replaces transformers' {"__float__": tag} objects by the numbers they stand for, in any dict or list. */
export function decodeTaggedFloats(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeTaggedFloats);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === FLOAT_TAG && typeof o[FLOAT_TAG] === 'string' && (o[FLOAT_TAG] as string) in FLOAT_TAGS) return FLOAT_TAGS[o[FLOAT_TAG] as string];
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = decodeTaggedFloats(o[k]);
    return out;
  }
  return v;
}

/** Index just past the JSON value starting at `i` (the text is already known to be valid JSON). */
function skipValue(text: string, i: number): number {
  let depth = 0;
  for (;;) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '{' || c === '[') {
      depth++;
      i++;
    } else if (c === '}' || c === ']') {
      depth--;
      i++;
    } else if (depth > 0) i++;
    else {
      while (i < text.length && !/[\s,}\]]/.test(text[i]!)) i++;
      return i;
    }
    if (depth === 0) return i;
  }
}

function skipWs(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

function scanOrigin(text: string, decoded: Record<string, unknown>): ConfigOrigin {
  let i = skipWs(text, 0);
  const head = text.slice(0, i + 1);
  i++;
  const members: SourceMember[] = [];
  let tailStart = i;
  let colon = ': ';
  for (;;) {
    const keyStart = skipWs(text, i);
    if (text[keyStart] === '}') {
      tailStart = i;
      break;
    }
    const lead = text.slice(i, keyStart);
    const keyEnd = skipValue(text, keyStart);
    const key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
    const valueStart = skipWs(text, skipWs(text, keyEnd) + 1);
    if (members.length === 0) colon = text.slice(keyEnd, valueStart);
    const valueEnd = skipValue(text, valueStart);
    const after = skipWs(text, valueEnd);
    const m: SourceMember = { key, lead, raw: text.slice(keyStart, valueEnd), valueText: text.slice(valueStart, valueEnd), colon: text.slice(keyEnd, valueStart), trail: text.slice(valueEnd, after), value: decoded[key] };
    members.push(m);
    if (text[after] === ',') i = after + 1;
    else {
      m.trail = '';
      tailStart = valueEnd;
      break;
    }
  }
  const first = members[0];
  const indent = first && first.lead.includes('\n') ? first.lead.slice(first.lead.lastIndexOf('\n') + 1) : '';
  return { text, head, tail: text.slice(tailStart), members, colon, indent, nonFinite: nonFiniteStyleOf(text, decoded) };
}

/** Tagged if the source has a {"__float__": …} tag, bare if it has a bare token; else by transformers_version. */
function nonFiniteStyleOf(text: string, decoded: Record<string, unknown>): NonFiniteStyle {
  if (/"__float__"\s*:/.test(text)) return 'tagged';
  if (/(?:^|[\s,[:])-?(?:Infinity|NaN)(?=[\s,\]}])/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) return 'bare';
  const v = decoded['transformers_version'];
  return typeof v === 'string' && /^[0-4]\./.test(v) ? 'bare' : 'tagged';
}

/**
 * Decodes config.json text into a plain object (non-finite numbers as JS numbers) and remembers the
 * text, so `encodeConfig` can keep what was not changed. `file` names the file in errors.
 */
export function decodeConfig(text: string, file = 'config.json'): Record<string, unknown> {
  let v: unknown;
  try {
    // Python's json keeps the last of repeated keys; so do we.
    v = parseJson(text, { allowNonFinite: true, rejectDuplicateKeys: false });
  } catch (e) {
    throw configError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw configError(file, 'must contain a JSON object');
  const config = decodeTaggedFloats(v) as Record<string, unknown>;
  origins.set(config, scanOrigin(text, config));
  return config;
}

/** Reads and decodes a config.json file; errors name the file. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HybridCompressError('IO_ERROR', `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file: path });
  }
  return decodeConfig(text, path);
}

/** A copy of `config` with `changes` applied (existing keys keep their place, new keys go last); keeps the source text for the writer. */
export function withConfigChanges(config: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) out[k] = k in changes ? changes[k] : v;
  for (const [k, v] of Object.entries(changes)) if (!(k in out)) out[k] = v;
  const origin = origins.get(config);
  if (origin) origins.set(out, origin);
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) || a === b;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/** Python's repr of a float (what json.dumps writes): shortest round-trip digits, ".0" on whole numbers, exponent form below 1e-4 and from 1e16. */
export function pythonFloatRepr(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`pythonFloatRepr: ${x} is not finite`);
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let s: string;
  if (exp >= 0) {
    const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    s = `${int}.${frac || '0'}`;
  } else s = `0.${'0'.repeat(-exp - 1)}${digits}`;
  return (neg ? '-' : '') + s;
}

/** A string as Python's json.dumps writes it (ensure_ascii: non-ASCII as \uXXXX). */
function pythonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

interface EncodeContext {
  key: string;
  kind: 'float' | 'int' | undefined;
  nonFinite: NonFiniteStyle;
  indent: string;
  file: string;
  modelType: unknown;
}

function encodeNumber(v: number, c: EncodeContext): string {
  if (!Number.isFinite(v)) {
    const tag = Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    return c.nonFinite === 'bare' ? tag : '\0' + tag; // placeholder, expanded by encodeValue
  }
  if (c.kind === 'int' && !Number.isInteger(v)) {
    throw configError(c.file, `"${c.key}" would be written as ${v}, but transformers' ${String(c.modelType)} config declares it an integer`);
  }
  if (c.kind === 'float' || !Number.isInteger(v)) return pythonFloatRepr(v);
  return String(v);
}

/** One value as json.dumps(indent=len(c.indent)) writes it at nesting `depth` (1 = a top-level member). */
function encodeValue(v: unknown, c: EncodeContext, depth: number): string {
  const nl = (d: number) => (c.indent ? '\n' + c.indent.repeat(d) : '');
  const comma = c.indent ? ',' : ', ';
  if (typeof v === 'number') {
    const s = encodeNumber(v, c);
    if (!s.startsWith('\0')) return s;
    return encodeValue({ [FLOAT_TAG]: s.slice(1) }, c, depth);
  }
  if (typeof v === 'string') return pythonString(v);
  if (v === null || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return '[' + v.map((x) => nl(depth + 1) + encodeValue(x, c, depth + 1)).join(comma) + nl(depth) + ']';
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return '{' + entries.map(([k, x]) => nl(depth + 1) + pythonString(k) + ': ' + encodeValue(x, c, depth + 1)).join(comma) + nl(depth) + '}';
  }
  throw configError(c.file, `"${c.key}" has a value of type ${typeof v}, which JSON cannot hold`);
}

/** The number style of the source's own text for a key (unknown keys keep theirs: "1.0" stays a float). */
function sourceNumberKind(valueText: string | undefined): 'float' | undefined {
  if (valueText === undefined) return undefined;
  return /"__float__"/.test(valueText) || /[.eE]|Infinity|NaN/.test(valueText.replace(/"(?:[^"\\]|\\.)*"/g, '""')) ? 'float' : undefined;
}

export interface EncodeOptions {
  /** Names the file in errors. */
  file?: string;
  /** Indentation of a fresh config (default 2 spaces, as transformers writes). */
  indent?: number;
}

/**
 * config.json text for `config`. When `config` (or the config it was derived from with
 * `withConfigChanges`) was decoded from text, unchanged members are copied from that text verbatim
 * and only changed or new ones are encoded; otherwise the whole object is encoded as transformers 5.x
 * writes it. The text ends with a newline.
 */
export function encodeConfig(config: Record<string, unknown>, options: EncodeOptions = {}): string {
  const file = options.file ?? 'config.json';
  const origin = origins.get(config);
  const modelType = config['model_type'];
  const entries = Object.entries(config).filter(([, v]) => v !== undefined);
  const byKey = new Map(origin?.members.map((m) => [m.key, m]));
  const indent = origin ? origin.indent : ' '.repeat(options.indent ?? 2);
  const colon = origin ? origin.colon : ': ';
  const nonFinite = origin?.nonFinite ?? 'tagged';
  const lastSource = origin?.members[origin.members.length - 1];
  const defaultLead = lastSource?.lead ?? (indent ? '\n' + indent : '');
  const members = entries.map(([key, value], i) => {
    const src = byKey.get(key);
    const isLast = i === entries.length - 1;
    if (src && sameValue(src.value, value)) return { lead: src.lead, text: src.raw, trail: src === lastSource || isLast ? '' : src.trail };
    const kind = upstreamNumberKind(modelType, key) ?? sourceNumberKind(src?.valueText);
    const text = pythonString(key) + (src?.colon ?? colon) + encodeValue(value, { key, kind, nonFinite, indent, file, modelType }, 1);
    return { lead: src?.lead ?? defaultLead, text, trail: '' };
  });
  if (origin && members.length === origin.members.length && entries.every(([k, v], i) => origin.members[i]!.key === k && sameValue(origin.members[i]!.value, v))) return origin.text;
  const head = origin?.head ?? '{';
  const tail = origin ? origin.tail : (indent && entries.length > 0 ? '\n' : '') + '}\n';
  return head + members.map((m) => m.lead + m.text + m.trail).join(',') + tail;
}

/** Writes `encodeConfig(config)` to `path`. */
export async function writeConfigFile(path: string, config: Record<string, unknown>): Promise<void> {
  await writeFile(path, encodeConfig(config, { file: path }));
}
