// One description per option of an action (field, type, default, legal values, CLI flag, task property,
// help), from which the CLI parser, the task-definition validator, the command line equivalent of a task,
// the package.json task schema and the usage text are all derived. Each stage declares its actions'
// schemas in its settings.ts; the shells only choose the schema.
//
// Errors name the option as the user wrote it (--flag on the command line, "property" in tasks.json) and
// say what is legal. A flag given twice, a value that looks like another flag, a number out of range and an
// unknown option are refused, never guessed at.

import { isAbsolute, resolve } from 'node:path';
import { HybridCompressError } from '../errors';

export type OptionType = 'string' | 'path' | 'integer' | 'number' | 'fraction' | 'boolean' | 'integer-list' | 'string-list';

export interface OptionField {
  /** Settings key and task property (camelCase). */
  key: string;
  type: OptionType;
  /** One line for --help and the task schema. */
  help: string;
  /** CLI flag without the dashes (default: the key in kebab-case). */
  flag?: string;
  /** Legal values (string options). */
  choices?: readonly string[];
  /** Bounds (numbers; lists: each element). */
  min?: number;
  max?: number;
  default?: string | number | boolean;
  required?: boolean;
  /** Taken as the CLI's first positional argument instead of a flag (the task property keeps the key). */
  positional?: boolean;
  /** Not a task property (CLI output switches such as --json). */
  cliOnly?: boolean;
  /** Repeatable on the command line (the values form a list); a comma-separated string in tasks. */
  multiple?: boolean;
  /** Value name in usage text, e.g. "N", "file". */
  placeholder?: string;
  /** Path values taken literally rather than as a path (e.g. "random" for --importance). */
  literal?: readonly string[];
  /** A one-letter alias (switches only), e.g. "f" for -f. */
  short?: string;
}

export interface ActionSchema {
  /** The command line before the options, e.g. "calibrate" or "recipe megatron". */
  command: string;
  fields: readonly OptionField[];
}

export type OptionValues = Record<string, unknown>;

export const flagOf = (f: OptionField): string => f.flag ?? f.key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

function fail(option: string, message: string): never {
  throw new HybridCompressError('OPTION_INVALID', `${option} ${message}`, { option: option.replace(/^--|^"|"$/g, '') });
}

function range(f: OptionField): string {
  if (f.min !== undefined && f.max !== undefined) return ` from ${f.min} to ${f.max}`;
  if (f.min !== undefined) return ` ≥ ${f.min}`;
  if (f.max !== undefined) return ` ≤ ${f.max}`;
  return '';
}

/** Converts one raw value (CLI text, or a tasks.json value) to the field's type, or fails naming `option`. */
export function convertValue(f: OptionField, raw: unknown, option: string, base?: string): unknown {
  const text = typeof raw === 'string' ? raw.trim() : undefined;
  const inRange = (n: number) => (f.min === undefined || n >= f.min) && (f.max === undefined || n <= f.max);
  switch (f.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      return fail(option, `must be true or false, got ${JSON.stringify(raw)}`);
    case 'integer': {
      const n = typeof raw === 'number' ? raw : text !== undefined && /^[-+]?\d+$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n) || !inRange(n)) return fail(option, `must be an integer${range(f)}, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'number': {
      const n = typeof raw === 'number' ? raw : text !== undefined && text !== '' ? Number(text) : NaN;
      if (!Number.isFinite(n) || !inRange(n)) return fail(option, `must be a number${range(f)}, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'fraction': {
      const pct = text !== undefined ? /^(\d+(?:\.\d+)?)%$/.exec(text) : null;
      const n = typeof raw === 'number' ? raw : pct ? Number(pct[1]) / 100 : text !== undefined && text !== '' ? Number(text) : NaN;
      if (!Number.isFinite(n) || n < 0 || n > 1) return fail(option, `must be a fraction like 0.05 or 5%, between 0 and 1, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'integer-list': {
      const parts = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : Array.isArray(raw) ? raw : [raw];
      const out = parts.map((p) => (typeof p === 'number' ? p : typeof p === 'string' && /^\d+$/.test(p) ? Number(p) : NaN));
      if (out.length === 0 || out.some((n) => !Number.isSafeInteger(n) || !inRange(n))) return fail(option, `must be a comma-separated list of integers${range(f)} like 3,7, got ${JSON.stringify(raw)}`);
      return out;
    }
    case 'string-list': {
      const parts = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : Array.isArray(raw) && raw.every((x) => typeof x === 'string') ? (raw as string[]) : undefined;
      if (!parts || parts.length === 0) return fail(option, `must be a non-empty list, got ${JSON.stringify(raw)}`);
      return parts;
    }
    case 'string':
    case 'path': {
      if (typeof raw !== 'string' || raw === '') return fail(option, `must be a non-empty string, got ${JSON.stringify(raw)}`);
      // Control characters in a value are never intended and break logs and generated scripts.
      if (/[\u0000-\u001f\u007f]/.test(raw)) return fail(option, `contains a control character (newline, tab, …): ${JSON.stringify(raw)}`);
      if (f.choices && !f.choices.includes(raw)) return fail(option, `must be one of ${f.choices.join('|')}, got ${JSON.stringify(raw)}`);
      if (f.type === 'path' && base !== undefined && !isAbsolute(raw) && !f.literal?.includes(raw)) return resolve(base, raw);
      return raw;
    }
  }
}

function withDefaults(schema: ActionSchema, out: OptionValues, option: (f: OptionField) => string): OptionValues {
  for (const f of schema.fields) {
    if (out[f.key] !== undefined) continue;
    if (f.required) fail(option(f), f.positional ? 'is required' : `is required (${f.help})`);
    if (f.default !== undefined) out[f.key] = f.default;
  }
  return out;
}

/**
 * Parses a command line against the schema. Paths resolve against `cwd`. Unknown flags, repeated flags
 * (other than `multiple` ones), a missing value and values out of their legal set are errors naming the flag.
 */
export function parseArgv(schema: ActionSchema, argv: readonly string[], cwd: string): OptionValues {
  const byFlag = new Map(schema.fields.filter((f) => !f.positional).map((f) => [flagOf(f), f]));
  const positional = schema.fields.filter((f) => f.positional);
  const out: OptionValues = {};
  const seen = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let tok = argv[i]!;
    const alias = /^-([A-Za-z])$/.exec(tok);
    if (alias) {
      const f = schema.fields.find((x) => x.short === alias[1]);
      if (f) tok = `--${flagOf(f)}`;
    }
    if (!tok.startsWith('--') || tok === '--') {
      if (tok.startsWith('-') && tok !== '-' && !/^-\d/.test(tok)) fail(tok, `is not an option of ${schema.command} (options are --name or --name=value)`);
      positionals.push(tok);
      continue;
    }
    const eq = tok.indexOf('=');
    const name = tok.slice(2, eq < 0 ? undefined : eq);
    const f = byFlag.get(name);
    if (!f) {
      const near = [...byFlag.keys()].filter((k) => k.includes(name) || name.includes(k)).slice(0, 3);
      fail(`--${name}`, `is not an option of ${schema.command}${near.length ? ` (did you mean ${near.map((k) => `--${k}`).join(', ')}?)` : ''}; see --help`);
    }
    let raw: unknown;
    if (f.type === 'boolean') {
      if (eq >= 0) fail(`--${name}`, 'is a switch and takes no value');
      raw = true;
    } else if (eq >= 0) raw = tok.slice(eq + 1);
    else {
      const next = argv[i + 1];
      // A value may start with "-" (a negative number is then refused by its range, with a clear message),
      // but not with "--": that is the next option, so this one has no value.
      if (next === undefined || next.startsWith('--')) fail(`--${name}`, `needs a value${f.placeholder ? ` (${f.placeholder})` : ''}`);
      raw = next;
      i++;
    }
    const value = convertValue(f, raw, `--${name}`, cwd);
    if (f.multiple) {
      const list = (out[f.key] as unknown[] | undefined) ?? [];
      list.push(value);
      out[f.key] = list;
      continue;
    }
    if (seen.has(f.key)) fail(`--${name}`, `is given twice (${seen.get(f.key)} and ${JSON.stringify(raw)}); give it once`);
    seen.set(f.key, JSON.stringify(raw));
    out[f.key] = value;
  }
  if (positionals.length > positional.length) fail(JSON.stringify(positionals[positional.length]), `is an unexpected argument to ${schema.command}`);
  positional.forEach((f, i) => {
    if (positionals[i] !== undefined) out[f.key] = convertValue(f, positionals[i], `<${f.placeholder ?? f.key}>`, cwd);
  });
  return withDefaults(schema, out, (f) => (f.positional ? `<${f.placeholder ?? f.key}>` : `--${flagOf(f)}`));
}

/** Validates a tasks.json definition (properties = keys) against the schema; paths resolve against `workspace`. */
export function parseTaskDefinition(schema: ActionSchema, definition: Record<string, unknown>, workspace: string, ignore: readonly string[] = []): OptionValues {
  const byKey = new Map(schema.fields.filter((f) => !f.cliOnly).map((f) => [f.key, f]));
  const out: OptionValues = {};
  for (const [key, value] of Object.entries(definition)) {
    if (ignore.includes(key)) continue;
    const f = byKey.get(key);
    if (!f) fail(`"${key}"`, `is not a property of "${schema.command}" tasks (valid: ${[...byKey.keys()].join(', ')})`);
    if (value === undefined || value === null || value === '') continue;
    out[key] = f.multiple && typeof value === 'string' ? value.split(',').map((v) => convertValue(f, v.trim(), `"${key}"`, workspace)) : convertValue(f, value, `"${key}"`, workspace);
  }
  return withDefaults(schema, out, (f) => `"${f.key}"`);
}

/**
 * Checks values that crossed a process boundary (a worker job's parameters) against the schema: every
 * field present must have its type and legal value. Keys the schema does not name are left to the caller.
 */
export function checkValues(schema: ActionSchema, values: Record<string, unknown>, what = 'job parameter'): void {
  for (const f of schema.fields) {
    const v = values[f.key];
    if (v === undefined) continue;
    if (f.type === 'fraction' && typeof v !== 'number') fail(`${what} "${f.key}"`, `must be a number between 0 and 1, got ${JSON.stringify(v)}`);
    convertValue(f, v, `${what} "${f.key}"`);
  }
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command line for `values` (defaults left out), shell-quoted: what a task runs, repeatable outside VS Code. */
export function commandLine(schema: ActionSchema, values: OptionValues, program = 'hybrid-compress'): string {
  const parts = [program, schema.command];
  for (const f of schema.fields) if (f.positional && values[f.key] !== undefined) parts.push(quote(String(values[f.key])));
  for (const f of schema.fields) {
    const v = values[f.key];
    if (f.positional || f.cliOnly || v === undefined || v === f.default) continue;
    const flag = `--${flagOf(f)}`;
    if (f.type === 'boolean') {
      if (v === true) parts.push(flag);
    } else if (f.multiple && Array.isArray(v)) for (const x of v) parts.push(flag, quote(String(x)));
    else parts.push(flag, quote(Array.isArray(v) ? v.join(',') : String(v)));
  }
  return parts.join(' ');
}

/** One usage line: positional, then every flag with its placeholder (optional ones in brackets). */
export function usageOf(schema: ActionSchema, program = 'hybrid-compress'): string {
  const parts = [program, schema.command];
  for (const f of schema.fields) if (f.positional) parts.push(`<${f.placeholder ?? f.key}>`);
  for (const f of schema.fields) {
    if (f.positional) continue;
    const value = f.type === 'boolean' ? '' : ` ${f.choices ? f.choices.join('|') : (f.placeholder ?? 'X')}`;
    parts.push(f.required ? `--${flagOf(f)}${value}` : `[--${flagOf(f)}${value}]`);
  }
  return parts.join(' ');
}

/** --help text: the usage line, then one line per option with its default. */
export function helpOf(schema: ActionSchema, summary: string): string {
  const lines = [summary, '', `usage: ${usageOf(schema)}`, ''];
  const label = (f: OptionField) => (f.positional ? `<${f.placeholder ?? f.key}>` : `--${flagOf(f)}`);
  const w = Math.max(...schema.fields.map((f) => label(f).length));
  for (const f of schema.fields) lines.push(`  ${label(f).padEnd(w)}  ${f.help}${f.default !== undefined && f.type !== 'boolean' ? ` (default ${f.default})` : ''}`);
  return lines.join('\n');
}

/** JSON-schema property of a field, as package.json's taskDefinitions declares it. */
export function taskProperty(f: OptionField, description: string): Record<string, unknown> {
  const type = f.type === 'integer' ? 'integer' : f.type === 'number' ? 'number' : f.type === 'boolean' ? 'boolean' : f.type === 'fraction' ? ['number', 'string'] : 'string';
  const p: Record<string, unknown> = { type, description };
  if (f.choices) p['enum'] = [...f.choices];
  if ((f.type === 'integer' || f.type === 'number') && f.min !== undefined) p['minimum'] = f.min;
  if ((f.type === 'integer' || f.type === 'number') && f.max !== undefined) p['maximum'] = f.max;
  return p;
}
