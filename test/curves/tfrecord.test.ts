import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TfRecordReader } from '../../src/core/curves/tfrecord';
import { WarningTally } from '../../src/core/curves/warnings';
import { concatBytes, frameRecord, masked } from './helpers/tb-writer';

const payloads = Array.from({ length: 12 }, (_, i) => Uint8Array.from({ length: 3 + i * 11 }, (_, j) => (i * 7 + j * 13) & 0xff));
const stream = concatBytes(payloads.map(frameRecord));

test('records come out whole however the bytes are chunked', () => {
  const all = new TfRecordReader().push(stream);
  assert.deepEqual(all, payloads);
  for (const step of [1, 2, 5, 11, 12, 13, 64]) {
    const r = new TfRecordReader();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += step) got.push(...r.push(stream.subarray(i, i + step)));
    assert.deepEqual(got, payloads, `chunk ${step}`);
    assert.equal(r.pendingBytes, 0);
    assert.equal(r.stats.records, payloads.length);
  }
});

test('a partial record at the end waits for the rest', () => {
  const r = new TfRecordReader();
  const cut = stream.length - 5;
  const first = r.push(stream.subarray(0, cut));
  assert.equal(first.length, payloads.length - 1);
  assert.ok(r.pendingBytes > 0);
  assert.equal(r.stats.recordCrcErrors + r.stats.lengthCrcErrors, 0, 'waiting is not an error');
  assert.deepEqual(r.push(stream.subarray(cut)), [payloads[payloads.length - 1]]);
});

test('a payload CRC mismatch skips only that record, with a counted warning', () => {
  const bad = stream.slice();
  // Flip a byte inside the payload of record 3.
  let off = 0;
  for (let i = 0; i < 3; i++) off += 16 + payloads[i]!.length;
  bad[off + 12 + 1]! ^= 0x40;
  const tally = new WarningTally();
  const r = new TfRecordReader(tally.sink, 'x.tfevents');
  const got = r.push(bad);
  assert.deepEqual(got, payloads.filter((_, i) => i !== 3));
  assert.equal(r.stats.recordCrcErrors, 1);
  assert.equal(tally.counts.get('record-crc'), 1);
  assert.match(tally.first.get('record-crc')!, /x\.tfevents/);
});

test('a corrupt length header loses the framing; the reader resynchronises on the next valid header', () => {
  const bad = stream.slice();
  let off = 0;
  for (let i = 0; i < 5; i++) off += 16 + payloads[i]!.length;
  bad[off]! ^= 0x01; // record 5's length no longer matches its CRC
  const tally = new WarningTally();
  const r = new TfRecordReader(tally.sink);
  const got: Uint8Array[] = [];
  for (let i = 0; i < bad.length; i += 9) got.push(...r.push(bad.subarray(i, i + 9)));
  assert.deepEqual(got, payloads.filter((_, i) => i !== 5));
  assert.equal(r.stats.lengthCrcErrors, 1, 'one warning per lost-framing episode');
  assert.equal(r.stats.skippedBytes, 16 + payloads[5]!.length);
  assert.equal(tally.counts.get('length-crc'), 1);
});

test('garbage before the first record is skipped', () => {
  const junk = new TextEncoder().encode('not a tfrecord header at all!');
  const r = new TfRecordReader();
  assert.deepEqual(r.push(concatBytes([junk, stream])), payloads);
  assert.equal(r.stats.skippedBytes, junk.length);
});

test('an absurd length with a valid CRC is treated as corruption, not waited for', () => {
  const hdr = new Uint8Array(12);
  const v = new DataView(hdr.buffer);
  v.setUint32(4, 1, true); // length 2^32: more than MAX_RECORD_BYTES
  v.setUint32(8, masked(hdr.subarray(0, 8)), true); // ...with a correct length CRC
  const tally = new WarningTally();
  const r = new TfRecordReader(tally.sink);
  assert.deepEqual(r.push(concatBytes([hdr, stream])), payloads);
  assert.equal(tally.counts.get('length-crc'), 1);
  assert.match(tally.first.get('length-crc')!, /too large/);
});
