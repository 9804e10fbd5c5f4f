// Streamed weights: the WebAssembly arena's BF16 kernel and first-fit allocator, and the WeightReader that
// reads tensors (or row slices) into float32 with read-ahead — bit-identical to the safetensors reader's
// decode for F32, BF16, F16 and F64, through the arena and without it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeightArena } from '../../src/core/runtime/weight-arena';
import { WeightReader, decodeFloat32Into } from '../../src/core/runtime/weight-reader';
import { writeSafetensors } from '../../src/core/safetensors/writer';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { decodeToFloat32, encodeFromFloat } from '../../src/core/safetensors/dtype';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { Rng } from '../../src/core/util/random';
import { flapColumnNorms } from '../../src/core/calibrate/flap';

const dir = mkdtempSync(join(tmpdir(), 'hc-weights-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('arena: the SIMD kernel puts each BF16 value in the high half of its float32 (any length), allocator reuses and merges', () => {
  const arena = WeightArena.create(1 << 20)!;
  assert.ok(arena, 'WebAssembly SIMD is available in Node 20');
  for (const n of [1, 7, 8, 9, 1000, 4099]) {
    const src = arena.alloc(n * 2)!;
    const dst = arena.alloc(n * 4)!;
    const u16 = new Uint16Array(arena.buffer, src, n);
    for (let i = 0; i < n; i++) u16[i] = (i * 40503 + 17) & 0xffff;
    arena.bf16ToF32(src, dst, n);
    const u32 = new Uint32Array(arena.buffer, dst, n);
    for (let i = 0; i < n; i++) assert.equal(u32[i], (u16[i]! << 16) >>> 0, `n ${n}, value ${i}`);
    arena.release(src);
    arena.release(dst);
  }
  assert.equal(arena.usedBytes, 0);
  const a = arena.alloc(300_000)!;
  const b = arena.alloc(300_000)!;
  assert.equal(arena.alloc(600_000), undefined, 'no block that large is free');
  arena.release(a);
  arena.release(b);
  assert.equal(arena.alloc(1 << 20), 0, 'freed neighbours merge back into one block');
  assert.equal(WeightArena.create(5 * 2 ** 30), undefined, 'above 4 GiB: none (callers fall back)');
});

test('arena: column sums of squares equal flapColumnNorms bit for bit (even and odd widths)', () => {
  const rng = new Rng(5);
  for (const [rows, cols] of [[7, 10], [13, 9], [1, 1], [64, 33]] as const) {
    const arena = WeightArena.create(1 << 20)!;
    const at = arena.alloc(rows * cols * 4)!;
    const w = new Float32Array(arena.buffer, at, rows * cols);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * 3;
    assert.deepEqual(arena.columnSquares(w, rows, cols), flapColumnNorms(w, rows, cols), `${rows}×${cols}`);
    assert.equal(arena.columnSquares(Float32Array.from(w), rows, cols), undefined, 'only for arrays in the arena');
  }
});

test('arena: upcast with column squares gives the same float32 bits as bf16ToF32 and the same sums as flapColumnNorms (any row count, widths in 8s)', () => {
  const rng = new Rng(6);
  for (const [rows, cols] of [[1, 8], [3, 16], [4, 8], [5, 24], [9, 40], [64, 8], [67, 72]] as const) {
    const n = rows * cols;
    const arena = WeightArena.create(1 << 20)!;
    const src = arena.alloc(n * 2)!;
    const dst = arena.alloc(n * 4)!;
    const plain = arena.alloc(n * 4)!;
    const raw = encodeFromFloat('BF16', Float32Array.from({ length: n }, () => rng.normal() * 3));
    new Uint8Array(arena.buffer, src, n * 2).set(raw);
    const sums = arena.bf16ToF32WithColumnSquares(src, dst, rows, cols);
    arena.bf16ToF32(src, plain, n);
    const w = new Float32Array(arena.buffer, dst, n);
    assert.deepEqual(w, new Float32Array(arena.buffer, plain, n), `${rows}×${cols}: float32 copy`);
    assert.deepEqual(sums, flapColumnNorms(w, rows, cols), `${rows}×${cols}: column sums`);
  }
  const arena = WeightArena.create(1 << 16)!;
  assert.equal(arena.bf16ToF32WithColumnSquares(0, 1024, 2, 12), undefined, 'a width that is not a multiple of 8: none (the caller upcasts and sums apart)');
  assert.equal(arena.usedBytes, 0);
});

test('decodeFloat32Into equals the safetensors decoder for every float dtype, aligned or not', () => {
  const rng = new Rng(3);
  const vals = Float32Array.from({ length: 1001 }, () => rng.normal() * 10);
  for (const dtype of ['F32', 'BF16', 'F16', 'F64']) {
    const enc = encodeFromFloat(dtype, vals);
    for (const shift of [0, 1, 2]) {
      const buf = new Uint8Array(enc.byteLength + shift);
      buf.set(enc, shift);
      const view = buf.subarray(shift);
      const out = new Float32Array(vals.length);
      decodeFloat32Into(dtype, view, out);
      assert.deepEqual(out, decodeToFloat32(dtype, view), `${dtype} at offset ${shift}`);
    }
  }
});

test('WeightReader: whole tensors and row slices as float32, equal to the reader, with and without the arena; buffers recycled', async () => {
  const rng = new Rng(9);
  const file = join(dir, 'w.safetensors');
  const tensors = [
    { name: 'a.bf16', dtype: 'BF16', shape: [37, 19] },
    { name: 'b.f32', dtype: 'F32', shape: [64, 8] },
    { name: 'c.f16', dtype: 'F16', shape: [5, 33] },
    { name: 'd.bf16', dtype: 'BF16', shape: [12, 16] },
  ].map((t) => ({ ...t, data: encodeFromFloat(t.dtype, Float32Array.from({ length: t.shape[0]! * t.shape[1]! }, () => rng.normal())) }));
  await writeSafetensors(file, tensors);
  // A checkpoint-like view of the file, enough for the reader.
  const st = SafetensorsFile.open(file);
  const ckpt = { tensor: (n: string) => ({ ...st.info(n), file, name: n }) } as unknown as import('../../src/core/checkpoint/checkpoint').Checkpoint;
  for (const arenaBytes of [undefined, 1 << 20, 2048]) {
    const r = new WeightReader(ckpt, { arenaBytes });
    assert.equal(r.usesArena, arenaBytes !== undefined);
    for (let round = 0; round < 3; round++) {
      r.prefetch(`g${round}`, [{ key: 'a', tensor: 'a.bf16' }, { key: 'b', tensor: 'b.f32' }, { key: 'c', tensor: 'c.f16' }]);
      const got = await r.take(`g${round}`, [{ key: 'a', tensor: 'a.bf16' }, { key: 'b', tensor: 'b.f32' }, { key: 'c', tensor: 'c.f16' }]);
      assert.deepEqual(got.get('a'), await st.readFloat32('a.bf16'));
      assert.deepEqual(got.get('b'), await st.readFloat32('b.f32'));
      assert.deepEqual(got.get('c'), await st.readFloat32('c.f16'));
      // Marked for column squares: the same float32, and the sums (taken while upcasting for the BF16 [12, 16]).
      const marked = await r.take(`sq${round}`, [{ key: 'd', tensor: 'd.bf16', columnSquares: true }, { key: 'b', tensor: 'b.f32', columnSquares: true }]);
      assert.deepEqual(marked.get('d'), await st.readFloat32('d.bf16'));
      for (const [key, rows, cols] of [['d', 12, 16], ['b', 64, 8]] as const) {
        const w = marked.get(key)!;
        const sums = r.columnSquares(w, rows, cols);
        if (!r.usesArena) assert.equal(sums, undefined, 'no arena: the caller sums');
        else if (arenaBytes === 1 << 20 || sums) assert.deepEqual(sums, flapColumnNorms(w, rows, cols), key);
      }
      const takenWhileUpcasting = (r as unknown as { squares: WeakMap<Float32Array, Float64Array> }).squares.has(marked.get('d')!);
      assert.equal(takenWhileUpcasting, r.usesArena, 'the BF16 sums come from the upcast pass when it ran in the arena');
      r.recycle(marked.values());
      const rows = await r.take(`rows${round}`, [{ key: 'r', tensor: 'a.bf16', byteStart: 3 * 19 * 2, byteEnd: 10 * 19 * 2 }]);
      assert.deepEqual(rows.get('r'), await st.readRowsFloat32('a.bf16', 3, 7));
      r.recycle([...got.values(), ...rows.values()]);
    }
    await r.close();
  }
  await st.close();
});

test('StreamedModel weights go through the arena for a BF16 checkpoint', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'm'), { pattern: 'M-*', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, dtype: 'BF16', seed: 1 });
  const ck = await openCheckpoint(fx.dir);
  const { StreamedModel } = await import('../../src/core/runtime/streamed-model');
  const m = await StreamedModel.create(ck, { device: 'cpu' });
  assert.equal((m as unknown as { reader: WeightReader }).reader.usesArena, true);
  await m.release();
  await ck.close();
});
