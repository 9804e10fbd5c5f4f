import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { HybridCompressError } from '../../src/core/errors';
import { loadTokenizer, openDataset, permutation, type DataCursor, type Dataset, type DatasetOptions, type TextTokenizer } from '../../src/core/data/index';
import { tinyTokenizer, writeTokenizerDir } from './helpers/bpe';
import { fakeDocs, TempDir } from './helpers/files';

const tmp = new TempDir();
after(() => tmp.cleanup());
const tok: TextTokenizer = loadTokenizer(writeTokenizerDir(tmp.path('tok'), tinyTokenizer()));
const EOS = tok.eosId!;
const VOCAB = tok.vocabSize;

/** Independent reference of the two packings over already-tokenized documents. */
function referenceRows(docs: number[][], o: { seq: number; packing: 'concat' | 'none'; eos?: number; bos?: number; addBos?: boolean }): number[][] {
  const units = docs
    .filter((d) => d.length > 0)
    .map((d) => {
      const u = o.addBos && d[0] !== o.bos ? [o.bos!, ...d] : [...d];
      if (o.packing === 'concat' && u[u.length - 1] !== o.eos) u.push(o.eos!);
      return u;
    });
  if (o.packing === 'none') return units.filter((u) => u.length >= o.seq).map((u) => u.slice(0, o.seq));
  const flat = units.flat();
  const rows: number[][] = [];
  for (let i = 0; i + o.seq <= flat.length; i += o.seq) rows.push(flat.slice(i, i + o.seq));
  return rows;
}

async function rowsOf(ds: Dataset, from?: DataCursor): Promise<number[][]> {
  const out: number[][] = [];
  for await (const r of ds.rows(from)) out.push(Array.from(r.ids));
  return out;
}

async function withDataset<T>(o: DatasetOptions, f: (ds: Dataset) => Promise<T>): Promise<T> {
  const ds = await openDataset(o);
  try {
    return await f(ds);
  } finally {
    await ds.close();
  }
}

function randomIdDocs(n: number, seed: number, maxLen: number, vocab = 200): number[][] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(rnd() * maxLen) }, () => Math.floor(rnd() * vocab)));
}

function isErr(code: string, ...parts: string[]) {
  return (e: unknown) => e instanceof HybridCompressError && e.code === code && parts.every((p) => e.message.includes(p));
}

describe('packing concat', () => {
  it('joins documents with one EOS each (none added after an existing EOS), cuts exact rows, drops and reports the tail', async () => {
    const docs = randomIdDocs(40, 1, 30);
    docs[3]!.push(EOS); // already ends with EOS
    const p = tmp.jsonl(docs.map((ids) => ({ input_ids: ids })));
    for (const seq of [1, 7, 16, 64]) {
      await withDataset({ path: p, tokenizer: tok, seqLen: seq }, async (ds) => {
        const got = await rowsOf(ds);
        assert.deepEqual(got, referenceRows(docs, { seq, packing: 'concat', eos: EOS }));
        const total = docs.reduce((s, d) => s + d.length + (d[d.length - 1] === EOS ? 0 : 1), 0);
        const r = ds.report;
        assert.equal(r.tokens, total);
        assert.equal(r.rows, Math.floor(total / seq));
        assert.equal(r.droppedTailTokens, total % seq);
        assert.equal(r.documents, 40);
        assert.equal(r.complete, true);
        assert.equal(ds.knownRowCount(), got.length);
      });
    }
  });

  it('tokenizes text documents with the model tokenizer; total exactly k rows leaves no tail', async () => {
    const docs = ['hello world', 'the world', 'hello'];
    const units = docs.map((d) => [...tok.encode(d), EOS]);
    const total = units.flat().length;
    const p = tmp.file('.txt', docs.join('\n'));
    await withDataset({ path: p, tokenizer: tok, seqLen: total / 2 === Math.floor(total / 2) ? total / 2 : total }, async (ds) => {
      const got = await rowsOf(ds);
      assert.deepEqual(got.flat(), units.flat());
      assert.equal(ds.report.droppedTailTokens, 0);
      assert.equal(got.flat().filter((x) => x === EOS).length, 3);
    });
  });

  it('addBos puts BOS in front of each document (not twice)', async () => {
    const docs = [[5, 6], [9, 5, 7], [8]];
    const p = tmp.jsonl(docs.map((ids) => ({ input_ids: ids })));
    await withDataset({ path: p, seqLen: 3, eosId: 1, bosId: 9, addBos: true, vocabSize: 20 }, async (ds) => {
      assert.deepEqual(await rowsOf(ds), referenceRows(docs, { seq: 3, packing: 'concat', eos: 1, bos: 9, addBos: true }));
      assert.deepEqual((await rowsOf(ds)).flat(), [9, 5, 6, 1, 9, 5, 7, 1, 9]);
    });
  });
});

describe('packing none', () => {
  it('one document per row, truncated to seqLen; shorter ones skipped and counted; no EOS added', async () => {
    const docs = [[1, 2, 3, 4], [5, 6], [7, 8, 9], [10, 11, 12, 13, 14, 15], [16, 17, 18]];
    const p = tmp.jsonl(docs.map((ids) => ({ input_ids: ids })));
    await withDataset({ path: p, tokenizer: tok, seqLen: 3, packing: 'none' }, async (ds) => {
      const got = await rowsOf(ds);
      assert.deepEqual(got, [[1, 2, 3], [7, 8, 9], [10, 11, 12], [16, 17, 18]]);
      assert.deepEqual(got, referenceRows(docs, { seq: 3, packing: 'none' }));
      assert.equal(ds.report.skippedShort, 1);
      assert.equal(ds.report.truncated, 2);
      assert.equal(ds.report.droppedTailTokens, undefined);
      assert.equal(await ds.countRows(), 4);
    });
  });

  it('every document shorter than seqLen is a clear error with the longest length', async () => {
    const p = tmp.jsonl([{ input_ids: [1, 2] }, { input_ids: [3, 4, 5] }]);
    await withDataset({ path: p, tokenizer: tok, seqLen: 8, packing: 'none' }, async (ds) => {
      await assert.rejects(rowsOf(ds), isErr('DATA_INVALID', p, 'shorter than --seq-len 8', 'longest: 3 tokens'));
    });
  });
});

describe('batches', () => {
  it('groups rows into BigInt64Array batches, last one smaller (or dropped)', async () => {
    const docs = randomIdDocs(30, 2, 20);
    const p = tmp.jsonl(docs.map((ids) => ({ input_ids: ids })));
    const ref = referenceRows(docs, { seq: 8, packing: 'concat', eos: EOS });
    assert.ok(ref.length % 4 !== 0, 'test data should leave a partial batch');
    await withDataset({ path: p, tokenizer: tok, seqLen: 8, batchSize: 4 }, async (ds) => {
      const batches = [];
      for await (const b of ds.batches()) batches.push(b);
      assert.equal(batches.length, Math.ceil(ref.length / 4));
      batches.forEach((b, k) => {
        assert.equal(b.seq, 8);
        assert.equal(b.rowIndex, 4 * k);
        assert.equal(b.batch, Math.min(4, ref.length - 4 * k));
        assert.equal(b.ids.length, b.batch * 8);
        assert.deepEqual(Array.from(b.ids, Number), ref.slice(4 * k, 4 * k + b.batch).flat());
      });
    });
    await withDataset({ path: p, tokenizer: tok, seqLen: 8, batchSize: 4, dropLastBatch: true }, async (ds) => {
      let n = 0;
      for await (const b of ds.batches()) {
        assert.equal(b.batch, 4);
        n++;
      }
      assert.equal(n, Math.floor(ref.length / 4));
    });
  });

  it('samples limits the rows (and countRows agrees)', async () => {
    const docs = randomIdDocs(50, 3, 20);
    const p = tmp.jsonl(docs.map((ids) => ({ input_ids: ids })));
    await withDataset({ path: p, tokenizer: tok, seqLen: 5, samples: 7, batchSize: 3 }, async (ds) => {
      const sizes = [];
      for await (const b of ds.batches()) sizes.push(b.batch);
      assert.deepEqual(sizes, [3, 3, 1]);
      assert.equal(await ds.countRows(), 7);
      assert.deepEqual(await rowsOf(ds), referenceRows(docs, { seq: 5, packing: 'concat', eos: EOS }).slice(0, 7));
    });
  });
  it('countRows (before reading) equals the rows delivered, in every mode', async () => {
    const docs = fakeDocs(80, 21, 20);
    const p = tmp.file('.txt', docs.join('\n'));
    for (const extra of [{}, { packing: 'none' as const }, { shuffle: true, seed: 4 }, { samples: 10_000 }, { samples: 3, shuffle: true }]) {
      await withDataset({ path: p, tokenizer: tok, seqLen: 9, ...extra }, async (ds) => {
        assert.equal(ds.knownRowCount(), undefined);
        const n = await ds.countRows();
        assert.equal(n, (await rowsOf(ds)).length, JSON.stringify(extra));
        assert.equal(ds.knownRowCount(), n);
      });
    }
  });
});

describe('shuffle', () => {
  it('permutation is a deterministic permutation, different per seed and epoch, and not biased', () => {
    const p = permutation(1000, 42, 0);
    assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
    assert.deepEqual(permutation(1000, 42, 0), p);
    assert.notDeepEqual(permutation(1000, 43, 0), p);
    assert.notDeepEqual(permutation(1000, 42, 1), p);
    // Position-value frequencies over many seeds: each of 25 cells expects 400 of 2000 draws.
    const counts = Array.from({ length: 5 }, () => new Array(5).fill(0));
    for (let s = 0; s < 2000; s++) permutation(5, s, 0).forEach((v, pos) => counts[pos]![v]!++);
    let chi2 = 0;
    for (const row of counts) for (const c of row) chi2 += (c - 400) ** 2 / 400;
    assert.ok(chi2 < 60, `chi-square ${chi2} (16 degrees of freedom)`);
  });

  it('same seed → same rows, different seed → different rows; a sample of whole documents in permuted order', async () => {
    const docs = fakeDocs(60, 9);
    const p = tmp.file('.txt', docs.join('\n'));
    const run = (seed: number, extra: Partial<DatasetOptions> = {}) =>
      withDataset({ path: p, tokenizer: tok, seqLen: 4, packing: 'none', shuffle: true, seed, ...extra }, (ds) => rowsOf(ds));
    const a = await run(5);
    assert.deepEqual(await run(5), a);
    assert.notDeepEqual(await run(6), a);
    const tokDocs = docs.map((d) => tok.encode(d));
    const perm = permutation(docs.length, 5, 0);
    assert.deepEqual(a, referenceRows(Array.from(perm, (i) => tokDocs[i]!), { seq: 4, packing: 'none' }));
    const fileOrder = await withDataset({ path: p, tokenizer: tok, seqLen: 4, packing: 'none' }, (ds) => rowsOf(ds));
    assert.notDeepEqual(a, fileOrder);
    assert.deepEqual([...a].map(String).sort(), [...fileOrder].map(String).sort());
    // samples takes the first rows of the shuffled order.
    assert.deepEqual(await run(5, { samples: 5 }), a.slice(0, 5));
  });

  it('concat packs the documents in permuted order (parquet too)', async () => {
    const docs = fakeDocs(45, 4);
    const p = tmp.parquetText(docs, { rowGroupSize: 8 });
    const tokDocs = docs.map((d) => tok.encode(d));
    const got = await withDataset({ path: p, tokenizer: tok, seqLen: 6, shuffle: true, seed: 11 }, (ds) => rowsOf(ds));
    const perm = permutation(docs.length, 11, 0);
    assert.deepEqual(got, referenceRows(Array.from(perm, (i) => tokDocs[i]!), { seq: 6, packing: 'concat', eos: EOS }));
  });

  it('repeat reads epoch after epoch with a fresh permutation each, units running on across epochs', async () => {
    const docs = randomIdDocs(9, 5, 6);
    const p = tmp.jsonl(docs.map((ids) => ({ input_ids: ids })));
    const epochs = [0, 1, 2, 3].flatMap((e) => Array.from(permutation(9, 3, e), (i) => docs[i]!));
    const ref = referenceRows(epochs, { seq: 5, packing: 'concat', eos: EOS });
    await withDataset({ path: p, tokenizer: tok, seqLen: 5, shuffle: true, seed: 3, repeat: true, samples: ref.length - 2 }, async (ds) => {
      const seen: number[] = [];
      const got: number[][] = [];
      for await (const r of ds.rows()) {
        got.push(Array.from(r.ids));
        seen.push(r.epoch);
      }
      assert.deepEqual(got, ref.slice(0, ref.length - 2));
      assert.ok(seen.includes(3));
      assert.equal(ds.report.documents, 9, 'report counts the file once');
      assert.equal(ds.knownRowCount(), ref.length - 2);
    });
  });
});

describe('cursor', () => {
  const cases: [string, () => string, Partial<DatasetOptions>][] = [
    ['txt concat', () => tmp.file('.txt', fakeDocs(40, 1).join('\n') + '\n\n\n'), {}],
    ['txt concat shuffled', () => tmp.file('.txt', fakeDocs(40, 2).join('\n')), { shuffle: true, seed: 7 }],
    ['jsonl none with bad lines', () => tmp.jsonl([...fakeDocs(30, 3).map((text) => ({ text })), '{oops', { text: 5 }, ...fakeDocs(10, 4).map((text) => ({ text }))]), { packing: 'none' }],
    ['jsonl ids concat shuffled, repeating', () => tmp.jsonl(randomIdDocs(12, 8, 9).map((input_ids) => ({ input_ids }))), { shuffle: true, seed: 1, repeat: true, samples: 40 }],
    ['parquet concat', () => tmp.parquetText(fakeDocs(33, 5), { rowGroupSize: 5 }), {}],
    ['parquet none shuffled', () => tmp.parquetText(fakeDocs(33, 6), { rowGroupSize: 5 }), { packing: 'none', shuffle: true, seed: 2 }],
  ];
  for (const [name, make, extra] of cases) {
    it(`resuming from any batch gives the identical continuation and report (${name})`, async () => {
      const path = make();
      const opts: DatasetOptions = { path, tokenizer: tok, seqLen: 5, batchSize: 2, ...extra };
      const full: { ids: number[]; cursor: DataCursor }[] = [];
      const finalReport = await withDataset(opts, async (ds) => {
        for await (const b of ds.batches()) full.push({ ids: Array.from(b.ids, Number), cursor: b.cursor });
        return ds.report;
      });
      assert.ok(full.length >= 4, `${full.length} batches`);
      for (let k = 0; k < full.length; k++) {
        const cursor = JSON.parse(JSON.stringify(full[k]!.cursor)) as DataCursor;
        await withDataset(opts, async (ds) => {
          const rest: number[][] = [];
          for await (const b of ds.batches(cursor)) rest.push(Array.from(b.ids, Number));
          assert.deepEqual(rest, full.slice(k + 1).map((b) => b.ids), `resume after batch ${k}`);
          assert.deepEqual(ds.report, finalReport, `report after resuming at batch ${k}`);
        });
      }
    });
  }

  it('a cursor from other options or another file is refused, naming what changed', async () => {
    const p = tmp.file('.txt', fakeDocs(20, 1).join('\n'));
    const cursor = await withDataset({ path: p, tokenizer: tok, seqLen: 4, shuffle: true, seed: 1 }, async (ds) => {
      for await (const b of ds.batches()) return b.cursor;
      throw new Error('no batch');
    });
    await withDataset({ path: p, tokenizer: tok, seqLen: 4, shuffle: true, seed: 2 }, async (ds) => {
      await assert.rejects(rowsOf(ds, cursor), isErr('DATA_INVALID', 'seed was 1, now 2'));
    });
    const q = tmp.file('.txt', fakeDocs(21, 1).join('\n'));
    await withDataset({ path: q, tokenizer: tok, seqLen: 4, shuffle: true, seed: 1 }, async (ds) => {
      await assert.rejects(rowsOf(ds, cursor), isErr('DATA_INVALID', 'fileBytes'));
      await assert.rejects(rowsOf(ds, { version: 2 } as unknown as DataCursor), isErr('DATA_INVALID', 'version-1'));
      await assert.rejects(rowsOf(ds, { ...cursor, key: { ...cursor.key, fileBytes: (await import('node:fs')).statSync(q).size }, ordinal: -1 }), isErr('DATA_INVALID', 'ordinal'));
    });
  });
});

describe('bad input', () => {
  it('counts bad records by reason with the first offending line, and keeps going', async () => {
    const lines = [
      { text: 'hello world' },
      { text: 'the world' },
      '{"text": ',
      { input_ids: [1, 2, VOCAB] },
      { nope: 1 },
      { text: 3 },
      '',
      { input_ids: [3, 4, 5] },
      'null',
    ];
    const p = tmp.jsonl(lines);
    for (const shuffle of [false, true]) {
      await withDataset({ path: p, tokenizer: tok, seqLen: 2, shuffle, seed: 3 }, async (ds) => {
        const rows = await rowsOf(ds);
        const r = ds.report;
        assert.equal(r.records, 9);
        assert.equal(r.documents, 3);
        assert.equal(r.empty, 1);
        assert.equal(r.bad, 5);
        assert.deepEqual(r.badByReason, { 'invalid-json': 1, 'id-out-of-range': 1, 'missing-field': 1, 'wrong-type': 1, 'not-an-object': 1 });
        assert.equal(r.firstBad?.line, 3);
        assert.equal(r.firstBad?.reason, 'invalid-json');
        assert.equal(rows.length, Math.floor(r.tokens / 2));
      });
    }
    await withDataset({ path: p, tokenizer: tok, seqLen: 2 }, async (ds) => {
      for await (const _ of ds.rows());
      assert.match((await import('../../src/core/data/index')).describeDataReport(ds.report), /5 bad \(first at line 3: invalid-json/);
    });
  });

  it('ids out of range are bad records (vocabSize from the option when there is no tokenizer); parquet reports record indices', async () => {
    const p = tmp.jsonl([{ input_ids: [1, 2, 3] }, { input_ids: [1, 50] }, { input_ids: [4, 5, 6] }]);
    await withDataset({ path: p, seqLen: 3, packing: 'none', vocabSize: 50 }, async (ds) => {
      assert.deepEqual(await rowsOf(ds), [[1, 2, 3], [4, 5, 6]]);
      assert.deepEqual(ds.report.firstBad, { index: 1, line: 2, reason: 'id-out-of-range', detail: 'id 50 at position 1 is not below the vocabulary size 50' });
    });
    const q = tmp.parquetIds([[1, 2, 3], null, [9, 99, 1], [4, 5, 6]]);
    await withDataset({ path: q, seqLen: 3, packing: 'none', vocabSize: 10 }, async (ds) => {
      assert.deepEqual(await rowsOf(ds), [[1, 2, 3], [4, 5, 6]]);
      assert.equal(ds.report.bad, 2);
      assert.deepEqual(ds.report.firstBad, { index: 1, reason: 'missing-field', detail: 'no "text" or "input_ids" field' });
    });
  });

  it('a file with no usable record, or too few tokens for one row, is a clear error (also when repeating)', { timeout: 20_000 }, async () => {
    const bad = tmp.jsonl(['{', '[]', { x: 1 }]);
    for (const repeat of [false, true]) {
      await withDataset({ path: bad, tokenizer: tok, seqLen: 4, repeat }, async (ds) => {
        await assert.rejects(rowsOf(ds), isErr('DATA_INVALID', 'no usable records', '3 bad (first at line 1'));
      });
    }
    const empty = tmp.file('.txt', '');
    await withDataset({ path: empty, tokenizer: tok, seqLen: 4, repeat: true }, async (ds) => {
      await assert.rejects(rowsOf(ds), isErr('DATA_INVALID', 'no rows'));
    });
    const small = tmp.file('.txt', 'hello\n');
    await withDataset({ path: small, tokenizer: tok, seqLen: 100 }, async (ds) => {
      await assert.rejects(rowsOf(ds), isErr('DATA_INVALID', 'fewer than one row of --seq-len 100'));
    });
    // Repeating tiny data is fine for concat: rows span epochs.
    await withDataset({ path: small, tokenizer: tok, seqLen: 100, repeat: true, samples: 2 }, async (ds) => {
      assert.equal((await rowsOf(ds)).length, 2);
    });
  });

  it('text without a tokenizer is TOKENIZER_MISSING naming the line; pre-tokenized data needs none', async () => {
    const p = tmp.jsonl([{ input_ids: [1, 2] }, { text: 'hi' }]);
    await withDataset({ path: p, seqLen: 2, eosId: 0 }, async (ds) => {
      await assert.rejects(rowsOf(ds), isErr('TOKENIZER_MISSING', 'line 2', 'input_ids'));
    });
  });

  it('invalid options are OPTION_INVALID naming the option', async () => {
    const p = tmp.jsonl([{ input_ids: [1, 2] }]);
    await assert.rejects(openDataset({ path: p, seqLen: 4 }), isErr('OPTION_INVALID', '--packing', 'EOS'));
    await assert.rejects(openDataset({ path: p, tokenizer: tok, seqLen: 0 }), isErr('OPTION_INVALID', '--seq-len'));
    await assert.rejects(openDataset({ path: p, tokenizer: tok, seqLen: 4, batchSize: 1.5 }), isErr('OPTION_INVALID', '--batch'));
    await assert.rejects(openDataset({ path: p, tokenizer: tok, seqLen: 4, packing: 'pack' as 'none' }), isErr('OPTION_INVALID', '--packing', 'concat, none'));
    await assert.rejects(openDataset({ path: p, tokenizer: tok, seqLen: 4, eosId: VOCAB }), isErr('OPTION_INVALID', '--eos-id'));
    await assert.rejects(openDataset({ path: p, seqLen: 4, packing: 'none', addBos: true }), isErr('OPTION_INVALID', '--add-bos'));
    await assert.rejects(openDataset({ path: tmp.path('x.tsv'), tokenizer: tok, seqLen: 4 }), isErr('DATA_INVALID', '.tsv', '.parquet'));
  });
});
