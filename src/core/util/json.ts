// A small strict JSON parser with two options the platform's JSON.parse lacks:
// - `allowNonFinite`: accept the bare Infinity / -Infinity / NaN tokens Python's json.dumps writes
//   (transformers puts them into config.json, e.g. "time_step_limit": [0.0, Infinity]);
// - duplicate object keys are reported (safetensors headers must not repeat a tensor name).
// Also a stringifier that writes non-finite numbers back as those tokens, so Python reads them.

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
    /** Set for a repeated key: the key and the nesting depth of its object (1 = the top-level object). */
    readonly duplicateKey?: { key: string; depth: number },
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export interface JsonParseOptions {
  allowNonFinite?: boolean;
  /** Throw on a repeated key in any object (default true). */
  rejectDuplicateKeys?: boolean;
  /** Limit on nesting depth, so hostile input cannot exhaust the stack (default 64). */
  maxDepth?: number;
  /** Filled with [start, end) of each top-level object member's value text (the last one for a repeated key). */
  topLevelSpans?: Map<string, [number, number]>;
}

export function parseJson(text: string, options: JsonParseOptions = {}): unknown {
  const allowNonFinite = options.allowNonFinite ?? false;
  const rejectDup = options.rejectDuplicateKeys ?? true;
  const maxDepth = options.maxDepth ?? 64;
  let i = 0;
  const n = text.length;

  const fail = (msg: string): never => {
    throw new JsonSyntaxError(`${msg} at position ${i}`, i);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const literal = (word: string, value: unknown) => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    return fail(`unexpected token`);
  };

  const parseString = (): string => {
    // i points at the opening quote
    i++;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(start, i);
        i++;
        const e = text[i];
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = text.slice(i + 1, i + 5);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad unicode escape');
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            fail('bad escape');
        }
        i++;
        start = i;
        continue;
      }
      i++;
    }
  };

  const numberRe = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const parseNumber = (): number => {
    if (allowNonFinite && text.startsWith('-Infinity', i)) {
      i += 9;
      return -Infinity;
    }
    numberRe.lastIndex = i;
    const m = numberRe.exec(text);
    if (!m || m[0].length === 0 || m[0] === '-') return fail('bad number');
    i += m[0].length;
    return Number(m[0]);
  };

  const parseValue = (depth: number): unknown => {
    if (depth > maxDepth) fail(`nesting deeper than ${maxDepth}`);
    ws();
    if (i >= n) fail('unexpected end of input');
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const keyPos = i;
        const key = parseString();
        if (rejectDup && seen.has(key)) {
          i = keyPos;
          throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)} at position ${i}`, i, { key, depth: depth + 1 });
        }
        seen.add(key);
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        if (depth === 0 && options.topLevelSpans) {
          ws();
          const start = i;
          obj[key] = parseValue(depth + 1);
          options.topLevelSpans.set(key, [start, i]);
        } else obj[key] = parseValue(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return parseString();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    if (allowNonFinite && c === 'I') return literal('Infinity', Infinity);
    if (allowNonFinite && c === 'N') return literal('NaN', NaN);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return parseNumber();
    return fail('unexpected token');
  };

  const value = parseValue(0);
  ws();
  if (i !== n) fail('unexpected data after the JSON value');
  return value;
}

/** Like JSON.stringify, but writes Infinity/-Infinity/NaN as bare tokens (Python's json reads them). */
export function stringifyJson(value: unknown, indent = 2): string {
  const pad = (d: number) => (indent > 0 ? '\n' + ' '.repeat(indent * d) : '');
  const sep = indent > 0 ? ': ' : ':';
  const walk = (v: unknown, d: number): string => {
    if (typeof v === 'number') {
      if (Number.isNaN(v)) return 'NaN';
      if (v === Infinity) return 'Infinity';
      if (v === -Infinity) return '-Infinity';
      return JSON.stringify(v);
    }
    if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return '[' + v.map((x) => pad(d + 1) + walk(x, d + 1)).join(',') + pad(d) + ']';
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return '{' + entries.map(([k, x]) => pad(d + 1) + JSON.stringify(k) + sep + walk(x, d + 1)).join(',') + pad(d) + '}';
  };
  return walk(value, 0);
}
