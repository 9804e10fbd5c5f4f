import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteLevelPreTokenizer } from '@huggingface/tokenizers';
import { BYTE_TO_CHAR, byteAlphabet, countWords, splitPieces, toByteSymbols } from '../../src/core/tokenizer-train/index';
import { rng } from './helpers/reference';

const SAMPLES = [
  'The jury said "no evidence" -- and (1) 23 people didn\'t vote; we\'ll see.',
  "  leading spaces, trailing  \t\n\nnew lines\r\n and  double  spaces   ",
  'Unicode: café, naïve, ☃ snow, emoji 🎉🎉, CJK 漢字, Ελληνικά, digits ٣٤٥ and ²³',
  "I'm, you're, they've, she'd, it's, we'LL, 'quoted' words'",
  '<s>special</s> <unk> text',
  '',
];

/** Random strings over a mix of ASCII, whitespace and multi-byte characters. */
function randomText(seed: number, n: number): string {
  const r = rng(seed);
  const pool = [' ', ' ', '  ', '\n', '\t', 'a', 'Z', 'q', '0', '7', "'", "'s", '.', ',', '!', '-', 'é', '☃', '🎉', '漢', '\u00a0', '\u0000'];
  let s = '';
  for (let i = 0; i < n; i++) s += pool[Math.floor(r() * pool.length)];
  return s;
}

describe('byte-level pre-tokenisation', () => {
  const hf = new ByteLevelPreTokenizer({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });

  it("splits and byte-maps exactly like @huggingface/tokenizers' ByteLevel pre-tokenizer", () => {
    const texts = [...SAMPLES, ...[1, 2, 3, 4, 5, 6, 7, 8].map((s) => randomText(s, 400))];
    for (const t of texts) {
      const ours = splitPieces(t).map((p) => toByteSymbols(p).join(''));
      assert.deepEqual(ours, hf.pre_tokenize_text(t), JSON.stringify(t.slice(0, 40)));
    }
  });

  it('uses a 256-symbol alphabet of single visible characters, one per byte, with GPT-2 fixed points', () => {
    const a = byteAlphabet();
    assert.equal(a.length, 256);
    assert.equal(new Set(a).size, 256);
    for (const c of a) {
      assert.equal(c.length, 1);
      assert.ok(!/\s/u.test(c), `symbol U+${c.charCodeAt(0).toString(16)} is whitespace`);
    }
    assert.equal(BYTE_TO_CHAR[0x20], 'Ġ');
    assert.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
    assert.equal(BYTE_TO_CHAR[0x41], 'A');
    assert.equal(BYTE_TO_CHAR[0xff], 'ÿ');
  });

  it('counts words by their byte spelling', () => {
    const m = new Map<string, number>();
    countWords('the cat the', m);
    countWords(' the', m);
    assert.deepEqual([...m], [
      ['the', 1],
      ['Ġcat', 1],
      ['Ġthe', 2],
    ]);
    const snow = new Map<string, number>();
    countWords('☃', snow);
    assert.deepEqual([...snow.keys()], ['âĺĥ']); // E2 98 83
  });
});
