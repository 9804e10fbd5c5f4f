import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { HybridCompressError } from '../../src/core/errors';
import { openRecordSource, type RawRecord, type SourceRecord } from '../../src/core/data/index';
import { fakeDocs, TempDir } from './helpers/files';

const tmp = new TempDir();
after(() => tmp.cleanup());

async function all(it: AsyncIterable<SourceRecord>): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** A record without its byte positions, for comparisons. */
function bare(r: SourceRecord): RawRecord {
  const { byte: _b, nextByte: _n, ...rest } = r as SourceRecord & { byte?: number; nextByte?: number };
  return rest as RawRecord;
}

function isDataError(e: unknown, ...parts: string[]): boolean {
  return e instanceof HybridCompressError && e.code === 'DATA_INVALID' && parts.every((p) => e.message.includes(p));
}

describe('.txt source', () => {
  it('one document per line: CRLF stripped, blank and whitespace-only lines are empty records, last line without newline kept', async () => {
    const p = tmp.file('.txt', 'first line\r\n\nsecond ☃\n   \nthird');
    const src = await openRecordSource(p);
    const recs = (await all(src.read())).map(bare);
    assert.deepEqual(recs, [
      { index: 0, kind: 'text', text: 'first line' },
      { index: 1, kind: 'empty' },
      { index: 2, kind: 'text', text: 'second ☃' },
      { index: 3, kind: 'empty' },
      { index: 4, kind: 'text', text: 'third' },
    ]);
    assert.equal(await src.count(), 5);
    await src.close();
  });

  it('streams lines that cross 1 MiB read chunks, and random fetch / resume agree with sequential reading', async () => {
    const docs = fakeDocs(3000, 7, 40);
    docs[1234] = 'L'.repeat(2_500_000) + ' long'; // spans three chunks
    docs[5] = '';
    const text = docs.join('\n') + '\n';
    const p = tmp.file('.txt', text);
    const src = await openRecordSource(p);
    const seq = await all(src.read());
    assert.equal(seq.length, docs.length);
    seq.forEach((r, i) => {
      if (docs[i] === '') assert.equal(r.kind, 'empty');
      else assert.deepEqual(bare(r), { index: i, kind: 'text', text: docs[i] });
    });
    // Byte positions: each record's bytes are exactly its line.
    const buf = Buffer.from(text);
    for (const i of [0, 1, 1233, 1234, 1235, 2999]) {
      const r = seq[i]!;
      assert.equal(buf.subarray(r.byte!, r.nextByte! - 1).toString(), docs[i]);
    }
    assert.equal(await src.count(), docs.length);
    const want = [2999, 0, 1234, 17, 17, 1500];
    assert.deepEqual((await src.fetch(want)).map(bare), want.map((i) => bare(seq[i]!)));
    // Resume by index (uses the line index) and by byte hint give the same tail.
    const fromIdx = await all(src.read({ index: 1233 }));
    const fromByte = await all(src.read({ index: 1233, byte: seq[1233]!.byte }));
    assert.deepEqual(fromIdx.map(bare), seq.slice(1233).map(bare));
    assert.deepEqual(fromByte.map(bare), seq.slice(1233).map(bare));
    assert.deepEqual(await all(src.read({ index: 3000 })), []);
    await assert.rejects(src.fetch([3000]), RangeError);
    await src.close();
  });

  it('an empty file has no records; a line that is not UTF-8 is a bad record', async () => {
    const e = await openRecordSource(tmp.file('.txt', ''));
    assert.equal(await e.count(), 0);
    assert.deepEqual(await all(e.read()), []);
    await e.close();
    const p = tmp.file('.txt', Buffer.concat([Buffer.from('ok\n'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('\nfine\n')]));
    const src = await openRecordSource(p);
    const recs = await all(src.read());
    assert.deepEqual(recs.map((r) => r.kind), ['text', 'bad', 'text']);
    assert.equal((recs[1] as { reason: string }).reason, 'invalid-utf8');
    await src.close();
  });
});

describe('.jsonl source', () => {
  it('reads "text", pre-tokenized "input_ids" (preferred when both), and classifies every kind of bad line', async () => {
    const lines = [
      { text: 'hello' },
      { input_ids: [5, 6, 7] },
      { input_ids: [1, 2], text: 'ignored' },
      '{"text": "unterminated',
      '[1, 2, 3]',
      '42',
      { title: 'no text' },
      { text: 17 },
      { text: ['a'] },
      { input_ids: [1, -2] },
      { input_ids: [1, 2.5] },
      { input_ids: 'abc' },
      { text: '' },
      '',
      { text: null },
      { input_ids: [] },
      { text: 'last', extra: { nested: true } },
    ];
    const src = await openRecordSource(tmp.jsonl(lines));
    const recs = (await all(src.read())).map(bare);
    const kinds = recs.map((r) => (r.kind === 'bad' ? `bad:${r.reason}` : r.kind));
    assert.deepEqual(kinds, [
      'text',
      'ids',
      'ids',
      'bad:invalid-json',
      'bad:not-an-object',
      'bad:not-an-object',
      'bad:missing-field',
      'bad:wrong-type',
      'bad:wrong-type',
      'bad:wrong-type',
      'bad:wrong-type',
      'bad:wrong-type',
      'empty',
      'empty',
      'bad:missing-field',
      'empty',
      'text',
    ]);
    assert.deepEqual(recs[1], { index: 1, kind: 'ids', ids: [5, 6, 7] });
    assert.deepEqual(recs[2], { index: 2, kind: 'ids', ids: [1, 2] });
    assert.match((recs[9] as { detail: string }).detail, /element 1 is -2/);
    await src.close();
  });

  it('custom field names', async () => {
    const src = await openRecordSource(tmp.jsonl([{ content: 'abc' }, { toks: [3] }]), { textField: 'content', idsField: 'toks' });
    assert.deepEqual((await all(src.read())).map(bare), [
      { index: 0, kind: 'text', text: 'abc' },
      { index: 1, kind: 'ids', ids: [3] },
    ]);
    await src.close();
  });
});

describe('.parquet source', () => {
  it('reads a text column over several row groups; nulls are missing-field, "" is empty; fetch and resume agree', async () => {
    const texts: (string | null)[] = fakeDocs(57, 3);
    texts[4] = null;
    texts[30] = '';
    const src = await openRecordSource(tmp.parquetText(texts, { rowGroupSize: 10 }));
    assert.equal(await src.count(), 57);
    const seq = (await all(src.read())).map(bare);
    assert.equal(seq.length, 57);
    seq.forEach((r, i) => {
      if (i === 4) assert.deepEqual(r, { index: 4, kind: 'bad', reason: 'missing-field', detail: 'no "text" or "input_ids" field' });
      else if (i === 30) assert.deepEqual(r, { index: 30, kind: 'empty' });
      else assert.deepEqual(r, { index: i, kind: 'text', text: texts[i] });
    });
    const want = [56, 0, 9, 10, 33, 33, 4];
    assert.deepEqual((await src.fetch(want)).map(bare), want.map((i) => seq[i]));
    assert.deepEqual((await all(src.read({ index: 19 }))).map(bare), seq.slice(19));
    await src.close();
  });

  it('a large row group with an offset index is read in slices and still gives every row once, in order', async () => {
    const texts = Array.from({ length: 9000 }, (_, i) => `doc ${i}`);
    const src = await openRecordSource(tmp.parquetText(texts, { rowGroupSize: 9000, pageSize: 4096 }));
    const seq = await all(src.read());
    assert.deepEqual(
      seq.map((r) => (r.kind === 'text' ? r.text : '?')),
      texts,
    );
    const want = [8999, 4095, 4096, 0, 8192];
    assert.deepEqual((await src.fetch(want)).map((r) => (r.kind === 'text' ? r.text : '?')), want.map((i) => texts[i]));
    await src.close();
  });

  it('reads a pre-tokenized list<int> input_ids column', async () => {
    const src = await openRecordSource(tmp.parquetIds([[1, 2, 3], null, [], [7]], 2));
    assert.deepEqual((await all(src.read())).map(bare), [
      { index: 0, kind: 'ids', ids: [1, 2, 3] },
      { index: 1, kind: 'bad', reason: 'missing-field', detail: 'no "text" or "input_ids" field' },
      { index: 2, kind: 'empty' },
      { index: 3, kind: 'ids', ids: [7] },
    ]);
    await src.close();
  });

  it('a file without the text column is a clear error listing the columns it has', async () => {
    const p = tmp.parquetText(['a'], { column: 'body' });
    await assert.rejects(openRecordSource(p), (e) => isDataError(e, p, 'no "text" column', 'body'));
  });

  it('a corrupt parquet file is DATA_INVALID', async () => {
    const p = tmp.file('.parquet', 'PAR1 this is not parquet at all');
    await assert.rejects(openRecordSource(p), (e) => isDataError(e, p, 'parquet'));
  });
});

describe('opening data files', () => {
  it('an unknown extension lists the valid ones', async () => {
    const p = tmp.file('.csv', 'a,b\n');
    await assert.rejects(openRecordSource(p), (e) => isDataError(e, '.csv', '.txt', '.jsonl', '.parquet'));
  });

  it('a missing file or a folder is DATA_INVALID naming it', async () => {
    await assert.rejects(openRecordSource(tmp.path('missing.jsonl')), (e) => isDataError(e, 'missing.jsonl', 'not found'));
    const dir = tmp.path('folder.txt');
    (await import('node:fs')).mkdirSync(dir);
    await assert.rejects(openRecordSource(dir), (e) => isDataError(e, 'folder.txt'));
  });
});
