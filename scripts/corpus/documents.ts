// Document units and the train/validation split.
//
// A document is a run of consecutive paragraphs of one Brown text sample, grown until it has at least
// `minChars` characters (a short tail joins the document before it). Its id is `<file>#<block>` — the
// sample file and the index of its first paragraph block — which depends only on the corpus, so the
// split below is stable whatever else changes in the script.
//
// Split: a document goes to validation when the first 32 bits of SHA-256("<seed>:<id>"), read as a
// fraction of 2^32, fall below `valFraction`. Hashing the id (not the position) keeps each document on
// the same side when documents are added, removed or reordered.

import { createHash } from 'node:crypto';
import type { BrownParagraph } from './brown';

export interface CorpusDocument {
  id: string;
  text: string;
}

export function groupDocuments(file: string, paragraphs: readonly BrownParagraph[], minChars: number): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  let current: { block: number; parts: string[]; chars: number } | undefined;
  for (const p of paragraphs) {
    if (current === undefined) current = { block: p.block, parts: [], chars: -1 };
    current.parts.push(p.text);
    current.chars += p.text.length + 1;
    if (current.chars >= minChars) {
      docs.push({ id: `${file}#${current.block}`, text: current.parts.join(' ') });
      current = undefined;
    }
  }
  if (current !== undefined) {
    const last = docs[docs.length - 1];
    if (last !== undefined) last.text += ' ' + current.parts.join(' ');
    else docs.push({ id: `${file}#${current.block}`, text: current.parts.join(' ') });
  }
  return docs;
}

/** The document's position in [0, 1) under `seed`: first 32 bits of SHA-256("<seed>:<id>") / 2^32. */
export function splitHash(seed: string, id: string): number {
  const digest = createHash('sha256').update(`${seed}:${id}`, 'utf8').digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

export function isValidation(seed: string, id: string, valFraction: number): boolean {
  return splitHash(seed, id) < valFraction;
}

export interface Split {
  train: CorpusDocument[];
  val: CorpusDocument[];
}

/** Partitions `docs` (order kept within each side). */
export function splitDocuments(docs: readonly CorpusDocument[], seed: string, valFraction: number): Split {
  const out: Split = { train: [], val: [] };
  for (const d of docs) (isValidation(seed, d.id, valFraction) ? out.val : out.train).push(d);
  return out;
}
