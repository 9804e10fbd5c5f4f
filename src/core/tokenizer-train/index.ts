// Byte-level BPE tokenizer training: pre-tokenisation, the trainer, Hugging Face file output, unigram baseline.
export { GPT2_SPLIT_PATTERN, BYTE_TO_CHAR, byteAlphabet, toByteSymbols, splitPieces, countWords } from './byte-level';
export { trainBpe, validateTrainOptions, spellWord, type BpeTrainOptions, type BpeModel } from './bpe-trainer';
export { byteLevelBpeFiles, writeTokenizerFiles, type SpecialTokenRoles, type TokenizerFileSet } from './tokenizer-json';
export { unigramCounts, addTokens, unigramLogProb, CrossEntropyMeter, type UnigramModel } from './unigram';
export { trainByteLevelTokenizer, type ByteLevelTrainOptions, type TrainedByteLevelTokenizer } from './train-byte-level';
