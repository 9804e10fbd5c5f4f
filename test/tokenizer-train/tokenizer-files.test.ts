import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadTokenizer } from '../../src/core/data/index';
import { HybridCompressError } from '../../src/core/errors';
import { byteLevelBpeFiles, splitPieces, toByteSymbols, trainByteLevelTokenizer, writeTokenizerFiles } from '../../src/core/tokenizer-train/index';
import { referenceEncodeWord, rng, syllableText } from './helpers/reference';

const tmp = mkdtempSync(join(tmpdir(), 'hc-toktrain-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const SPECIALS = ['<unk>', '<s>', '</s>'];
const ROLES = { unk: '<unk>', bos: '<s>', eos: '</s>', pad: '<unk>' };

const corpus = [1, 2, 3].map((s) => syllableText(rng(s), 1500, ['the', 'ka', 'ri', 'on', 's', 'é', '☃', ' 12']));
const trained = trainByteLevelTokenizer(corpus, { vocabSize: 3 + 256 + 200, specialTokens: SPECIALS, roles: ROLES });
const dir = join(tmp, 'tok');
writeTokenizerFiles(dir, trained.files);

const TRICKY = [
  'the kari on',
  '  spaced   out  \t tabs\nand\r\nnew lines  ',
  'Unicode café ☃ 🎉 漢字 \u00a0nbsp \u0000nul',
  "don't won't I'll",
  'words with <s> and </s> inside',
  'x',
];

describe('trained tokenizer files', () => {
  const tok = loadTokenizer(dir);
  const vocab = trained.files['tokenizer.json']['model'] as { vocab: Record<string, number>; merges: string[] };

  it('load with @huggingface/tokenizers and encode like a reference BPE (merges applied by rank)', () => {
    const texts = [...TRICKY, syllableText(rng(42), 400, ['the', 'ka', 'ri', 'on', 's', 'é', 'zz'])];
    for (const text of texts.filter((t) => !t.includes('<'))) {
      const expected: number[] = [];
      for (const piece of splitPieces(text)) {
        for (const sym of referenceEncodeWord(toByteSymbols(piece), trained.model.merges)) expected.push(vocab.vocab[sym]!);
      }
      assert.deepEqual(tok.encode(text), expected, JSON.stringify(text.slice(0, 40)));
    }
  });

  it('round-trip encode → decode on tricky and random text', () => {
    const texts = [...TRICKY, ...[5, 6, 7].map((s) => syllableText(rng(s), 300, ['ab', ' ', '\n', '🎉', 'the', "'s"]))];
    for (const text of texts) assert.equal(tok.decode(tok.encode(text)), text, JSON.stringify(text.slice(0, 40)));
  });

  it('give the special tokens ids 0..2 and the roles in the config files', () => {
    assert.equal(tok.tokenToId('<unk>'), 0);
    assert.equal(tok.bosId, 1);
    assert.equal(tok.eosId, 2);
    assert.equal(tok.padId, 0);
    assert.equal(tok.vocabSize, 3 + 256 + 200);
    assert.deepEqual(tok.encode('a</s>b'), [tok.tokenToId('a'), 2, tok.tokenToId('b')]);
    const map = JSON.parse(readFileSync(join(dir, 'special_tokens_map.json'), 'utf8'));
    assert.equal(map.eos_token.content, '</s>');
    const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    assert.equal(cfg.tokenizer_class, 'PreTrainedTokenizerFast');
    assert.equal(cfg.added_tokens_decoder['2'].content, '</s>');
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    assert.equal(json.pre_tokenizer.type, 'ByteLevel');
    assert.equal(json.decoder.type, 'ByteLevel');
    assert.equal(json.model.type, 'BPE');
    assert.equal(json.model.merges.length, trained.model.merges.length);
    assert.deepEqual(json.added_tokens.map((t: { id: number }) => t.id), [0, 1, 2]);
  });

  it('reject a role naming a token that is not special', () => {
    assert.throws(
      () => byteLevelBpeFiles(trained.model, SPECIALS, { eos: '<|end|>' }),
      (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && /eos token "<\|end\|>"/.test(e.message),
    );
  });
});
