// The streaming writer: round trips through the reader (single file and shards), header layout
// (space padding to a multiple of 8, aligned tensors, __metadata__), atomic writes, sparse files.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { writeCheckpointShards, writeSafetensors, type TensorSource } from '../../src/core/safetensors/writer';
import { DTYPE_BYTES } from '../../src/core/safetensors/dtype';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';
import { tempDir } from './helpers';

const tmp = tempDir('st-write');
after(tmp.cleanup);
let counter = 0;
const freshDir = () => join(tmp.dir, `d${counter++}`);

function randomTensor(rng: Rng, name: string, dtype: string, shape: number[]): TensorSource & { bytes: Uint8Array } {
  let n = DTYPE_BYTES[dtype]!;
  for (const d of shape) n *= d;
  const bytes = new Uint8Array(n).map(() => rng.int(256));
  return { name, dtype, shape, data: bytes, bytes };
}

function mixed(rng: Rng): (TensorSource & { bytes: Uint8Array })[] {
  return [
    randomTensor(rng, 'z.bool', 'BOOL', [3]),
    randomTensor(rng, 'a.weight', 'BF16', [5, 3]),
    randomTensor(rng, 'scalar', 'F32', []),
    randomTensor(rng, 'empty', 'F16', [0, 4]),
    randomTensor(rng, 'ids', 'I64', [2, 1]),
    randomTensor(rng, 'b.bias', 'F16', [7]),
    randomTensor(rng, 'w', 'F32', [3, 3]),
    randomTensor(rng, 'u', 'U8', [5]),
    randomTensor(rng, 'x', 'I32', [3]),
  ];
}

/** Files left in a folder that are not the named ones (catches stray temporaries). */
function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

test('single-file round trip: every tensor reads back byte for byte, with __metadata__', async () => {
  const rng = new Rng(1);
  const ts = mixed(rng);
  const p = join(freshDir(), 'model.safetensors');
  const { bytes } = await writeSafetensors(p, ts, { metadata: { format: 'pt', producer: 'test' } });
  assert.equal(bytes, statSync(p).size);
  const st = SafetensorsFile.open(p);
  try {
    assert.deepEqual(st.metadata, { format: 'pt', producer: 'test' });
    assert.deepEqual([...st.tensors.keys()].sort(), ts.map((t) => t.name).sort());
    for (const t of ts) {
      const info = st.info(t.name);
      assert.equal(info.dtype, t.dtype);
      assert.deepEqual(info.shape, t.shape);
      assert.deepEqual(await st.readBytes(t.name), t.bytes, t.name);
    }
  } finally {
    await st.close();
  }
});

test('header is space-padded to a multiple of 8 and every tensor is aligned to its element size', async () => {
  const rng = new Rng(2);
  for (let trial = 0; trial < 25; trial++) {
    const dtypes = ['F64', 'F32', 'BF16', 'F16', 'I64', 'I32', 'U8', 'BOOL'];
    const ts = Array.from({ length: 1 + rng.int(6) }, (_, i) => randomTensor(rng, `t${i}${'x'.repeat(rng.int(7))}`, dtypes[rng.int(dtypes.length)]!, [1 + rng.int(5), 1 + rng.int(3)]));
    const p = join(freshDir(), 'm.safetensors');
    await writeSafetensors(p, ts, trial % 2 ? { metadata: { k: 'v'.repeat(trial) } } : {});
    const raw = readFileSync(p);
    const n = Number(raw.readBigUInt64LE(0));
    assert.equal(n % 8, 0, 'header length is a multiple of 8');
    const text = raw.subarray(8, 8 + n).toString('utf8');
    const json = text.trimEnd();
    assert.ok(/^ *$/.test(text.slice(json.length)), 'padding is spaces only');
    assert.ok(text.length - json.length < 8, 'no more padding than needed');
    const parsed = JSON.parse(json) as Record<string, unknown>;
    assert.equal('__metadata__' in parsed, trial % 2 === 1, '__metadata__ present only when given');
    const st = SafetensorsFile.open(p);
    for (const t of st.tensors.values()) assert.equal(t.fileOffset % DTYPE_BYTES[t.dtype]!, 0, `${t.name} (${t.dtype}) at ${t.fileOffset}`);
  }
});

test('keepOrder keeps the given order; the default puts larger element sizes first', async () => {
  const rng = new Rng(3);
  const ts = [randomTensor(rng, 'b', 'U8', [3]), randomTensor(rng, 'a', 'F32', [1]), randomTensor(rng, 'c', 'F64', [1])];
  const p1 = join(freshDir(), 'kept.safetensors');
  await writeSafetensors(p1, ts, { keepOrder: true });
  assert.deepEqual(SafetensorsFile.open(p1).names, ['b', 'a', 'c']);
  const p2 = join(freshDir(), 'sorted.safetensors');
  await writeSafetensors(p2, ts);
  assert.deepEqual(SafetensorsFile.open(p2).names, ['c', 'a', 'b']);
});

test('tensor producers are called lazily, once each, in write order', async () => {
  const calls: string[] = [];
  const ts: TensorSource[] = ['b', 'a', 'c'].map((name) => ({
    name,
    dtype: 'F32',
    shape: [2],
    data: () => {
      calls.push(name);
      return new Uint8Array(8);
    },
  }));
  await writeSafetensors(join(freshDir(), 'lazy.safetensors'), ts);
  assert.deepEqual(calls, ['a', 'b', 'c']);
});

test('a producer that throws mid-write leaves no file and no temporary behind, and keeps an older file', async () => {
  const dir = freshDir();
  const p = join(dir, 'model.safetensors');
  await writeSafetensors(p, [{ name: 'old', dtype: 'U8', shape: [1], data: Uint8Array.from([42]) }]);
  const before = readFileSync(p);
  const ts: TensorSource[] = [
    { name: 'a', dtype: 'F32', shape: [4], data: new Uint8Array(16) },
    {
      name: 'b',
      dtype: 'F32',
      shape: [4],
      data: () => {
        throw new Error('producer failed');
      },
    },
  ];
  await assert.rejects(writeSafetensors(p, ts), /producer failed/);
  assert.deepEqual(listing(dir), ['model.safetensors']);
  assert.deepEqual(readFileSync(p), before, 'the previous file is untouched');

  const fresh = join(freshDir(), 'new.safetensors');
  await assert.rejects(writeSafetensors(fresh, ts), /producer failed/);
  assert.equal(existsSync(fresh), false);
  assert.deepEqual(listing(join(fresh, '..')), []);
});

test('a producer returning the wrong byte count is refused, naming the tensor, with nothing left behind', async () => {
  const dir = freshDir();
  const e = await writeSafetensors(join(dir, 'x.safetensors'), [{ name: 'w', dtype: 'F32', shape: [3], data: new Uint8Array(8) }]).then(
    () => assert.fail('should reject'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof HybridCompressError && e.context.tensor === 'w' && /expected 12/.test(e.message), String(e));
  assert.deepEqual(listing(dir), []);
});

test('a tensor written twice is refused before anything is created', async () => {
  const dir = freshDir();
  const t: TensorSource = { name: 'dup', dtype: 'U8', shape: [1], data: new Uint8Array(1) };
  await assert.rejects(writeSafetensors(join(dir, 'x.safetensors'), [t, { ...t }]), (e: unknown) => e instanceof HybridCompressError && e.context.tensor === 'dup');
  assert.equal(existsSync(join(dir, 'x.safetensors')), false);
});

test('sharded round trip: several shards plus an index with total_size and weight_map', async () => {
  const rng = new Rng(4);
  const ts = Array.from({ length: 12 }, (_, i) => randomTensor(rng, `layers.${i}.w`, i % 3 === 0 ? 'BF16' : 'F32', [4 + i, 8]));
  const totalBytes = ts.reduce((s, t) => s + t.bytes.byteLength, 0);
  const dir = freshDir();
  const progress: number[] = [];
  const res = await writeCheckpointShards(dir, ts, { maxShardBytes: 600, onTensor: (_n, i, n) => progress.push(i / n) });
  assert.ok(res.files.length >= 3, `expected several shards, got ${res.files.length}`);
  const n = res.files.length;
  res.files.forEach((f, i) => assert.equal(f, `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`));
  assert.deepEqual(listing(dir), [...res.files, 'model.safetensors.index.json'].sort());
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
  assert.equal(index.metadata.total_size, totalBytes);
  assert.equal(res.totalSize, totalBytes);
  assert.deepEqual(index.weight_map, res.weightMap);
  assert.deepEqual(Object.keys(index.weight_map).sort(), ts.map((t) => t.name).sort());
  assert.equal(progress.length, ts.length);
  for (const t of ts) {
    const st = SafetensorsFile.open(join(dir, index.weight_map[t.name]!));
    assert.deepEqual(await st.readBytes(t.name), t.bytes, t.name);
    assert.deepEqual(st.metadata, { format: 'pt' });
    await st.close();
  }
  // Every shard except one holding an oversize tensor respects the limit (data bytes).
  for (const f of res.files) {
    const st = SafetensorsFile.open(join(dir, f));
    const data = st.fileSize - st.dataStart;
    assert.ok(data <= 600 || st.names.length === 1, `${f} holds ${data} bytes in ${st.names.length} tensors`);
  }
  // Tensors keep their order across shards.
  const order = res.files.flatMap((f) => ts.filter((t) => res.weightMap[t.name] === f).map((t) => t.name));
  assert.deepEqual(order, ts.map((t) => t.name));
});

test('a tensor larger than the shard limit gets a shard of its own; one shard means model.safetensors and no index', async () => {
  const rng = new Rng(5);
  const ts = [randomTensor(rng, 'small1', 'F32', [4]), randomTensor(rng, 'huge', 'F32', [100]), randomTensor(rng, 'small2', 'F32', [4])];
  const res = await writeCheckpointShards(freshDir(), ts, { maxShardBytes: 64 });
  assert.equal(res.files.length, 3);
  assert.deepEqual(
    ts.map((t) => res.weightMap[t.name]),
    res.files,
  );
  const dir = freshDir();
  const single = await writeCheckpointShards(dir, ts);
  assert.deepEqual(single.files, ['model.safetensors']);
  assert.deepEqual(listing(dir), ['model.safetensors']);
});

test('sharded writes are atomic: a failure in a later shard leaves no shard, index or temporary', async () => {
  const dir = freshDir();
  const ts: TensorSource[] = Array.from({ length: 6 }, (_, i) => ({
    name: `t${i}`,
    dtype: 'F32',
    shape: [16],
    data: () => {
      if (i === 4) throw new Error('disk on fire');
      return new Uint8Array(64);
    },
  }));
  await assert.rejects(writeCheckpointShards(dir, ts, { maxShardBytes: 128 }), /disk on fire/);
  assert.deepEqual(existsSync(dir) ? listing(dir) : [], []);
});

test('rewriting a folder replaces the old layout: no stale index or shards survive', async () => {
  const rng = new Rng(6);
  const ts = Array.from({ length: 6 }, (_, i) => randomTensor(rng, `t${i}`, 'F32', [16]));
  const dir = freshDir();
  await writeCheckpointShards(dir, ts, { maxShardBytes: 64 }); // 6 shards
  writeFileSync(join(dir, 'config.json'), '{}');
  await writeCheckpointShards(dir, ts, { maxShardBytes: 200 }); // 2 shards
  assert.deepEqual(listing(dir), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
  await writeCheckpointShards(dir, ts); // single file
  assert.deepEqual(listing(dir), ['config.json', 'model.safetensors']);
  await writeCheckpointShards(dir, ts, { maxShardBytes: 200 });
  assert.deepEqual(listing(dir), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
});

test('sparse files: full apparent size, almost no blocks, zeros on read, producers never called', async () => {
  const rows = 4096;
  const cols = 8192; // 128 MiB of F32
  let called = false;
  const p = join(freshDir(), 'sparse.safetensors');
  const ts: TensorSource[] = [
    {
      name: 'big',
      dtype: 'F32',
      shape: [rows, cols],
      data: () => {
        called = true;
        return new Uint8Array(0);
      },
    },
    { name: 'small', dtype: 'BF16', shape: [3], data: new Uint8Array(6) },
  ];
  await writeSafetensors(p, ts, { sparse: true });
  assert.equal(called, false);
  const st = SafetensorsFile.open(p);
  const s = statSync(p);
  assert.equal(s.size, st.dataStart + rows * cols * 4 + 6);
  assert.ok(s.blocks * 512 < 1 << 20, `sparse file uses ${s.blocks * 512} bytes of disk for ${s.size} apparent`);
  const row = await st.readRowsFloat32('big', rows - 1, 1);
  assert.equal(row.length, cols);
  assert.ok(row.every((v) => v === 0));
  await st.close();
});

test('a tensor may be produced in chunks (async iterable): same file as whole; a wrong byte count is refused, nothing renamed', async () => {
  const d = freshDir();
  mkdirSync(d);
  {
    const values = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5);
    const bytes = new Uint8Array(values.buffer);
    const whole = join(d, 'whole.safetensors');
    const chunked = join(d, 'chunked.safetensors');
    await writeSafetensors(whole, [{ name: 'w', dtype: 'F32', shape: [10, 100], data: bytes }]);
    await writeSafetensors(chunked, [
      {
        name: 'w',
        dtype: 'F32',
        shape: [10, 100],
        data: async function* () {
          for (let o = 0; o < bytes.length; o += 999) yield bytes.slice(o, o + 999);
        },
      },
    ]);
    assert.ok(readFileSync(whole).equals(readFileSync(chunked)));
    for (const n of [3996, 4004]) {
      const bad = join(d, `bad-${n}.safetensors`);
      await assert.rejects(
        writeSafetensors(bad, [{ name: 'w', dtype: 'F32', shape: [10, 100], data: async function* () { yield new Uint8Array(n); } }]),
        (e) => e instanceof HybridCompressError && /tensor "w" produced .*bytes, expected 4000/.test(e.message),
      );
      assert.ok(!existsSync(bad));
    }
    assert.deepEqual(readdirSync(d).sort(), ['chunked.safetensors', 'whole.safetensors'], 'no temporary file left behind');
  }
});
