// One call from raw documents to Hugging Face tokenizer files: GPT-2 pre-tokenisation, byte-level BPE
// training over the word counts, serialisation.

import { byteAlphabet, countWords } from './byte-level';
import { trainBpe, type BpeModel } from './bpe-trainer';
import { byteLevelBpeFiles, type SpecialTokenRoles, type TokenizerFileSet } from './tokenizer-json';

export interface ByteLevelTrainOptions {
  vocabSize: number;
  /** Given ids 0, 1, … in this order. */
  specialTokens: readonly string[];
  roles: SpecialTokenRoles;
  minFrequency?: number;
}

export interface TrainedByteLevelTokenizer {
  model: BpeModel;
  files: TokenizerFileSet;
  /** Distinct pre-tokenised words seen. */
  distinctWords: number;
}

export function trainByteLevelTokenizer(texts: Iterable<string>, opts: ByteLevelTrainOptions): TrainedByteLevelTokenizer {
  const words = new Map<string, number>();
  for (const t of texts) countWords(t, words);
  const model = trainBpe(words, { vocabSize: opts.vocabSize, alphabet: byteAlphabet(), specialTokens: opts.specialTokens, minFrequency: opts.minFrequency });
  return { model, files: byteLevelBpeFiles(model, opts.specialTokens, opts.roles), distinctWords: words.size };
}
