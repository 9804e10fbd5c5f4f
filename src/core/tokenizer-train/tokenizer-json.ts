// A trained byte-level BPE as the three files Hugging Face tooling reads: `tokenizer.json` (the
// `tokenizers` library's serialisation: BPE model + ByteLevel pre-tokenizer, post-processor and decoder),
// `tokenizer_config.json` (transformers' PreTrainedTokenizerFast settings) and `special_tokens_map.json`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HybridCompressError } from '../errors';
import type { BpeModel } from './bpe-trainer';

export interface SpecialTokenRoles {
  unk?: string;
  bos?: string;
  eos?: string;
  pad?: string;
}

export interface TokenizerFileSet {
  'tokenizer.json': Record<string, unknown>;
  'tokenizer_config.json': Record<string, unknown>;
  'special_tokens_map.json': Record<string, unknown>;
}

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/**
 * Builds the file set. `specialTokens` are the ids that the trainer put first (they become added tokens);
 * `roles` says which of them is BOS/EOS/UNK/PAD.
 */
export function byteLevelBpeFiles(model: BpeModel, specialTokens: readonly string[], roles: SpecialTokenRoles): TokenizerFileSet {
  const vocab: Record<string, number> = {};
  model.vocab.forEach((tok, id) => {
    if (tok in vocab) throw new HybridCompressError('DATA_INVALID', `token ${JSON.stringify(tok)} appears twice in the vocabulary (ids ${vocab[tok]} and ${id})`);
    vocab[tok] = id;
  });
  for (const [role, tok] of Object.entries(roles)) {
    if (tok !== undefined && !specialTokens.includes(tok)) {
      throw new HybridCompressError('OPTION_INVALID', `${role} token ${JSON.stringify(tok)} is not one of the special tokens ${JSON.stringify(specialTokens)}`, { option: `${role}-token` });
    }
  }
  const added = specialTokens.map((tok) => {
    const id = vocab[tok];
    if (id === undefined) throw new HybridCompressError('DATA_INVALID', `special token ${JSON.stringify(tok)} is missing from the vocabulary`);
    return addedToken(id, tok);
  });
  for (const [a, b] of model.merges) {
    // "a b" strings are the form every tokenizers version reads; byte-level symbols never contain a space.
    if (a.includes(' ') || b.includes(' ')) throw new HybridCompressError('DATA_INVALID', `merge ${JSON.stringify([a, b])} contains a space, which "a b" merge strings cannot hold`);
  }

  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null, // every byte has a symbol, so nothing is ever unknown
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: model.merges.map(([a, b]) => `${a} ${b}`),
    },
  };

  const addedDecoder: Record<string, unknown> = {};
  for (const t of added) {
    const { id, ...rest } = t;
    addedDecoder[String(id)] = rest;
  }
  const config: Record<string, unknown> = {
    added_tokens_decoder: addedDecoder,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_input_names: ['input_ids', 'attention_mask'],
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  const map: Record<string, unknown> = {};
  for (const role of ['bos', 'eos', 'unk', 'pad'] as const) {
    const tok = roles[role];
    if (tok === undefined) continue;
    config[`${role}_token`] = tok;
    map[`${role}_token`] = { content: tok, lstrip: false, normalized: false, rstrip: false, single_word: false };
  }
  return { 'tokenizer.json': tokenizer, 'tokenizer_config.json': config, 'special_tokens_map.json': map };
}

/** Writes the file set into `dir` (created), pretty-printed like `save_pretrained` does. */
export function writeTokenizerFiles(dir: string, files: TokenizerFileSet): string[] {
  mkdirSync(dir, { recursive: true });
  return (Object.keys(files) as (keyof TokenizerFileSet)[]).map((name) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(files[name], null, 2) + '\n');
    return path;
  });
}
