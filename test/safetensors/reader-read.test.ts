// Reading tensor data: hand-built files whose data is not 8-aligned, every decoded dtype, integer
// pass-through, and row-range reads; each compared with values computed independently of the reader.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { HybridCompressError } from '../../src/core/errors';
import { rawSafetensors, tempDir } from './helpers';

const tmp = tempDir('st-read');
after(tmp.cleanup);

/** Little-endian bytes built with DataView, independent of the library's encoders. */
function le(kind: 'f32' | 'f64' | 'i64' | 'i32' | 'u16', values: (number | bigint)[]): Uint8Array {
  const size = { f32: 4, f64: 8, i64: 8, i32: 4, u16: 2 }[kind];
  const dv = new DataView(new ArrayBuffer(values.length * size));
  values.forEach((v, i) => {
    if (kind === 'f32') dv.setFloat32(i * size, v as number, true);
    else if (kind === 'f64') dv.setFloat64(i * size, v as number, true);
    else if (kind === 'i64') dv.setBigInt64(i * size, v as bigint, true);
    else if (kind === 'i32') dv.setInt32(i * size, v as number, true);
    else dv.setUint16(i * size, v as number, true);
  });
  return new Uint8Array(dv.buffer);
}

/** A file laid out by hand: tensors in the given order, back to back, header length odd. */
function handBuilt(name: string, parts: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[], pad = 0): string {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', note: 'hand-built' } };
  let off = 0;
  for (const p of parts) {
    header[p.name] = { dtype: p.dtype, shape: p.shape, data_offsets: [off, off + p.bytes.byteLength] };
    off += p.bytes.byteLength;
  }
  const data = new Uint8Array(off);
  off = 0;
  for (const p of parts) {
    data.set(p.bytes, off);
    off += p.bytes.byteLength;
  }
  const path = join(tmp.dir, name);
  writeFileSync(path, rawSafetensors(header, data, { pad }));
  return path;
}

// 2 + 12 + 2*8 ... bytes: every tensor after the first U8 starts at an odd absolute offset.
const F32_VALUES = [1.5, -0, 3.4028234663852886e38, 2 ** -149, -Infinity, 0.1];
const F64_VALUES = [Math.PI, -1e-320, 1e300, NaN];
const BF16_BITS = [0x3f80, 0xc049, 0x0001, 0x7f80, 0xff80, 0x7fc1, 0x8000];
const F16_BITS = [0x3c00, 0x3555, 0x0001, 0x03ff, 0x7bff, 0xfc00, 0x7e00];
const I64_VALUES = [0n, -1n, 2n ** 62n, -(2n ** 63n)];
const I32_VALUES = [0, -5, 2 ** 31 - 1, -(2 ** 31)];

function bitsToF32(bits: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, bits, false);
  return dv.getFloat32(0, false);
}
/** Independent f16 decoding by formula. */
function f16(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}
function sameFloats(got: Float32Array, want: number[]): void {
  assert.equal(got.length, want.length);
  want.forEach((w, i) => {
    const g = got[i]!;
    if (Number.isNaN(w)) assert.ok(Number.isNaN(g), `index ${i}: ${g} is not NaN`);
    else assert.ok(Object.is(g, Math.fround(w)), `index ${i}: got ${g}, want ${Math.fround(w)}`);
  });
}

const path = handBuilt(
  'unaligned.safetensors',
  [
    { name: 'mask', dtype: 'BOOL', shape: [3], bytes: Uint8Array.from([1, 0, 1]) },
    { name: 'f32', dtype: 'F32', shape: [2, 3], bytes: le('f32', F32_VALUES) },
    { name: 'bytes', dtype: 'U8', shape: [1], bytes: Uint8Array.from([255]) },
    { name: 'f64', dtype: 'F64', shape: [4], bytes: le('f64', F64_VALUES) },
    { name: 'bf16', dtype: 'BF16', shape: [7], bytes: le('u16', BF16_BITS) },
    { name: 'f16', dtype: 'F16', shape: [7, 1], bytes: le('u16', F16_BITS) },
    { name: 'i64', dtype: 'I64', shape: [2, 2], bytes: le('i64', I64_VALUES) },
    { name: 'i32', dtype: 'I32', shape: [4], bytes: le('i32', I32_VALUES) },
    { name: 'i16', dtype: 'I16', shape: [1], bytes: Uint8Array.from([1, 2]) },
  ],
  3,
);

test('the hand-built file really is unaligned', () => {
  const st = SafetensorsFile.open(path);
  assert.notEqual(st.dataStart % 8, 0);
  const odd = [...st.tensors.values()].filter((t) => t.fileOffset % 2 === 1);
  assert.ok(odd.length >= 5, `tensors at odd offsets: ${odd.map((t) => t.name).join(', ')}`);
  assert.deepEqual(st.metadata, { format: 'pt', note: 'hand-built' });
  assert.deepEqual(st.names, ['mask', 'f32', 'bytes', 'f64', 'bf16', 'f16', 'i64', 'i32', 'i16']);
});

test('F32, F64, BF16 and F16 decode to float32 from unaligned offsets', async () => {
  const st = SafetensorsFile.open(path);
  try {
    sameFloats(await st.readFloat32('f32'), F32_VALUES);
    sameFloats(await st.readFloat32('f64'), F64_VALUES);
    sameFloats(await st.readFloat32('bf16'), BF16_BITS.map((b) => bitsToF32(b << 16)));
    sameFloats(await st.readFloat32('f16'), F16_BITS.map(f16));
    // Spot checks against literal values.
    const bf = await st.readFloat32('bf16');
    assert.equal(bf[1], -3.140625);
    assert.equal(bf[2], 2 ** -133);
    const hf = await st.readFloat32('f16');
    assert.equal(hf[1], 0.333251953125);
    assert.equal(hf[2], 2 ** -24);
  } finally {
    await st.close();
  }
});

test('readFloat32 into a destination (a view at an offset of a larger buffer) gives the same values, and refuses a wrong size', async () => {
  const st = SafetensorsFile.open(path);
  try {
    for (const name of ['f32', 'f64', 'bf16', 'f16']) {
      const fresh = await st.readFloat32(name);
      const buffer = new Float32Array(fresh.length + 3).fill(7);
      const view = buffer.subarray(2, 2 + fresh.length);
      assert.equal(await st.readFloat32(name, view), view, `${name}: the destination itself is returned`);
      assert.deepEqual(view, fresh, name);
      assert.deepEqual([buffer[0], buffer[1], buffer[buffer.length - 1]], [7, 7, 7], `${name}: nothing written outside the view`);
      await assert.rejects(st.readFloat32(name, new Float32Array(fresh.length + 1)), /does not fit a destination/);
    }
  } finally {
    await st.close();
  }
});

test('I64, I32, U8 and BOOL pass through unchanged', async () => {
  const st = SafetensorsFile.open(path);
  try {
    assert.deepEqual([...((await st.readTyped('i64')) as BigInt64Array)], I64_VALUES);
    assert.deepEqual([...((await st.readTyped('i32')) as Int32Array)], I32_VALUES);
    assert.deepEqual([...((await st.readTyped('bytes')) as Uint8Array)], [255]);
    assert.deepEqual([...((await st.readTyped('mask')) as Uint8Array)], [1, 0, 1]);
    // readTyped decodes float dtypes too.
    sameFloats((await st.readTyped('f32')) as Float32Array, F32_VALUES);
  } finally {
    await st.close();
  }
});

test('non-float tensors read as float32 give a typed error naming the tensor and valid dtypes', async () => {
  const st = SafetensorsFile.open(path);
  try {
    for (const name of ['i64', 'mask']) {
      await assert.rejects(st.readFloat32(name), (e: unknown) => e instanceof HybridCompressError && e.context.tensor === name && /valid: F32, F16, BF16, F64/.test(e.message));
    }
    await assert.rejects(st.readTyped('i16'), (e: unknown) => e instanceof HybridCompressError && e.context.tensor === 'i16');
    await assert.rejects(st.readFloat32('nope'), (e: unknown) => e instanceof HybridCompressError && e.context.tensor === 'nope');
  } finally {
    await st.close();
  }
});

test('row-range reads return exactly the requested rows (2-D and 3-D, F32 and BF16, unaligned)', async () => {
  const rows = 7;
  const cols = 5;
  const values = Array.from({ length: rows * cols }, (_, i) => (i % 2 ? -1 : 1) * (i + 0.25));
  const bfBits = values.map((v) => {
    const dv = new DataView(new ArrayBuffer(4));
    dv.setFloat32(0, v, true);
    return dv.getUint32(0, true) >>> 16; // bf16 bits by truncation; expectations decode these same bits independently
  });
  const p = handBuilt('rows.safetensors', [
    { name: 'pad', dtype: 'U8', shape: [1], bytes: Uint8Array.from([0]) },
    { name: 'm', dtype: 'F32', shape: [rows, cols], bytes: le('f32', values) },
    { name: 'b', dtype: 'BF16', shape: [rows, cols], bytes: le('u16', bfBits) },
    { name: 'cube', dtype: 'F32', shape: [3, 2, 2], bytes: le('f32', Array.from({ length: 12 }, (_, i) => i)) },
  ]);
  const st = SafetensorsFile.open(p);
  try {
    for (const [start, count] of [[0, 1], [2, 3], [6, 1], [0, 7], [4, 0]] as const) {
      sameFloats(await st.readRowsFloat32('m', start, count), values.slice(start * cols, (start + count) * cols));
      sameFloats(await st.readRowsFloat32('b', start, count), bfBits.slice(start * cols, (start + count) * cols).map((b) => bitsToF32(b << 16)));
    }
    sameFloats(await st.readRowsFloat32('cube', 1, 2), [4, 5, 6, 7, 8, 9, 10, 11]);
    // Byte sub-ranges read only what was asked.
    assert.deepEqual([...(await st.readBytes('m', 4, 8))], [...le('f32', [values[1]!])]);
    await assert.rejects(st.readRowsFloat32('m', 6, 2), /outside tensor/);
    await assert.rejects(st.readBytes('m', -1, 4), /outside tensor/);
  } finally {
    await st.close();
  }
});

test('reads after close reopen the file; concurrent reads share one handle', async () => {
  const st = SafetensorsFile.open(path);
  const [a, b] = await Promise.all([st.readFloat32('f32'), st.readFloat32('f64')]);
  sameFloats(a, F32_VALUES);
  sameFloats(b, F64_VALUES);
  await st.close();
  sameFloats(await st.readFloat32('f32'), F32_VALUES);
  await st.close();
  await st.close(); // closing twice is harmless
});
