// The shared pieces of the hand-assembled WebAssembly kernels: the LEB128 encoders (checked by decoding
// them again and by what WebAssembly itself reads: i32.const takes the signed form, where 64 needs two
// bytes), the kernel module builder and fixed-size memories.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedMemory, ins, lazyKernelModule, leb, MAX_WASM_MEMORY_BYTES, sleb, WASM_PAGE } from '../../src/core/util/wasm-bytes';

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

test('a kernel module over an imported fixed memory: i32.const sleb(v) stores v (WebAssembly reads the operand back)', () => {
  // (func (export "k") i32.const 0; i32.const v; i32.store) for each v, compiled once per v.
  for (const v of VALUES) {
    const code = [0x00, ...ins.i32(0), ...ins.i32(v), 0x36, 0x02, 0x00, 0x0b];
    const module = lazyKernelModule(() => [{ name: 'k', params: [], body: [...leb(code.length), ...code] }])();
    assert.ok(module, 'compiles');
    const memory = fixedMemory(100)!;
    assert.equal(memory.buffer.byteLength, WASM_PAGE, 'rounded up to one page');
    (new WebAssembly.Instance(module, { e: { m: memory } }).exports['k'] as () => void)();
    assert.equal(new Int32Array(memory.buffer, 0, 1)[0], v, String(v));
    assert.throws(() => memory.grow(1), 'a fixed memory never grows');
  }
  assert.equal(fixedMemory(MAX_WASM_MEMORY_BYTES + 1), undefined, 'past the limit: none');
  assert.equal(lazyKernelModule(() => [{ name: 'bad', params: [], body: [1, 0xff] }])(), undefined, 'a module the engine rejects: none');
});
