import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, maskCrc32c, maskedCrc32c, unmaskCrc32c } from '../../src/core/curves/crc32c';
import { independentCrc32c } from './helpers/tb-writer';

const hex = (s: string) => Uint8Array.from(s.trim().split(/\s+/).map((h) => parseInt(h, 16)));

// RFC 3720 (iSCSI) appendix B.4 CRC-32C examples; the RFC lists the CRC bytes in transmission
// (little-endian) order, e.g. "aa 36 91 8a" for 32 zero bytes = 0x8a9136aa.
test('crc32c matches the RFC 3720 B.4 test vectors', () => {
  const zeros = new Uint8Array(32);
  const ones = new Uint8Array(32).fill(0xff);
  const inc = Uint8Array.from({ length: 32 }, (_, i) => i);
  const dec = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
  const pdu = hex(`
    01 c0 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    14 00 00 00 00 00 04 00 00 00 00 14 00 00 00 18
    28 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00`);
  assert.equal(crc32c(zeros), 0x8a9136aa);
  assert.equal(crc32c(ones), 0x62a8ab43);
  assert.equal(crc32c(inc), 0x46dd794e);
  assert.equal(crc32c(dec), 0x113fdb5c);
  assert.equal(crc32c(pdu), 0xd9963a56);
});

test('crc32c of "123456789" is the catalogue check value 0xE3069283', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('crc32c agrees with an independent implementation (crc-32 package) on random data, any length and offset', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let n = 0; n < 300; n += 7) {
    const b = Uint8Array.from({ length: n + 5 }, rnd);
    const start = n % 5;
    const end = b.length - (n % 3);
    assert.equal(crc32c(b, 0, start, end), independentCrc32c(b.subarray(start, end)), `length ${n}`);
  }
});

test('crc32c continues a running CRC across pieces', () => {
  const b = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 0xff);
  for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
    assert.equal(crc32c(b.subarray(cut), crc32c(b.subarray(0, cut))), crc32c(b));
  }
});

test('masking follows TensorFlow (rotate right 15, add 0xa282ead8) and unmasking inverts it', () => {
  // Computed by hand: crc 0 → rot 0 → 0xa282ead8; crc 1 → rot 1<<17 = 0x20000 → 0xa284ead8.
  assert.equal(maskCrc32c(0), 0xa282ead8);
  assert.equal(maskCrc32c(1), 0xa284ead8);
  for (const c of [0, 1, 0x8a9136aa, 0xffffffff, 0x12345678]) assert.equal(unmaskCrc32c(maskCrc32c(c)), c);
  const data = new TextEncoder().encode('hello');
  assert.equal(maskedCrc32c(data), maskCrc32c(crc32c(data)));
});
