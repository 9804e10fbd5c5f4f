// Byte-level pre-tokenisation exactly as Hugging Face's `ByteLevel` pre-tokenizer does it (use_regex=true,
// add_prefix_space=false): split with the GPT-2 regex, then spell each piece's UTF-8 bytes with GPT-2's
// printable byte alphabet. Training must see the same pieces the tokenizer will see at encode time, or
// the learned merges would never fire.

/** The GPT-2 pre-tokenisation regex, verbatim (contractions, letters, digits, other runs, whitespace). */
export const GPT2_SPLIT_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const SPLIT_RE = new RegExp(GPT2_SPLIT_PATTERN, 'gu');

/**
 * GPT-2's reversible byte → character table: printable Latin-1 bytes stand for themselves, the other 68
 * bytes (controls, space, NBSP, soft hyphen) move to U+0100… in byte order, so every symbol is visible
 * and none is whitespace (space becomes "Ġ").
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + shifted++);
  return out;
})();

/** The 256 byte symbols in byte order (the initial alphabet of a byte-level BPE). */
export function byteAlphabet(): string[] {
  return BYTE_TO_CHAR.slice();
}

const encoder = new TextEncoder();

/** `piece`'s UTF-8 bytes spelled in the byte alphabet. */
export function toByteSymbols(piece: string): string[] {
  return Array.from(encoder.encode(piece), (b) => BYTE_TO_CHAR[b]!);
}

/** The pieces the GPT-2 regex splits `text` into (raw text, not yet byte-mapped). */
export function splitPieces(text: string): string[] {
  return text.match(SPLIT_RE) ?? [];
}

/** Adds the frequency of every pre-tokenised word of `text` (byte-mapped, symbols joined) into `counts`. */
export function countWords(text: string, counts: Map<string, number>): void {
  for (const piece of splitPieces(text)) {
    const word = toByteSymbols(piece).join('');
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
}
