// The checkpoint's own tokenizer, loaded from its Hugging Face `tokenizer.json` with
// @huggingface/tokenizers (pure JS). Encoding never adds special tokens: the row builder decides where
// BOS/EOS go, so the same text always gives the same ids whatever the tokenizer's post-processor says.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { HybridCompressError } from '../errors';
import { readModelJson, readModelTokenInfo } from './special-tokens';

export interface TextTokenizer {
  /** Absolute path of the folder it was loaded from. */
  readonly dir: string;
  /** One past the largest id the tokenizer can produce (vocabulary plus added tokens). */
  readonly vocabSize: number;
  readonly eosId: number | undefined;
  readonly bosId: number | undefined;
  readonly padId: number | undefined;
  /** Token ids of `text`, no special tokens added (special-token text inside `text` still maps to its id). */
  encode(text: string): number[];
  decode(ids: ArrayLike<number | bigint>, options?: { skipSpecialTokens?: boolean }): string;
  tokenToId(token: string): number | undefined;
}

const OTHER_FORMATS: Record<string, string> = {
  'tokenizer.model': 'a SentencePiece tokenizer.model',
  'vocab.json': 'a GPT-2 style vocab.json/merges.txt pair',
  'vocab.txt': 'a WordPiece vocab.txt',
};

function missing(dir: string, detail: string): HybridCompressError {
  return new HybridCompressError(
    'TOKENIZER_MISSING',
    `${dir}: ${detail}. Expected a Hugging Face tokenizer.json (and usually tokenizer_config.json) in the model folder; ` +
      'data given as pre-tokenized .jsonl records with an "input_ids" field needs no tokenizer.',
    { file: join(dir, 'tokenizer.json') },
  );
}

export function hasTokenizer(modelDir: string): boolean {
  return existsSync(join(modelDir, 'tokenizer.json'));
}

export function loadTokenizer(modelDir: string): TextTokenizer {
  const dir = resolve(modelDir);
  if (!existsSync(dir)) throw missing(dir, 'folder does not exist');
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) {
    const others = Object.keys(OTHER_FORMATS).filter((f) => existsSync(join(dir, f)));
    const found = others.length ? ` (found only ${others.map((f) => OTHER_FORMATS[f]).join(', ')}, which is not supported: save the tokenizer with transformers' save_pretrained to get tokenizer.json)` : '';
    throw missing(dir, `no tokenizer.json${found}`);
  }
  const json = readModelJson(dir, 'tokenizer.json')!;
  const config = readModelJson(dir, 'tokenizer_config.json') ?? {};
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (e) {
    const model = (json['model'] as { type?: unknown } | undefined)?.type;
    throw new HybridCompressError(
      'CONFIG_INVALID',
      `${file}: cannot build the tokenizer (${(e as Error).message}); model type ${JSON.stringify(model)} — supported: BPE, WordPiece, Unigram`,
      { file },
    );
  }
  return new HfTextTokenizer(dir, tok);
}

class HfTextTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly eosId: number | undefined;
  readonly bosId: number | undefined;
  readonly padId: number | undefined;

  constructor(
    readonly dir: string,
    private readonly tok: Tokenizer,
  ) {
    let max = -1;
    for (const id of tok.get_vocab(true).values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    const info = readModelTokenInfo(dir, (t) => tok.token_to_id(t));
    // An id beyond the vocabulary (e.g. from a config.json of another tokenizer) is unusable.
    const inRange = (id: number | undefined) => (id !== undefined && id < this.vocabSize ? id : undefined);
    this.eosId = inRange(info.eosId);
    this.bosId = inRange(info.bosId);
    this.padId = inRange(info.padId);
  }

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: ArrayLike<number | bigint>, options: { skipSpecialTokens?: boolean } = {}): string {
    const list = Array.from(ids, (x) => Number(x));
    return this.tok.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}
