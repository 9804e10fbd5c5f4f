// The LEB128 encoders of the hand-assembled WebAssembly kernels, checked by decoding them again and by
// what WebAssembly itself reads: i32.const takes the signed form, where 64 needs two bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leb, sleb, wasmName, wasmSection } from '../../src/core/util/wasm-bytes';

function decodeSigned(bytes: number[]): number {
  let result = 0;
  let shift = 0;
  let b = 0;
  let i = 0;
  do {
    b = bytes[i++]!;
    result |= (b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  if (shift < 32 && b & 0x40) result |= -1 << shift;
  assert.equal(i, bytes.length, 'no trailing bytes');
  return result;
}

const VALUES = [0, 1, 63, 64, 65, 127, 128, 8191, 8192, 2 ** 20, 2 ** 31 - 1, -1, -63, -64, -65, -128, -(2 ** 31)];

test('sleb round-trips through a signed LEB128 decoder; 64 is 0xc0 0x00', () => {
  for (const v of VALUES) assert.equal(decodeSigned(sleb(v)), v, String(v));
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(leb(64), [0x40], 'the unsigned form, which an i32.const would read as −64');
});

test('WebAssembly reads i32.const sleb(v) back as v', () => {
  // (func (export "f") (result i32) i32.const v)
  const module = (v: number) => {
    const body = [0x00, 0x41, ...sleb(v), 0x0b];
    return new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...wasmSection(1, [1, 0x60, 0, 1, 0x7f]),
      ...wasmSection(3, [1, 0]),
      ...wasmSection(7, [1, ...wasmName('f'), 0x00, 0]),
      ...wasmSection(10, [1, ...leb(body.length), ...body]),
    ]);
  };
  for (const v of VALUES) {
    const f = new WebAssembly.Instance(new WebAssembly.Module(module(v))).exports['f'] as () => number;
    assert.equal(f(), v, String(v));
  }
});
