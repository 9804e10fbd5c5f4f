import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SliceBuffers, sliceTensors, type SliceJob } from '../../src/core/prune/stream-slice';
import { OutputStream } from '../../src/core/prune/output-stream';
import { Rng } from '../../src/core/util/random';
import { tempDir } from './helpers';

/** Slow reference: element by element over raw bytes. */
function refSlice(bytes: Uint8Array, shape: number[], elem: number, rows: number[] | null, cols: number[] | null): Uint8Array {
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  const rs = rows ?? [...Array(shape[0]!).keys()];
  const cs = cols ?? [...Array(inner).keys()];
  const out = new Uint8Array(rs.length * cs.length * elem);
  let o = 0;
  for (const r of rs) for (const c of cs) for (let b = 0; b < elem; b++) out[o++] = bytes[(r * inner + c) * elem + b]!;
  return out;
}

const DTYPE: Record<number, string> = { 1: 'U8', 2: 'BF16', 4: 'F32', 8: 'F64' };

/**
 * Many tensors of one source file sliced through one stream, as apply.ts writes a shard: a header first,
 * then every tensor back to back, with slots small enough that rows straddle slot boundaries.
 */
async function shardCase(dir: string, rng: Rng, bufs: SliceBuffers, direct: boolean): Promise<{ stream: OutputStream; size: number }> {
  const parts: Uint8Array[] = [];
  const tensors: { offset: number; shape: number[]; elem: number; bytes: Uint8Array }[] = [];
  let offset = 0;
  for (let i = 0; i < 14; i++) {
    const elem = [1, 2, 4, 8][rng.int(4)]!;
    const shape = i % 5 === 4 ? [1 + rng.int(300)] : [1 + rng.int(60), 1 + rng.int(90)];
    const n = shape.reduce((a, b) => a * b, 1) * elem;
    const bytes = Uint8Array.from({ length: n }, () => rng.int(256));
    tensors.push({ offset, shape, elem, bytes });
    parts.push(bytes);
    offset += n;
  }
  const srcPath = join(dir, 'src.bin');
  await writeFile(srcPath, Buffer.concat(parts));
  const src = await open(srcPath, 'r');
  const want: Uint8Array[] = [];
  const jobs: SliceJob[] = tensors.map((t, i) => {
    const sub = (n: number) => {
      const k = rng.int(n + 1); // 0 kept happens: an empty output tensor
      const picked = rng.shuffle([...Array(n).keys()]).slice(0, k);
      return i % 3 === 0 ? picked : picked.sort((a, b) => a - b);
    };
    const rows = rng.int(4) === 0 ? null : sub(t.shape[0]!);
    const cols = t.shape.length === 2 && rng.int(4) !== 0 ? sub(t.shape[1]!) : null;
    want.push(refSlice(t.bytes, t.shape, t.elem, rows, cols));
    return { src: { fh: src, offset: t.offset, dtype: DTYPE[t.elem]!, shape: t.shape, name: `t${i}` }, rows: rows && Int32Array.from(rows), cols: cols && Int32Array.from(cols) };
  });
  const header = Uint8Array.from({ length: 1 + rng.int(5000) }, () => rng.int(256));
  const outPath = join(dir, 'out.bin');
  const stream = await OutputStream.create(outPath, bufs.staging, { direct });
  const seen: [number, number][] = [];
  let produced: number[];
  try {
    await stream.put(header);
    produced = await sliceTensors(jobs, stream, bufs, { onTensor: (i, n) => seen.push([i, n]) });
    const total = await stream.finish();
    assert.equal(total, header.byteLength + want.reduce((a, w) => a + w.byteLength, 0));
    await stream.datasync();
  } finally {
    await stream.close();
    await src.close();
  }
  assert.deepEqual(produced, want.map((w) => w.byteLength));
  assert.deepEqual(seen, want.map((w, i) => [i, w.byteLength]), 'onTensor once per tensor, in order, with its byte count');
  const got = new Uint8Array(await readFile(outPath));
  assert.deepEqual(got, new Uint8Array(Buffer.concat([header, ...want])), 'the file is the header and every slice, exactly (no padding left)');
  return { stream, size: (await stat(outPath)).size };
}

test('a shard streamed through 4 KiB slots (O_DIRECT where available) equals the reference slices back to back', async (t) => {
  const dir = tempDir(t, 'ostream');
  const rng = new Rng(5);
  for (let i = 0; i < 4; i++) {
    const bufs = new SliceBuffers(600 + rng.int(3000), { slotBytes: 4096, slots: 2 + rng.int(3) });
    await shardCase(dir, rng, bufs, true);
  }
});

test('buffered streams with odd slot sizes (never direct) give the same bytes', async (t) => {
  const dir = tempDir(t, 'ostream');
  const rng = new Rng(6);
  for (const slotBytes of [1, 7, 1000, 4095]) {
    const bufs = new SliceBuffers(200 + rng.int(2000), { slotBytes, slots: 2 });
    const { stream } = await shardCase(dir, rng, bufs, true);
    assert.equal(stream.direct, false, `slots of ${slotBytes} bytes cannot be written with O_DIRECT`);
  }
  const bufs = new SliceBuffers(4096, { slotBytes: 4096 });
  const { stream } = await shardCase(dir, rng, bufs, false);
  assert.equal(stream.direct, false, 'direct: false is honoured');
});

test('a write error surfaces at the next flush and leaves no write in flight', async (t) => {
  const dir = tempDir(t, 'ostream');
  const bufs = new SliceBuffers(4096, { slotBytes: 4096, slots: 2 });
  const stream = await OutputStream.create(join(dir, 'x.bin'), bufs.staging, { direct: false });
  await stream.close(); // every later write fails (EBADF)
  await stream.put(new Uint8Array(4096)); // slot 0 handed to the file
  await assert.rejects(async () => {
    await stream.put(new Uint8Array(2 * 4096));
    await stream.finish();
  }, /EBADF|closed/i);
  await stream.settle();
});
