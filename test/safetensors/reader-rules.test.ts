// One corrupted file per validation rule of the safetensors reader: each must give a SafetensorsError
// naming the file, the rule and (for entry-level rules) the tensor.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { MAX_HEADER_BYTES } from '../../src/core/safetensors/header';
import { HybridCompressError } from '../../src/core/errors';
import { assertSafetensorsError, f32Bytes, rawSafetensors, tempDir } from './helpers';

const tmp = tempDir('st-rules');
after(tmp.cleanup);
let counter = 0;

/** Writes `bytes` to a fresh file and returns its path. */
function file(bytes: Uint8Array): string {
  const p = join(tmp.dir, `f${counter++}.safetensors`);
  writeFileSync(p, bytes);
  return p;
}

const entry = (dtype: string, shape: number[], offsets: number[]) => ({ dtype, shape, data_offsets: offsets });

function expectRule(bytes: Uint8Array, rule: string, tensor?: string): void {
  const p = file(bytes);
  assertSafetensorsError(() => SafetensorsFile.open(p), tensor === undefined ? { rule, file: p } : { rule, file: p, tensor });
}

test('a valid hand-built file opens (the baseline the corruptions start from)', () => {
  const p = file(rawSafetensors({ a: entry('F32', [2], [0, 8]) }, f32Bytes([1.5, -2])));
  const st = SafetensorsFile.open(p);
  assert.deepEqual(st.names, ['a']);
  assert.deepEqual(st.tensors.get('a')?.shape, [2]);
});

test('header-too-small: a file shorter than the 8-byte length field', () => {
  expectRule(new Uint8Array(5), 'header-too-small');
  expectRule(new Uint8Array(0), 'header-too-small');
});

test('header-too-large: a length over 100 MB, including 2^60 and 2^64-1, fails before any allocation', () => {
  expectRule(rawSafetensors('{}', new Uint8Array(0), { headerLength: BigInt(MAX_HEADER_BYTES) + 1n }), 'header-too-large');
  for (const lie of [1n << 60n, (1n << 64n) - 1n]) {
    const before = process.memoryUsage().arrayBuffers;
    expectRule(rawSafetensors('{}', new Uint8Array(0), { headerLength: lie }), 'header-too-large');
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 << 20, 'no buffer proportional to the claimed length');
  }
});

test('header-length-exceeds-file: a length within the limit but past EOF', () => {
  expectRule(rawSafetensors('{}', new Uint8Array(0), { headerLength: 1000n }), 'header-length-exceeds-file');
  const before = process.memoryUsage().arrayBuffers;
  expectRule(rawSafetensors('{}', new Uint8Array(0), { headerLength: BigInt(MAX_HEADER_BYTES) }), 'header-length-exceeds-file');
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 << 20, 'a 100 MB claim on a tiny file allocates nothing of that size');
});

test('header-utf8: invalid UTF-8 in the header', () => {
  expectRule(rawSafetensors(Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])), 'header-utf8');
  // A truncated multi-byte sequence is invalid too.
  expectRule(rawSafetensors(Uint8Array.from([0x7b, 0x22, 0xe2, 0x82, 0x22, 0x7d])), 'header-utf8');
});

test('header-start: the header must start with "{"', () => {
  expectRule(rawSafetensors(' {}'), 'header-start');
  expectRule(rawSafetensors('[]'), 'header-start');
  expectRule(rawSafetensors(''), 'header-start');
});

test('header-json: malformed JSON, including a repeated key inside an entry', () => {
  expectRule(rawSafetensors('{"a": '), 'header-json');
  expectRule(rawSafetensors('{"a": {"dtype": "F32",}}'), 'header-json');
  expectRule(rawSafetensors('{"a": NaN}'), 'header-json'); // non-finite tokens are not JSON
  // A duplicate key one level down is bad JSON, not a duplicate tensor named "dtype".
  expectRule(rawSafetensors('{"a": {"dtype": "F32", "dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}'), 'header-json');
});

test('header-not-object: non-object JSON headers are refused (caught by the start check first)', () => {
  // A header that starts with "{" and parses is always an object, so non-object JSON is refused by
  // header-start; the header-not-object guard is defensive. Both say the header must be an object.
  for (const h of ['[1, 2]', '"x"', 'null', '42']) {
    const p = file(rawSafetensors(h));
    const e = assertSafetensorsError(() => SafetensorsFile.open(p), { rule: 'header-start', file: p });
    assert.match(e.message, /start with "\{"/);
  }
});

test('metadata-invalid: __metadata__ must be an object of strings', () => {
  expectRule(rawSafetensors({ __metadata__: { format: 1 } }), 'metadata-invalid');
  expectRule(rawSafetensors({ __metadata__: ['pt'] }), 'metadata-invalid');
  expectRule(rawSafetensors({ __metadata__: null }), 'metadata-invalid');
  expectRule(rawSafetensors({ __metadata__: { nested: { a: 'b' } } }), 'metadata-invalid');
});

test('entry-not-object: a tensor entry that is not an object names the tensor', () => {
  expectRule(rawSafetensors({ w: [1, 2] }), 'entry-not-object', 'w');
  expectRule(rawSafetensors({ w: 'F32' }), 'entry-not-object', 'w');
  expectRule(rawSafetensors({ w: null }), 'entry-not-object', 'w');
});

test('dtype-unknown: names the tensor and lists valid dtypes', () => {
  const p = file(rawSafetensors({ w: entry('F99', [1], [0, 4]) }, new Uint8Array(4)));
  const e = assertSafetensorsError(() => SafetensorsFile.open(p), { rule: 'dtype-unknown', file: p, tensor: 'w' });
  assert.match(e.message, /BF16/);
  expectRule(rawSafetensors({ w: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), 'dtype-unknown', 'w');
  expectRule(rawSafetensors({ w: entry('f32', [1], [0, 4]) }, new Uint8Array(4)), 'dtype-unknown', 'w');
});

test('shape-invalid: negative, fractional, non-numeric and unsafe dimensions', () => {
  for (const shape of [[-1], [1.5], ['2'], [2 ** 60], null, 3]) {
    expectRule(rawSafetensors({ w: { dtype: 'F32', shape, data_offsets: [0, 4] } }, new Uint8Array(4)), 'shape-invalid', 'w');
  }
});

test('offsets-invalid: begin > end, wrong arity, negative or unsafe offsets', () => {
  for (const offsets of [[4, 0], [0], [0, 4, 8], [-4, 0], [0, 2 ** 60], 'x']) {
    expectRule(rawSafetensors({ w: { dtype: 'U8', shape: [4], data_offsets: offsets } }, new Uint8Array(4)), 'offsets-invalid', 'w');
  }
});

test('size-mismatch: shape × element size differs from the offset span', () => {
  expectRule(rawSafetensors({ w: entry('F32', [2], [0, 4]) }, new Uint8Array(4)), 'size-mismatch', 'w');
  expectRule(rawSafetensors({ w: entry('BF16', [3, 2], [0, 24]) }, new Uint8Array(24)), 'size-mismatch', 'w');
  // A shape whose element count overflows 2^53 is compared exactly (BigInt), not rounded into a match.
  expectRule(rawSafetensors({ w: entry('U8', [2 ** 30, 2 ** 30], [0, 4]) }, new Uint8Array(4)), 'size-mismatch', 'w');
});

test('offsets-hole: a gap between two tensors names the later tensor', () => {
  const h = { a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) };
  expectRule(rawSafetensors(h, new Uint8Array(12)), 'offsets-hole', 'b');
  // A buffer that does not start at 0 is a hole too.
  expectRule(rawSafetensors({ a: entry('F32', [1], [4, 8]) }, new Uint8Array(8)), 'offsets-hole', 'a');
});

test('offsets-overlap: two tensors sharing bytes', () => {
  const h = { a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) };
  expectRule(rawSafetensors(h, new Uint8Array(12)), 'offsets-overlap', 'b');
  // Two tensors on the very same bytes.
  expectRule(rawSafetensors({ a: entry('F32', [1], [0, 4]), b: entry('I32', [1], [0, 4]) }, new Uint8Array(4)), 'offsets-overlap');
});

test('buffer-eof: data must end exactly at EOF (trailing bytes or a short file)', () => {
  expectRule(rawSafetensors({ a: entry('F32', [1], [0, 4]) }, new Uint8Array(5)), 'buffer-eof');
  expectRule(rawSafetensors({ a: entry('F32', [1], [0, 4]) }, new Uint8Array(3)), 'buffer-eof');
  // Offsets far beyond the file (a lying data_offsets) fail on the header alone.
  expectRule(rawSafetensors({ a: entry('U8', [2 ** 40], [0, 2 ** 40]) }, new Uint8Array(4)), 'buffer-eof');
  expectRule(rawSafetensors({}, new Uint8Array(1)), 'buffer-eof');
});

test('buffer-eof: a file truncated after opening fails the read with a typed error', async () => {
  const p = file(rawSafetensors({ a: entry('F32', [4], [0, 16]) }, f32Bytes([1, 2, 3, 4])));
  const st = SafetensorsFile.open(p);
  truncateSync(p, 8 + st.headerLength + 6);
  await assert.rejects(st.readFloat32('a'), (e: unknown) => e instanceof HybridCompressError && e.context.rule === 'buffer-eof' && e.context.tensor === 'a');
  await st.close();
});

test('duplicate-tensor: a tensor name appearing twice', () => {
  const h = '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
  expectRule(rawSafetensors(h, new Uint8Array(2)), 'duplicate-tensor', 'a');
  // Names needing escapes are reported decoded.
  const h2 = '{"x\\"y":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"x\\"y":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}';
  expectRule(rawSafetensors(h2), 'duplicate-tensor', 'x"y');
});

test('edge cases that are valid: empty header, zero-size tensors, scalars, space padding, __proto__ name', () => {
  assert.equal(SafetensorsFile.open(file(rawSafetensors('{}'))).names.length, 0);
  assert.equal(SafetensorsFile.open(file(rawSafetensors('{}', new Uint8Array(0), { pad: 6 }))).headerLength, 8);
  const st = SafetensorsFile.open(
    file(rawSafetensors({ e: entry('F32', [0, 3], [0, 0]), s: entry('F32', [], [0, 4]), __proto__x: entry('U8', [0], [4, 4]) }, f32Bytes([7]))),
  );
  assert.deepEqual(st.tensors.get('s')?.shape, []);
  assert.equal(st.tensors.get('e')?.byteLength, 0);
  const proto = SafetensorsFile.open(file(rawSafetensors('{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', Uint8Array.from([9]))));
  assert.deepEqual(proto.names, ['__proto__']);
});

test('long runs of padding spaces inside the header parse in linear time', { timeout: 20_000 }, () => {
  // A regex trim of trailing spaces was quadratic on long inner runs; 2 MB of spaces would take hours.
  const h = `{"a":${' '.repeat(2_000_000)}{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`;
  const st = SafetensorsFile.open(file(rawSafetensors(h, Uint8Array.from([5]), { pad: 3 })));
  assert.deepEqual(st.names, ['a']);
});

test('open on a missing path (IO error) or a folder (not-a-file) gives a typed error naming the path', () => {
  const missing = join(tmp.dir, 'nope.safetensors');
  assert.throws(() => SafetensorsFile.open(missing), (e: unknown) => e instanceof HybridCompressError && e.code === 'IO_ERROR' && e.context.file === missing);
  const folder = join(tmp.dir, 'folder.safetensors');
  mkdirSync(folder);
  const e = assertSafetensorsError(() => SafetensorsFile.open(folder), { rule: 'not-a-file', file: folder });
  assert.match(e.message, /not a regular file/);
});
