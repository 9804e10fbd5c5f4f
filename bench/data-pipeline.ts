// Data pipeline throughput: raw tokenizer speed and end-to-end rows/s of openDataset over ~1M tokens of
// text in each format (file order and shuffled) and pre-tokenized jsonl.
// Corpus: the Markdown files under node_modules (real English-ish prose and code, present after npm ci).
// Tokenizer: a byte-level BPE with 1000 merges trained on part of that corpus by the test helper.
// Run: node --import tsx bench/data-pipeline.ts

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { loadTokenizer, openDataset, type DatasetOptions } from '../src/core/data/index';
import { buildByteBpe, trainByteBpe, writeTokenizerDir } from '../test/data/helpers/bpe';

function collectMarkdown(dir: string, out: string[], depth = 0): void {
  if (depth > 5 || out.length > 4000) return;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) collectMarkdown(p, out, depth + 1);
    else if (name.endsWith('.md') && st.size < 1_000_000) out.push(readFileSync(p, 'utf8'));
  }
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'hc-bench-data-'));
  try {
    const md: string[] = [];
    collectMarkdown('node_modules', md);
    const paragraphs = md.join('\n\n').split(/\n\s*\n/).map((p) => p.replace(/\s+/g, ' ').trim()).filter((p) => p.length > 20);
    let t0 = performance.now();
    const merges = trainByteBpe(paragraphs.slice(0, 1500), 1000);
    const files = buildByteBpe({ merges, specials: ['<|endoftext|>'], eos: '<|endoftext|>' });
    const tok = loadTokenizer(writeTokenizerDir(join(tmp, 'tok'), files));
    console.log(`tokenizer: byte-level BPE, vocab ${tok.vocabSize}, trained in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${paragraphs.slice(0, 1500).join(' ').length} chars`);

    // ~1M tokens of documents (the corpus repeated as needed).
    const docs: string[] = [];
    let tokens = 0;
    t0 = performance.now();
    for (let i = 0; tokens < 1_000_000; i++) {
      const d = paragraphs[i % paragraphs.length]!;
      docs.push(d);
      tokens += tok.encode(d).length;
    }
    let dt = (performance.now() - t0) / 1000;
    const chars = docs.reduce((s, d) => s + d.length, 0);
    console.log(`raw tokenizer.encode: ${tokens} tokens from ${docs.length} documents (${(chars / 1e6).toFixed(2)} M chars) in ${dt.toFixed(2)} s = ${Math.round(tokens / dt).toLocaleString('en')} tokens/s`);

    const txt = join(tmp, 'docs.txt');
    writeFileSync(txt, docs.join('\n') + '\n');
    const jsonl = join(tmp, 'docs.jsonl');
    writeFileSync(jsonl, docs.map((text) => JSON.stringify({ text })).join('\n') + '\n');
    const parquet = join(tmp, 'docs.parquet');
    writeFileSync(parquet, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'text', data: docs, type: 'STRING' }] })));
    const ids = join(tmp, 'ids.jsonl');
    writeFileSync(ids, docs.map((d) => JSON.stringify({ input_ids: tok.encode(d) })).join('\n') + '\n');

    const run = async (label: string, o: Partial<DatasetOptions> & { path: string }) => {
      const ds = await openDataset({ tokenizer: tok, seqLen: 512, batchSize: 4, ...o });
      const start = performance.now();
      let rows = 0;
      for await (const b of ds.batches()) rows += b.batch;
      const s = (performance.now() - start) / 1000;
      const r = ds.report;
      await ds.close();
      console.log(
        `${label.padEnd(32)} ${rows} rows × ${o.seqLen ?? 512} in ${s.toFixed(2)} s = ${Math.round((rows * (o.seqLen ?? 512)) / s).toLocaleString('en')} row tokens/s (${Math.round(r.tokens / s).toLocaleString('en')} tokens read/s)`,
      );
    };
    await run('txt, concat, file order', { path: txt });
    await run('jsonl, concat, file order', { path: jsonl });
    await run('parquet, concat, file order', { path: parquet });
    await run('jsonl, concat, shuffled', { path: jsonl, shuffle: true, seed: 1 });
    await run('parquet, none, shuffled', { path: parquet, packing: 'none', shuffle: true, seed: 1, seqLen: 64 });
    await run('pre-tokenized jsonl, concat', { path: ids });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
