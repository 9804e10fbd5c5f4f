import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { HybridCompressError } from '../../src/core/errors';
import { loadTokenizer, readModelTokenInfo, hasTokenizer } from '../../src/core/data/index';
import { writeByteTokenizer } from '../../src/core/testing/fixtures';
import { byteToUnicode, tinyTokenizer, TINY_MERGES, writeTokenizerDir, buildByteBpe } from './helpers/bpe';
import { TempDir } from './helpers/files';

const tmp = new TempDir();
after(() => tmp.cleanup());

/** Slow reference BPE: GPT-2 style split, bytes → symbols, merge the lowest-ranked adjacent pair until none applies. */
function referenceEncode(text: string, merges: [string, string][], vocab: Record<string, number>): number[] {
  const rank = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
  const chars = byteToUnicode();
  const re = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  const out: number[] = [];
  for (const m of text.matchAll(re)) {
    let syms = Array.from(new TextEncoder().encode(m[0]), (b) => chars[b]!);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = rank.get(`${syms[i]} ${syms[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      syms = [...syms.slice(0, best), syms[best]! + syms[best + 1]!, ...syms.slice(best + 2)];
    }
    for (const s of syms) out.push(vocab[s]!);
  }
  return out;
}

describe('loadTokenizer', () => {
  const files = tinyTokenizer();
  const dir = writeTokenizerDir(tmp.path('tiny'), files);

  it('encodes a hand-built byte-level BPE as expected, special tokens included', () => {
    const tok = loadTokenizer(dir);
    const expected = ['he', 'llo', 'Ġthe', 'Ġworld', 'Ġ', 'â', 'ĺ', 'ĥ', '<|endoftext|>'].map((t) => files.vocab[t]!);
    assert.deepEqual(tok.encode('hello the world ☃<|endoftext|>'), expected);
    // The snowman's UTF-8 bytes E2 98 83 map to the byte tokens of those values.
    assert.deepEqual(expected.slice(5, 8), [0xe2, 0x98, 0x83]);
    assert.equal(tok.vocabSize, 256 + TINY_MERGES.length + 1);
    assert.equal(tok.eosId, files.vocab['<|endoftext|>']);
    assert.equal(tok.bosId, files.vocab['<|endoftext|>']);
    assert.equal(tok.tokenToId('Ġworld'), files.vocab['Ġworld']);
  });

  it('matches a slow reference BPE and round-trips through decode on random text', () => {
    const tok = loadTokenizer(dir);
    const alphabet = ['h', 'e', 'l', 'o', 't', 'w', 'r', 'd', ' ', ' ', '  ', '\n', '☃', 'é', '7', '42', ',', "'s", 'A', '\t', '🙂'];
    let s = 12345;
    for (let trial = 0; trial < 200; trial++) {
      let text = '';
      const len = 1 + (trial % 40);
      for (let i = 0; i < len; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        text += alphabet[s % alphabet.length];
      }
      const ids = tok.encode(text);
      assert.deepEqual(ids, referenceEncode(text, TINY_MERGES, files.vocab), JSON.stringify(text));
      assert.equal(tok.decode(ids), text);
    }
  });

  it('decode accepts bigint ids and can skip special tokens', () => {
    const tok = loadTokenizer(dir);
    const ids = tok.encode('hello<|endoftext|> world');
    assert.equal(tok.decode(ids.map(BigInt)), 'hello<|endoftext|> world');
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'hello world');
  });

  it('loads the foundation fixture tokenizer with its ids (eos 2, bos 1, pad 0)', () => {
    const d = tmp.path('fixture-tok');
    mkdirSync(d);
    writeByteTokenizer(d, 272);
    const tok = loadTokenizer(d);
    assert.deepEqual([tok.eosId, tok.bosId, tok.padId, tok.vocabSize], [2, 1, 0, 259]);
    assert.deepEqual(tok.encode('A'), [0x41 + 3]);
  });

  it('takes special ids from special_tokens_map.json, then generation_config / config.json', () => {
    const bare = buildByteBpe({ merges: [], specials: ['<s>', '</s>'] });
    const a = writeTokenizerDir(tmp.path('stmap'), bare);
    writeFileSync(`${a}/special_tokens_map.json`, JSON.stringify({ eos_token: { content: '</s>' }, bos_token: '<s>' }));
    const ta = loadTokenizer(a);
    assert.deepEqual([ta.eosId, ta.bosId], [257, 256]);

    const b = writeTokenizerDir(tmp.path('cfg'), bare, { eos_token_id: 257, bos_token_id: 256, vocab_size: 300, time_step_limit: [0, Infinity] });
    writeFileSync(`${b}/config.json`, '{"eos_token_id": 257, "bos_token_id": 256, "vocab_size": 300, "time_step_limit": [0.0, Infinity]}');
    const tb = loadTokenizer(b);
    assert.deepEqual([tb.eosId, tb.bosId], [257, 256]);
    assert.deepEqual(readModelTokenInfo(b), { eosId: 257, bosId: 256, configVocabSize: 300 });

    const c = writeTokenizerDir(tmp.path('gen'), bare, { eos_token_id: 5 });
    writeFileSync(`${c}/generation_config.json`, JSON.stringify({ eos_token_id: [257, 3] }));
    assert.equal(loadTokenizer(c).eosId, 257);

    // An id outside the vocabulary is not usable as EOS.
    const d = writeTokenizerDir(tmp.path('far'), bare, { eos_token_id: 9999 });
    assert.equal(loadTokenizer(d).eosId, undefined);
  });

  it('a folder without tokenizer.json is TOKENIZER_MISSING, naming the folder and the pre-tokenized alternative', () => {
    const d = tmp.path('empty-model');
    mkdirSync(d);
    assert.equal(hasTokenizer(d), false);
    assert.throws(
      () => loadTokenizer(d),
      (e: unknown) => e instanceof HybridCompressError && e.code === 'TOKENIZER_MISSING' && e.message.includes(d) && e.message.includes('tokenizer.json') && e.message.includes('input_ids'),
    );
    writeFileSync(`${d}/tokenizer.model`, 'x');
    assert.throws(() => loadTokenizer(d), /SentencePiece/);
    assert.throws(() => loadTokenizer(tmp.path('nope')), (e: unknown) => e instanceof HybridCompressError && e.code === 'TOKENIZER_MISSING');
  });

  it('a broken tokenizer.json is CONFIG_INVALID naming the file', () => {
    const d = tmp.path('broken');
    mkdirSync(d);
    writeFileSync(`${d}/tokenizer.json`, '{"model": ');
    assert.throws(() => loadTokenizer(d), (e: unknown) => e instanceof HybridCompressError && e.code === 'CONFIG_INVALID' && e.message.includes('tokenizer.json'));
    writeFileSync(`${d}/tokenizer.json`, JSON.stringify({ model: { type: 'Mystery' } }));
    assert.throws(() => loadTokenizer(d), (e: unknown) => e instanceof HybridCompressError && e.code === 'CONFIG_INVALID' && /supported: BPE/.test(e.message));
  });
});
