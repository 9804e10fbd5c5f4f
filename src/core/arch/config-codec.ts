// The one reader and writer of config.json.
//
// Reading accepts both ways Python tooling writes non-finite floats: bare `Infinity` / `-Infinity` / `NaN`
// tokens (json.dumps, transformers 4.x) and transformers 5.x's tagged objects `{"__float__": "Infinity"}`
// (PreTrainedConfig._encode_special_floats in transformers/configuration_utils.py).
//
// Writing keeps every member the caller did not change byte-for-byte as the source had it (number
// formatting, non-finite spelling, whitespace) and writes changed members with the type the key has in
// transformers' config class: transformers 5.x validates fields strictly, so a float field written as
// `0` (a Python int) is refused by from_pretrained. Floats are formatted as Python's repr does, so a value
// we write reads back the same in Python and looks like what transformers itself writes.

import { HybridCompressError } from '../errors';
import { JsonSyntaxError, parseJson } from '../util/json';
import { readRegularFile } from '../util/regular-file';

export type NonFiniteStyle = 'bare' | 'tagged';

/** A parsed config.json plus what is needed to write it back faithfully. */
export interface ConfigText {
  /** Decoded members; non-finite floats as JS numbers. */
  readonly values: Record<string, unknown>;
  readonly text: string;
  /** [start, end) of each top-level member's value in `text`. */
  readonly spans: ReadonlyMap<string, [number, number]>;
  /** How the source spelled non-finite floats (tagged when it had none: what transformers 5.x writes). */
  readonly nonFinite: NonFiniteStyle;
}

const FLOAT_TAG = '__float__';
const TAG_VALUES: Record<string, number> = { Infinity: Infinity, '-Infinity': -Infinity, NaN: NaN };

export function decodeConfigText(text: string, file = 'config.json'): ConfigText {
  const spans = new Map<string, [number, number]>();
  let raw: unknown;
  try {
    raw = parseJson(text, { allowNonFinite: true, rejectDuplicateKeys: false, topLevelSpans: spans });
  } catch (e) {
    const msg = e instanceof JsonSyntaxError ? e.message : String(e);
    throw new HybridCompressError('CONFIG_INVALID', `${file}: not valid JSON (${msg})`, { file });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new HybridCompressError('CONFIG_INVALID', `${file}: must contain a JSON object`, { file });
  const style = { tagged: false, bare: false };
  const values = decodeSpecialFloats(raw, style) as Record<string, unknown>;
  return { values: { ...values }, text, spans, nonFinite: style.bare && !style.tagged ? 'bare' : 'tagged' };
}

/** Reads and decodes a config.json (regular files only: a FIFO would block the reader forever). */
export function readConfigText(path: string): ConfigText {
  return decodeConfigText(readRegularFile(path, 'utf8', 'config.json'), path);
}

function decodeSpecialFloats(v: unknown, style: { tagged: boolean; bare: boolean }): unknown {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) style.bare = true;
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => decodeSpecialFloats(x, style));
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === FLOAT_TAG && typeof o[FLOAT_TAG] === 'string' && o[FLOAT_TAG] in TAG_VALUES) {
      style.tagged = true;
      return TAG_VALUES[o[FLOAT_TAG] as string];
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = decodeSpecialFloats(o[k], style);
    return out;
  }
  return v;
}

// ---- upstream field types --------------------------------------------------------------------------
// The numeric fields of transformers 5.18's config dataclasses, by their annotations: PreTrainedConfig
// (transformers/configuration_utils.py), NemotronHConfig (models/nemotron_h/configuration_nemotron_h.py)
// and Mamba2Config (models/mamba2/configuration_mamba2.py); plus the legacy names NemotronHConfig.__post_init__
// maps onto fields, and NemotronHConfig's `num_hidden_layers` property. An annotation that admits float
// (`float`, `float | int`) is 'float': that is what transformers writes; one that admits int but not float
// (`int`, `int | None`, `int | list[int]`, `str | int`) is 'int'; `list[float] | tuple[float, ...]` is
// 'float[]'. test/conformance/config-types.conformance.ts checks this table against the installed classes.
export type FieldType = 'int' | 'float' | 'float[]';

const COMMON: Record<string, FieldType> = {
  // PreTrainedConfig
  chunk_size_feed_forward: 'int',
  // Both families
  vocab_size: 'int',
  hidden_size: 'int',
  conv_kernel: 'int',
  expand: 'int',
  chunk_size: 'int',
  n_groups: 'int',
  bos_token_id: 'int',
  eos_token_id: 'int',
  pad_token_id: 'int',
  initializer_range: 'float',
  layer_norm_epsilon: 'float',
  time_step_min: 'float',
  time_step_max: 'float',
  time_step_floor: 'float',
  time_step_limit: 'float[]',
};

const FIELD_TYPES: Record<string, Record<string, FieldType>> = {
  nemotron_h: {
    ...COMMON,
    num_hidden_layers: 'int', // a property derived from the layer pattern; a given value is ignored
    num_logits_to_keep: 'int',
    num_attention_heads: 'int',
    num_key_value_heads: 'int',
    head_dim: 'int',
    max_position_embeddings: 'int',
    sliding_window: 'int',
    intermediate_size: 'int',
    ssm_state_size: 'int',
    mamba_num_heads: 'int',
    mamba_head_dim: 'int',
    n_routed_experts: 'int',
    n_shared_experts: 'int',
    moe_intermediate_size: 'int',
    moe_shared_expert_intermediate_size: 'int',
    moe_latent_size: 'int',
    num_experts_per_tok: 'int',
    n_group: 'int',
    topk_group: 'int',
    num_nextn_predict_layers: 'int',
    attention_dropout: 'float',
    hidden_dropout: 'float',
    routed_scaling_factor: 'float',
    // Legacy names NemotronHConfig.__post_init__ maps onto the fields above.
    mamba_n_groups: 'int',
    mamba_d_conv: 'int',
    mamba_expand: 'int',
    mamba_chunk_size: 'int',
    mamba_dt_min: 'float',
    mamba_dt_max: 'float',
    mamba_dt_init_floor: 'float',
    mamba_dt_limit: 'float[]',
  },
  mamba2: { ...COMMON, num_hidden_layers: 'int', num_heads: 'int', head_dim: 'int', state_size: 'int', time_step_rank: 'int' },
};

/** The type transformers' config class gives `key` (undefined: not a typed numeric field we know). */
export function upstreamFieldType(modelType: string, key: string): FieldType | undefined {
  return FIELD_TYPES[modelType]?.[key];
}

/** The whole table for one model_type (for the conformance check against the installed classes). */
export function upstreamFieldTypes(modelType: string): Readonly<Record<string, FieldType>> | undefined {
  return FIELD_TYPES[modelType];
}

// ---- writing -----------------------------------------------------------------------------------------

/**
 * Python's float repr (shortest round-trip digits; exponent form when the decimal point is more than 16
 * places right or 4 places left of the first digit), which json.dumps uses: 1.0, 0.0001, 1e-05, 1e+16.
 */
export function pythonFloatRepr(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`pythonFloatRepr: ${x} is not finite`);
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = x.toExponential().split('e') as [string, string];
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const decpt = Number(expText) + 1; // x = 0.digits × 10^decpt
  let body: string;
  if (decpt > 16 || decpt < -3) {
    const e = decpt - 1;
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  } else if (decpt <= 0) body = `0.${'0'.repeat(-decpt)}${digits}`;
  else if (decpt >= digits.length) body = `${digits}${'0'.repeat(decpt - digits.length)}.0`;
  else body = `${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  return neg ? `-${body}` : body;
}

interface WriteContext {
  modelType: string;
  nonFinite: NonFiniteStyle;
  indent: string;
}

function encodeNumber(x: number, type: 'int' | 'float' | undefined, ctx: WriteContext, key: string): string {
  if (!Number.isFinite(x)) return nonFiniteTag(x);
  if (type === 'int') {
    if (!Number.isSafeInteger(x)) throw new HybridCompressError('CONFIG_INVALID', `config.json: "${key}" must be an integer for ${ctx.modelType} (transformers types it int), got ${x}`, { option: key });
    return String(x);
  }
  if (type === 'float' || !Number.isInteger(x)) return pythonFloatRepr(x);
  return String(x);
}

function nonFiniteTag(x: number): string {
  return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

/** json.dumps(indent=2)-style text of a value nested `level` deep. */
function encodeValue(v: unknown, type: FieldType | undefined, ctx: WriteContext, key: string, level: number): string {
  const pad = (d: number) => '\n' + ctx.indent.repeat(d);
  if (typeof v === 'number') {
    if (!Number.isFinite(v) && ctx.nonFinite === 'tagged') return encodeValue({ [FLOAT_TAG]: nonFiniteTag(v) }, undefined, ctx, key, level);
    return encodeNumber(v, type === 'float[]' ? 'float' : type, ctx, key);
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const elemType = type === 'float[]' ? 'float' : undefined;
    return '[' + v.map((x) => pad(level + 1) + encodeValue(x, elemType, ctx, key, level + 1)).join(',') + pad(level) + ']';
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return '{' + entries.map(([k, x]) => pad(level + 1) + JSON.stringify(k) + ': ' + encodeValue(x, undefined, ctx, key, level + 1)).join(',') + pad(level) + '}';
  }
  return JSON.stringify(v) ?? 'null';
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) || a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/** The written type of a member in the source: a number written with '.' or an exponent is a float. */
function writtenType(source: ConfigText | undefined, key: string): 'float' | undefined {
  const span = source?.spans.get(key);
  if (!span) return undefined;
  return /^-?[0-9]+(\.[0-9]+|[eE])/.test(source!.text.slice(span[0], span[1])) ? 'float' : undefined;
}

/**
 * config.json text for `values`. With `source`, members whose value did not change keep their exact source
 * text and place; changed members are replaced in place; new members go last. Without `source` (a config
 * made from scratch), the text is what transformers 5.x would write: two-space indent, tagged non-finite floats.
 */
export function encodeConfig(values: Record<string, unknown>, source?: ConfigText): string {
  const modelType = typeof values['model_type'] === 'string' ? (values['model_type'] as string) : '';
  const ctx: WriteContext = { modelType, nonFinite: source?.nonFinite ?? 'tagged', indent: source ? detectIndent(source) : '  ' };
  const member = (k: string) => {
    const t = upstreamFieldType(modelType, k) ?? writtenType(source, k);
    return encodeValue(values[k], t, ctx, k, 1);
  };
  const keys = Object.keys(values).filter((k) => values[k] !== undefined);
  const removed = source ? [...source.spans.keys()].filter((k) => values[k] === undefined) : [];
  if (source && removed.length === 0 && source.spans.size > 0) {
    // Splice edits into the source text, back to front so earlier offsets stay valid.
    const edits: Array<[number, number, string]> = [];
    for (const k of keys) {
      const span = source.spans.get(k);
      if (span && !sameValue(values[k], source.values[k])) edits.push([span[0], span[1], member(k)]);
    }
    const added = keys.filter((k) => !source.spans.has(k));
    if (added.length > 0) {
      const lastEnd = Math.max(...[...source.spans.values()].map((s) => s[1]));
      edits.push([lastEnd, lastEnd, added.map((k) => `,\n${ctx.indent}${JSON.stringify(k)}: ${member(k)}`).join('')]);
    }
    let text = source.text;
    for (const [s, e, repl] of edits.sort((a, b) => b[0] - a[0])) text = text.slice(0, s) + repl + text.slice(e);
    return text.endsWith('\n') ? text : text + '\n';
  }
  const body = keys.map((k) => {
    const span = source?.spans.get(k);
    const raw = span && sameValue(values[k], source!.values[k]) ? source!.text.slice(span[0], span[1]) : member(k);
    return `\n${ctx.indent}${JSON.stringify(k)}: ${raw}`;
  });
  return (keys.length === 0 ? '{}' : `{${body.join(',')}\n}`) + '\n';
}

function detectIndent(source: ConfigText): string {
  const m = /^\{\r?\n([ \t]+)"/.exec(source.text.trimStart());
  return m ? m[1]! : '  ';
}
