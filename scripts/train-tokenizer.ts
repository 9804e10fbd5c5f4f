// Trains the bundled byte-level BPE tokenizer on examples/data/train.txt only, saves it as Hugging Face
// tokenizer files in examples/tokenizer/, reloads it through the project's loader (@huggingface/tokenizers),
// checks the encode → decode round trip on every validation document, and records token statistics and the
// unigram baseline in examples/data/{stats.json,README.md}.
// Usage: npx tsx scripts/train-tokenizer.ts [--data examples/data] [--out examples/tokenizer] [--vocab-size 4096]

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadTokenizer } from '../src/core/data/tokenizer';
import { addTokens, CrossEntropyMeter, trainByteLevelTokenizer, unigramCounts, writeTokenizerFiles } from '../src/core/tokenizer-train/index';
import { readStats, writeStats, type TokenizerStats } from './corpus/stats';
import { BUNDLED_ROLES, BUNDLED_SPECIAL_TOKENS as SPECIAL_TOKENS, BUNDLED_VOCAB_SIZE } from './corpus/tokenizer-settings';

function fail(message: string): never {
  console.error(`train-tokenizer: ${message}`);
  process.exit(1);
}

function readDocs(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return fail(`${file} cannot be read; run \`npx tsx scripts/prepare-corpus.ts\` first`);
  }
  return text.split('\n').filter((l) => l.length > 0);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: 'examples/data' },
      out: { type: 'string', default: 'examples/tokenizer' },
      'vocab-size': { type: 'string', default: String(BUNDLED_VOCAB_SIZE) },
    },
  });
  const dataDir = resolve(values.data!);
  const outDir = resolve(values.out!);
  const vocabSize = Number(values['vocab-size']);
  const floor = SPECIAL_TOKENS.length + 256;
  if (!(Number.isInteger(vocabSize) && vocabSize > floor)) fail(`--vocab-size ${values['vocab-size']} is not valid: expected an integer above ${floor} (specials + 256 bytes)`);
  const stats = readStats(dataDir);
  if (stats === undefined) fail(`${join(dataDir, 'stats.json')} is missing; run \`npx tsx scripts/prepare-corpus.ts\` first`);

  const train = readDocs(join(dataDir, 'train.txt'));
  const val = readDocs(join(dataDir, 'val.txt'));

  const t0 = performance.now();
  const { model, files, distinctWords } = trainByteLevelTokenizer(train, { vocabSize, specialTokens: SPECIAL_TOKENS, roles: BUNDLED_ROLES });
  const trainSeconds = (performance.now() - t0) / 1000;
  console.log(`trained on ${train.length} documents (${distinctWords} distinct words): ${model.vocab.length} tokens, ${model.merges.length} merges in ${trainSeconds.toFixed(2)} s`);
  if (model.vocab.length < vocabSize) console.warn(`  note: only ${model.vocab.length} of ${vocabSize} tokens reached (no pair left above the minimum frequency)`);

  for (const p of writeTokenizerFiles(outDir, files)) console.log(`  wrote ${p}`);

  // Everything below goes through the files just written, as any user of the model would load them.
  const tok = loadTokenizer(outDir);
  const eos = tok.eosId;
  if (eos === undefined || tok.tokenToId('</s>') !== 2 || tok.bosId !== 1) fail('the saved tokenizer does not map <s>/</s> to ids 1/2');
  const unigram = unigramCounts(tok.vocabSize);
  let trainTokens = 0;
  let trainChars = 0;
  for (const doc of train) {
    const ids = tok.encode(doc);
    addTokens(unigram, ids);
    addTokens(unigram, [eos]);
    trainTokens += ids.length;
    trainChars += doc.length;
  }
  const withEos = new CrossEntropyMeter(unigram);
  const textOnly = new CrossEntropyMeter(unigram);
  let valTokens = 0;
  let valChars = 0;
  let failures = 0;
  for (const doc of val) {
    const ids = tok.encode(doc);
    if (tok.decode(ids) !== doc) {
      if (failures++ < 3) console.error(`  round trip changed a val document: ${JSON.stringify(doc.slice(0, 80))}…`);
    }
    textOnly.add(ids);
    withEos.add(ids);
    withEos.add([eos]);
    valTokens += ids.length;
    valChars += doc.length;
  }

  const tstats: TokenizerStats = {
    vocabSize: model.vocab.length,
    merges: model.merges.length,
    specialTokens: [...SPECIAL_TOKENS],
    train: { tokens: trainTokens, tokensPerChar: trainTokens / trainChars },
    val: { tokens: valTokens, tokensPerChar: valTokens / valChars },
    unigram: { withEos: withEos.mean, textOnly: textOnly.mean },
    roundTrip: { documents: val.length, failures },
  };
  writeStats(dataDir, { corpus: stats.corpus, tokenizer: tstats });
  console.log(`  train ${trainTokens} tokens (${tstats.train.tokensPerChar.toFixed(4)} tokens/char), val ${valTokens} tokens (${tstats.val.tokensPerChar.toFixed(4)} tokens/char)`);
  console.log(`  round trip on val: ${val.length - failures}/${val.length} documents identical`);
  console.log(`  unigram (add-one, fitted on train) val cross-entropy: ${withEos.mean.toFixed(4)} nats/token with </s> per document, ${textOnly.mean.toFixed(4)} text only`);
  if (failures > 0) fail(`${failures} validation documents did not survive encode → decode`);
}

main();
