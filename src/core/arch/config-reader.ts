// Typed access to config.json values with aliases and defaults; errors name the key and what is valid.

import { HybridCompressError } from '../errors';

/** A config value for messages: JSON, but NaN and ±Infinity by name (JSON.stringify would say null). */
function show(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
}

export class ConfigReader {
  constructor(
    readonly config: Record<string, unknown>,
    readonly source = 'config.json',
  ) {}

  has(...keys: string[]): boolean {
    return keys.some((k) => this.config[k] !== undefined && this.config[k] !== null);
  }

  /** The first key (of aliases) present, for error messages. */
  keyOf(...keys: string[]): string {
    return keys.find((k) => this.config[k] !== undefined && this.config[k] !== null) ?? keys[0]!;
  }

  raw(...keys: string[]): unknown {
    for (const k of keys) {
      const v = this.config[k];
      if (v !== undefined && v !== null) return v;
    }
    return undefined;
  }

  int(keys: string | string[], def?: number, min = 1): number {
    const ks = typeof keys === 'string' ? [keys] : keys;
    const v = this.raw(...ks);
    if (v === undefined) {
      if (def === undefined) throw this.error(ks[0]!, 'is required but missing', 'an integer');
      return def;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw this.error(this.keyOf(...ks), `is ${show(v)}`, `an integer ≥ ${min}`);
    return v;
  }

  /** A number; `positive`: finite and > 0 (an epsilon, a step size). */
  num(keys: string | string[], def: number, o: { positive?: boolean } = {}): number {
    const ks = typeof keys === 'string' ? [keys] : keys;
    const v = this.raw(...ks);
    if (v === undefined) return def;
    if (typeof v !== 'number' || Number.isNaN(v)) throw this.error(this.keyOf(...ks), `is ${show(v)}`, o.positive ? 'a positive number' : 'a number');
    if (o.positive && !(Number.isFinite(v) && v > 0)) throw this.error(this.keyOf(...ks), `is ${show(v)}`, 'a positive finite number');
    return v;
  }

  bool(keys: string | string[], def: boolean): boolean {
    const ks = typeof keys === 'string' ? [keys] : keys;
    const v = this.raw(...ks);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') throw this.error(this.keyOf(...ks), `is ${show(v)}`, 'true or false');
    return v;
  }

  str(keys: string | string[], def?: string): string {
    const ks = typeof keys === 'string' ? [keys] : keys;
    const v = this.raw(...ks);
    if (v === undefined) {
      if (def === undefined) throw this.error(ks[0]!, 'is required but missing', 'a string');
      return def;
    }
    if (typeof v !== 'string') throw this.error(this.keyOf(...ks), `is ${show(v)}`, 'a string');
    return v;
  }

  /** A [lo, hi] pair of numbers (hi may be Infinity). */
  range(keys: string | string[], def: [number, number]): [number, number] {
    const ks = typeof keys === 'string' ? [keys] : keys;
    const v = this.raw(...ks);
    if (v === undefined) return def;
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && !Number.isNaN(x)) || (v[0] as number) > (v[1] as number)) {
      throw this.error(this.keyOf(...ks), `is ${show(v)}`, 'a pair [lo, hi] with lo ≤ hi (hi may be Infinity)');
    }
    return [v[0] as number, v[1] as number];
  }

  error(key: string, what: string, valid: string): HybridCompressError {
    return new HybridCompressError('CONFIG_INVALID', `${this.source}: "${key}" ${what}; expected ${valid}`, { file: this.source, option: key });
  }
}
