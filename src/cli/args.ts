// Option parsing shared by the commands (node:util parseArgs plus typed number/enum readers
// whose errors name the option and the valid values).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HybridCompressError } from '../core/errors';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs(argv: string[], options: OptionSpec, usage: string): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals };
  } catch (e) {
    throw new HybridCompressError('OPTION_INVALID', `${(e as Error).message.split('\n')[0]}\nusage: ${usage}`);
  }
}

export function optString(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function optInt(values: Record<string, unknown>, name: string, def: number, opts: { min?: number; max?: number } = {}): number {
  const v = values[name];
  if (v === undefined) return def;
  const n = Number(v);
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v) || n < min || n > max) {
    throw new HybridCompressError('OPTION_INVALID', `--${name} must be an integer${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}, got ${JSON.stringify(v)}`, { option: name });
  }
  return n;
}

export function optNumber(values: Record<string, unknown>, name: string, def: number, opts: { min?: number; max?: number } = {}): number {
  const v = values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    throw new HybridCompressError('OPTION_INVALID', `--${name} must be a number${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}, got ${JSON.stringify(v)}`, { option: name });
  }
  return n;
}

export function optEnum<T extends string>(values: Record<string, unknown>, name: string, allowed: readonly T[], def: T): T {
  const v = values[name];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new HybridCompressError('OPTION_INVALID', `--${name} must be one of ${allowed.join('|')}, got ${JSON.stringify(v)}`, { option: name });
  }
  return v as T;
}

export function requirePositional(positionals: string[], index: number, what: string, usage: string): string {
  const v = positionals[index];
  if (v === undefined) throw new HybridCompressError('OPTION_INVALID', `missing ${what}\nusage: ${usage}`);
  return v;
}
