import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planChunkReads, SliceBuffers, sliceTensorBytes } from '../../src/core/prune/stream-slice';
import { GatherMemory } from '../../src/core/prune/gather-wasm';
import { Rng } from '../../src/core/util/random';
import { tempDir } from './helpers';

/** Slow reference: element by element over raw bytes. */
function refSlice(bytes: Uint8Array, shape: number[], elem: number, rows: number[] | null, cols: number[] | null): Uint8Array {
  const R = shape[0]!;
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  const rs = rows ?? [...Array(R).keys()];
  const cs = cols ?? [...Array(inner).keys()];
  const out = new Uint8Array(rs.length * cs.length * elem);
  let o = 0;
  for (const r of rs) for (const c of cs) for (let b = 0; b < elem; b++) out[o++] = bytes[(r * inner + c) * elem + b]!;
  return out;
}

function subset(rng: Rng, n: number, keep: number, order: 'asc' | 'shuffled' | 'runs'): number[] {
  if (order === 'runs') {
    // A few long runs (like kept heads × all channels).
    const start = rng.int(Math.max(1, n - keep));
    return [...Array(keep).keys()].map((i) => start + i);
  }
  const all = rng.shuffle([...Array(n).keys()]).slice(0, keep);
  return order === 'asc' ? all.sort((a, b) => a - b) : all;
}

test('streamed slicing equals the slow reference for every element size, selection shape and order, across chunk boundaries', async (t) => {
  const dir = tempDir(t, 'slice');
  const rng = new Rng(77);
  const path = join(dir, 'src.bin');
  const outPath = join(dir, 'out.bin');
  let cases = 0;
  for (const elem of [1, 2, 4, 8]) {
    for (const shape of [[37, 29], [64, 48], [50, 1, 4], [91]]) {
      const R = shape[0]!;
      const inner = shape.slice(1).reduce((a, b) => a * b, 1);
      const bytes = new Uint8Array(R * inner * elem);
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
      const pad = 24; // the tensor does not start at offset 0
      await writeFile(path, Buffer.concat([Buffer.alloc(pad, 7), bytes]));
      for (const order of ['asc', 'shuffled', 'runs'] as const) {
        for (const sel of ['rows', 'cols', 'both', 'none'] as const) {
          if (shape.length !== 2 && (sel === 'cols' || sel === 'both')) continue;
          const rows = sel === 'rows' || sel === 'both' ? subset(rng, R, 1 + rng.int(R), order) : null;
          const cols = sel === 'cols' || sel === 'both' ? subset(rng, inner, 1 + rng.int(inner), order) : null;
          // Chunks of a few rows so the pipeline, merged reads and buffer reuse are all exercised.
          const bufs = new SliceBuffers(Math.max(1, rng.int(5)) * inner * elem + rng.int(3));
          const src = await open(path, 'r');
          const dst = await open(outPath, 'w');
          const written = await sliceTensorBytes({ fh: src, offset: pad, dtype: { 1: 'U8', 2: 'BF16', 4: 'F32', 8: 'F64' }[elem]!, shape, name: 't' }, rows && Int32Array.from(rows), cols && Int32Array.from(cols), { fh: dst, offset: 3 }, bufs);
          await src.close();
          await dst.close();
          const got = (await readFile(outPath)).subarray(3);
          const want = refSlice(bytes, shape, elem, rows, cols);
          assert.equal(written, want.byteLength);
          assert.deepEqual(new Uint8Array(got), want, `elem ${elem} shape ${shape} ${order} ${sel}`);
          cases++;
        }
      }
    }
  }
  assert.ok(cases > 100);
});

test('scattered ascending rows are read through small gaps; descending rows are read one run at a time', () => {
  const r = planChunkReads(Int32Array.from([0, 1, 3, 4, 9]), 0, 5, 10, 1000, 30);
  assert.deepEqual(r.spans, [[0, 50, 0], [90, 10, 50]], 'gap of 1 row merged, gap of 4 rows (40 B > 30 B) not');
  assert.deepEqual([...r.rowOffsets], [0, 10, 30, 40, 50]);
  assert.equal(r.dense, false);
  const d = planChunkReads(Int32Array.from([5, 4, 3]), 0, 3, 10, 1000, 1000);
  assert.deepEqual(d.spans, [[50, 10, 0], [40, 10, 10], [30, 10, 20]]);
  assert.equal(d.dense, true);
  const budget = planChunkReads(Int32Array.from([0, 2, 4]), 0, 3, 10, 40, 1000);
  assert.deepEqual(budget.spans, [[0, 30, 0], [40, 10, 30]], 'read-through stops when the buffer would overflow');
  assert.deepEqual(planChunkReads(null, 2, 5, 8, 100).spans, [[16, 24, 0]]);
});

test('the WebAssembly column-gather kernel copies 1/2/4/8-byte elements from any rows and columns', () => {
  const rng = new Rng(3);
  const mem = new GatherMemory(1 << 16);
  for (const elem of [1, 2, 4, 8]) {
    const inner = 23;
    const rows = [4, 0, 2];
    const picked = [22, 0, 5, 6, 7, 13, 0];
    const data = Uint8Array.from({ length: 5 * inner * elem }, () => rng.int(256));
    const SRC = 4096;
    const ROWS = 0;
    const COLS = 256;
    const DST = 8192;
    mem.bytes(SRC, data.length).set(data);
    mem.u32(ROWS, 3).set(rows.map((r) => SRC + r * inner * elem));
    mem.u32(COLS, picked.length).set(picked.map((c) => c * elem));
    mem.gather(elem, ROWS, rows.length, COLS, picked.length, DST);
    assert.deepEqual(mem.bytes(DST, rows.length * picked.length * elem), refSlice(data, [5, inner], elem, rows, picked), `${elem}-byte elements`);
  }
  mem.reserve(1 << 20);
  assert.ok(mem.size >= 1 << 20);
  assert.throws(() => mem.gather(3, 0, 1, 0, 1, 0), /unsupported element size 3/);
});
