// Where a Hugging Face checkpoint says which ids are EOS/BOS/PAD. The files disagree in form (token
// strings in tokenizer_config.json / special_tokens_map.json, ids in config.json /
// generation_config.json), so each is read and the first one that names a token wins, tokenizer files
// first: they are what the model was trained with.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HybridCompressError } from '../errors';
import { readRegularFile } from '../util/regular-file';
import { parseJson } from '../util/json';

export interface SpecialTokenIds {
  eosId?: number;
  bosId?: number;
  padId?: number;
}

export interface ModelTokenInfo extends SpecialTokenIds {
  /** `vocab_size` from config.json (embedding rows; may exceed the tokenizer's vocabulary). */
  configVocabSize?: number;
}

/** Reads a JSON file of the model folder; undefined when absent. Bad JSON is a CONFIG_INVALID error. */
export function readModelJson(dir: string, name: string): Record<string, unknown> | undefined {
  const file = join(dir, name);
  if (!existsSync(file)) return undefined;
  let value: unknown;
  try {
    value = parseJson(readRegularFile(file, 'utf8', name), { allowNonFinite: true, rejectDuplicateKeys: false, maxDepth: 256 });
  } catch (e) {
    throw new HybridCompressError('CONFIG_INVALID', `${file}: not valid JSON (${(e as Error).message})`, { file });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HybridCompressError('CONFIG_INVALID', `${file}: expected a JSON object`, { file });
  }
  return value as Record<string, unknown>;
}

/** A token entry is a string or `{content: string}` (AddedToken serialisation). */
function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return undefined;
}

/** An id entry is an integer or a list of integers (generation_config allows several EOS; the first is used). */
function tokenId(v: unknown): number | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : undefined;
}

/**
 * Special-token ids of a model folder. `tokenToId` resolves token strings (pass the tokenizer's);
 * without it only the numeric ids of config.json / generation_config.json are used.
 */
export function readModelTokenInfo(dir: string, tokenToId?: (token: string) => number | undefined): ModelTokenInfo {
  const tokCfg = readModelJson(dir, 'tokenizer_config.json');
  const stMap = readModelJson(dir, 'special_tokens_map.json');
  const genCfg = readModelJson(dir, 'generation_config.json');
  const cfg = readModelJson(dir, 'config.json');
  const pick = (key: 'eos' | 'bos' | 'pad'): number | undefined => {
    if (tokenToId) {
      for (const src of [tokCfg, stMap]) {
        const s = tokenString(src?.[`${key}_token`]);
        const id = s !== undefined ? tokenToId(s) : undefined;
        if (id !== undefined) return id;
      }
    }
    return tokenId(genCfg?.[`${key}_token_id`]) ?? tokenId(cfg?.[`${key}_token_id`]);
  };
  const out: ModelTokenInfo = {};
  const eos = pick('eos');
  const bos = pick('bos');
  const pad = pick('pad');
  if (eos !== undefined) out.eosId = eos;
  if (bos !== undefined) out.bosId = bos;
  if (pad !== undefined) out.padId = pad;
  const vs = cfg?.['vocab_size'];
  if (typeof vs === 'number' && Number.isInteger(vs) && vs > 0) out.configVocabSize = vs;
  return out;
}
