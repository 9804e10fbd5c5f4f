// Test-only byte-level BPE tokenizers in Hugging Face `tokenizer.json` form: a hand-listed one for exact
// expectations, and a naive trainer (most frequent pair, ties broken by the pair string) to get a
// realistically-sized vocabulary for the speed bench. Not the project's tokenizer trainer.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** GPT-2's reversible byte → printable-character table (bytes that are not printable move to U+0100…). */
export function byteToUnicode(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
}

export interface ByteBpeSpec {
  /** Merges in priority order, each a pair of existing symbols (byte symbols in GPT-2 notation: space = "Ġ"). */
  merges: [string, string][];
  /** Special tokens appended after the merged symbols, in this order. */
  specials?: string[];
  eos?: string;
  bos?: string;
}

export interface TokenizerFiles {
  tokenizer: Record<string, unknown>;
  config: Record<string, unknown>;
  /** symbol → id (bytes 0..255 first, by byte value; then merges; then specials). */
  vocab: Record<string, number>;
}

export function buildByteBpe(spec: ByteBpeSpec): TokenizerFiles {
  const chars = byteToUnicode();
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[chars[b]!] = b;
  let next = 256;
  for (const [a, b] of spec.merges) {
    if (!(a in vocab) || !(b in vocab)) throw new Error(`merge ${a} ${b}: unknown symbol`);
    if (!(a + b in vocab)) vocab[a + b] = next++;
  }
  const added = (spec.specials ?? []).map((content) => {
    vocab[content] = next;
    return { id: next++, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: spec.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const config: Record<string, unknown> = { model_max_length: 1_000_000 };
  if (spec.eos !== undefined) config['eos_token'] = spec.eos;
  if (spec.bos !== undefined) config['bos_token'] = spec.bos;
  return { tokenizer, config, vocab };
}

/** The hand-built tokenizer the data tests use: 256 bytes, 10 merges, `<|endoftext|>` (id 266) as EOS and BOS. */
export const TINY_MERGES: [string, string][] = [
  ['h', 'e'],
  ['l', 'l'],
  ['Ġ', 't'],
  ['Ġt', 'he'],
  ['ll', 'o'],
  ['Ġ', 'w'],
  ['o', 'r'],
  ['Ġw', 'or'],
  ['l', 'd'],
  ['Ġwor', 'ld'],
];

export function tinyTokenizer(): TokenizerFiles {
  return buildByteBpe({ merges: TINY_MERGES, specials: ['<|endoftext|>'], eos: '<|endoftext|>', bos: '<|endoftext|>' });
}

/** Writes tokenizer.json + tokenizer_config.json (+ optional config.json) into `dir` (created). */
export function writeTokenizerDir(dir: string, files: TokenizerFiles, config?: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(files.config));
  if (config) writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

// Roughly GPT-2's pre-tokenisation split, so trained merges are ones the tokenizer will actually use.
const WORD_RE = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Naive BPE training over `texts` until `numMerges` merges (or no pair repeats). Deterministic. */
export function trainByteBpe(texts: Iterable<string>, numMerges: number): [string, string][] {
  const chars = byteToUnicode();
  const enc = new TextEncoder();
  const freq = new Map<string, number>();
  for (const t of texts) for (const m of t.matchAll(WORD_RE)) freq.set(m[0], (freq.get(m[0]) ?? 0) + 1);
  const words: { syms: string[]; n: number }[] = [];
  for (const [w, n] of freq) words.push({ syms: Array.from(enc.encode(w), (b) => chars[b]!), n });
  const merges: [string, string][] = [];
  while (merges.length < numMerges) {
    const pairs = new Map<string, number>();
    for (const { syms, n } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = syms[i] + '\u0000' + syms[i + 1];
        pairs.set(k, (pairs.get(k) ?? 0) + n);
      }
    }
    let best = '';
    let bestN = 1;
    for (const [k, n] of pairs) if (n > bestN || (n === bestN && best !== '' && k < best)) [best, bestN] = [k, n];
    if (best === '') break;
    const [a, b] = best.split('\u0000') as [string, string];
    merges.push([a, b]);
    for (const w of words) {
      const s = w.syms;
      const out: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(s[i]!);
      }
      w.syms = out;
    }
  }
  return merges;
}
