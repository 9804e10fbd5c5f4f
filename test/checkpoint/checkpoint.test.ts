// Checkpoint folders: discovery, sharded indexes (and their attacks: paths leaving the folder, missing
// shards, misplaced tensors), pickles refused unopened, tokenizer files, lenient config.json, fixtures.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCheckpoints, isCheckpointDir, openCheckpoint, readConfig, resolveCheckpointDir } from '../../src/core/checkpoint/checkpoint';
import { writeFixtureCheckpoint, fixtureConfig } from '../../src/core/testing/fixtures';
import { writeSafetensors } from '../../src/core/safetensors/writer';
import { f32ToBf16, bf16ToF32 } from '../../src/core/safetensors/dtype';
import { HybridCompressError } from '../../src/core/errors';
import { stringifyJson } from '../../src/core/util/json';
import { rejectsTyped, tempDir } from '../safetensors/helpers';

const tmp = tempDir('ckpt');
after(tmp.cleanup);
let counter = 0;
const fresh = (tag = 'c') => join(tmp.dir, `${tag}${counter++}`);

const TINY = { pattern: 'M-*M', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, attentionHeads: 4, kvHeads: 2, intermediateSize: 48, vocabSize: 300 } as const;

interface Index {
  metadata: { total_size: number };
  weight_map: Record<string, string>;
}
const readIndex = (dir: string) => JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as Index;
const writeIndex = (dir: string, idx: Index) => writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(idx));

async function sharded(): Promise<string> {
  const dir = fresh('sharded');
  await writeFixtureCheckpoint(dir, { ...TINY, maxShardBytes: 8192 });
  return dir;
}

test('a fixture checkpoint opens; every tensor reads back the values written', async () => {
  const dir = fresh();
  const f = await writeFixtureCheckpoint(dir, { ...TINY, seed: 5 });
  const ckpt = await openCheckpoint(dir);
  try {
    assert.equal(ckpt.dir, dir);
    assert.equal(ckpt.sharded, false);
    assert.deepEqual(ckpt.weightFiles.map((w) => w.name), ['model.safetensors']);
    assert.equal(ckpt.tensors.size, f.weights.size);
    for (const [name, values] of f.weights) {
      const t = ckpt.tensors.get(name)!;
      assert.ok(t.file.endsWith('model.safetensors') && t.fileOffset > 8 && t.byteLength === values.length * 4);
      assert.deepEqual(await ckpt.readFloat32(name), values, name);
    }
    const emb = f.weights.get('backbone.embeddings.weight')!;
    assert.deepEqual(await ckpt.readRowsFloat32('backbone.embeddings.weight', 10, 2), emb.subarray(10 * 32, 12 * 32));
  } finally {
    await ckpt.close();
  }
});

test('fixtures are deterministic per seed and honour prefix, embedding name and dtype', async () => {
  const a = fresh();
  const b = fresh();
  const c = fresh();
  await writeFixtureCheckpoint(a, { ...TINY, seed: 9 });
  await writeFixtureCheckpoint(b, { ...TINY, seed: 9 });
  await writeFixtureCheckpoint(c, { ...TINY, seed: 10 });
  assert.deepEqual(readFileSync(join(a, 'model.safetensors')), readFileSync(join(b, 'model.safetensors')));
  assert.notDeepEqual(readFileSync(join(a, 'model.safetensors')), readFileSync(join(c, 'model.safetensors')));

  const m = fresh();
  const f = await writeFixtureCheckpoint(m, { ...TINY, prefix: 'model.', embeddingName: 'embedding', dtype: 'BF16', seed: 9 });
  const ckpt = await openCheckpoint(m);
  try {
    assert.equal(ckpt.spec.prefix, 'model.');
    assert.equal(ckpt.spec.embedding.name, 'model.embedding.weight');
    assert.ok([...ckpt.tensors.keys()].every((n) => n.startsWith('model.') || n === 'lm_head.weight'));
    const name = 'model.layers.1.mixer.up_proj.weight';
    assert.equal(ckpt.tensors.get(name)!.dtype, 'BF16');
    const want = f.weights.get(name)!.map((v) => bf16ToF32(f32ToBf16(v)));
    assert.deepEqual(await ckpt.readFloat32(name), want);
    assert.equal(ckpt.tensors.get('model.layers.0.mixer.A_log')!.dtype, 'F32');
  } finally {
    await ckpt.close();
  }
});

test('sharded checkpoints open across shards; the path may be the folder, config.json or a shard', async () => {
  const dir = await sharded();
  const idx = readIndex(dir);
  const shards = new Set(Object.values(idx.weight_map));
  assert.ok(shards.size >= 3);
  for (const p of [dir, join(dir, 'config.json'), join(dir, [...shards][1]!), join(dir, 'model.safetensors.index.json')]) {
    const ckpt = await openCheckpoint(p);
    assert.equal(ckpt.dir, dir);
    assert.equal(ckpt.sharded, true);
    assert.equal(ckpt.weightFiles.length, shards.size);
    for (const [name, file] of Object.entries(idx.weight_map)) assert.equal(ckpt.tensors.get(name)!.file, join(dir, file));
    await ckpt.close();
  }
  assert.equal(resolveCheckpointDir(join(dir, 'config.json')), dir);
});

test('weight_map entries pointing outside the folder are refused, even when the target exists', async () => {
  const dir = await sharded();
  const outside = join(dir, '..', 'evil.safetensors');
  writeFileSync(outside, readFileSync(join(dir, 'model-00001-of-' + readdirSync(dir).find((f) => f.startsWith('model-00001-of-'))!.slice('model-00001-of-'.length))));
  const idx = readIndex(dir);
  const victim = Object.keys(idx.weight_map)[0]!;
  for (const bad of ['../evil.safetensors', outside, '/etc/passwd', 'sub/../../evil.safetensors', '..\\evil.safetensors', '', '.']) {
    writeIndex(dir, { ...idx, weight_map: { ...idx.weight_map, [victim]: bad } });
    const e = await rejectsTyped(() => openCheckpoint(dir));
    assert.equal(e.code, 'CHECKPOINT_INVALID', `${bad}: ${e.message}`);
    assert.equal(e.context.tensor, victim);
    assert.equal(e.context.file, join(dir, 'model.safetensors.index.json'));
    assert.match(e.message, /outside the checkpoint folder/);
  }
});

test('a shard listed in weight_map but missing is an error naming the shard', async () => {
  const dir = await sharded();
  const idx = readIndex(dir);
  const shard = Object.values(idx.weight_map).at(-1)!;
  rmSync(join(dir, shard));
  const e = await rejectsTyped(() => openCheckpoint(dir));
  assert.equal(e.code, 'CHECKPOINT_INVALID');
  assert.equal(e.context.file, join(dir, shard));
  assert.ok(e.message.includes(shard) && /does not exist/.test(e.message), e.message);
});

test('a tensor in a different shard than weight_map says, or listed but absent, is an error naming it', async () => {
  const dir = await sharded();
  const idx = readIndex(dir);
  const names = Object.keys(idx.weight_map);
  // A tensor sharing its shard with others, so that shard is still opened after the edit.
  const shardOf = (n: string) => idx.weight_map[n]!;
  const moved = names.find((n) => shardOf(n) !== shardOf(names[0]!) && names.some((m) => m !== n && shardOf(m) === shardOf(n)))!;
  assert.ok(moved, 'fixture has a shard with two tensors');
  writeIndex(dir, { ...idx, weight_map: { ...idx.weight_map, [moved]: shardOf(names[0]!) } });
  let e = await rejectsTyped(() => openCheckpoint(dir));
  assert.equal(e.code, 'CHECKPOINT_INVALID');
  assert.equal(e.context.tensor, moved);
  assert.match(e.message, /weight_map says/);

  writeIndex(dir, { ...idx, weight_map: { ...idx.weight_map, 'backbone.ghost.weight': idx.weight_map[names[0]!]! } });
  e = await rejectsTyped(() => openCheckpoint(dir));
  assert.equal(e.context.tensor, 'backbone.ghost.weight');

  const partial = { ...idx.weight_map };
  delete partial[moved];
  writeIndex(dir, { ...idx, weight_map: partial });
  e = await rejectsTyped(() => openCheckpoint(dir));
  assert.equal(e.context.tensor, moved);
  assert.match(e.message, /not listed/);

  for (const broken of ['{', '{"weight_map": []}', '{"metadata": {}}', '{"weight_map": {"a": 1}}']) {
    writeFileSync(join(dir, 'model.safetensors.index.json'), broken);
    e = await rejectsTyped(() => openCheckpoint(dir));
    assert.equal(e.code, 'CHECKPOINT_INVALID', broken);
    assert.equal(e.context.file, join(dir, 'model.safetensors.index.json'));
  }
});

test('a tensor present in two shards is an error', async () => {
  const dir = fresh();
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(fixtureConfig(TINY)));
  const t = { name: 'backbone.norm_f.weight', dtype: 'F32', shape: [32], data: new Uint8Array(128) };
  await writeSafetensors(join(dir, 'a.safetensors'), [t]);
  await writeSafetensors(join(dir, 'b.safetensors'), [t]);
  writeIndex(dir, { metadata: { total_size: 256 }, weight_map: { 'backbone.norm_f.weight': 'a.safetensors', x: 'b.safetensors' } });
  const e = await rejectsTyped(() => openCheckpoint(dir));
  assert.equal(e.context.tensor, 'backbone.norm_f.weight');
});

test('pickled weights are never opened: the error explains the risk and how to convert', async () => {
  const junk = Buffer.from('PK\u0003\u0004 this is not a real pickle; loading it would fail loudly');
  for (const [name, withConfig] of [['pytorch_model.bin', true], ['pytorch_model-00001-of-00002.bin', true], ['model.pt', true], ['weights.pth', false]] as const) {
    const dir = fresh('pickle');
    mkdirSync(dir);
    if (withConfig) writeFileSync(join(dir, 'config.json'), JSON.stringify(fixtureConfig(TINY)));
    writeFileSync(join(dir, name), junk);
    const e = await rejectsTyped(() => openCheckpoint(dir));
    assert.equal(e.code, 'UNSAFE_FORMAT', e.message);
    assert.equal(e.context.file, join(dir, name));
    assert.match(e.message, /arbitrary code/);
    assert.match(e.message, /safetensors/);
    assert.match(e.message, /save_pretrained/);
    assert.equal(e.message.includes('\n'), false, 'one line');
    assert.deepEqual(readFileSync(join(dir, name)), junk);
  }
  // Pickles next to safetensors weights are simply ignored.
  const dir = fresh();
  await writeFixtureCheckpoint(dir, TINY);
  writeFileSync(join(dir, 'pytorch_model.bin'), junk);
  writeFileSync(join(dir, 'training_args.bin'), junk);
  await (await openCheckpoint(dir)).close();
});

test('folders that are not checkpoints give CHECKPOINT_INVALID saying what is expected', async () => {
  const empty = fresh();
  mkdirSync(empty);
  let e = await rejectsTyped(() => openCheckpoint(empty));
  assert.equal(e.code, 'CHECKPOINT_INVALID');
  assert.match(e.message, /config\.json/);
  writeFileSync(join(empty, 'config.json'), '{}');
  e = await rejectsTyped(() => openCheckpoint(empty));
  assert.match(e.message, /model\.safetensors/);
  e = await rejectsTyped(() => openCheckpoint(join(tmp.dir, 'does-not-exist')));
  assert.equal(e.code, 'CHECKPOINT_INVALID');
});

test('config.json with bare Infinity (transformers 4.x) or tagged {"__float__"} (5.x) parses; broken configs name the file', async () => {
  const dir = fresh();
  await writeFixtureCheckpoint(dir, { ...TINY, timeStepLimit: [0, Infinity] });
  const tagged = readFileSync(join(dir, 'config.json'), 'utf8');
  assert.match(tagged, /"__float__": "Infinity"/);
  const bare = tagged.replace(/\{\s*"__float__": "Infinity"\s*\}/, 'Infinity');
  assert.throws(() => JSON.parse(bare), 'the platform parser refuses this config');
  for (const text of [tagged, bare]) {
    writeFileSync(join(dir, 'config.json'), text);
    const ckpt = await openCheckpoint(dir);
    assert.deepEqual(ckpt.spec.mamba!.timeStepLimit, [0, Infinity]);
    assert.equal(ckpt.config['time_step_limit'] instanceof Array, true);
    await ckpt.close();
    assert.equal((readConfig(join(dir, 'config.json'))['time_step_limit'] as number[])[1], Infinity);
  }

  writeFileSync(join(dir, 'config.json'), '{"model_type": "nemotron_h",');
  let e = await rejectsTyped(() => openCheckpoint(dir));
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.equal(e.context.file, join(dir, 'config.json'));
  writeFileSync(join(dir, 'config.json'), '[1]');
  e = await rejectsTyped(() => openCheckpoint(dir));
  assert.equal(e.code, 'CONFIG_INVALID');
  // Errors from the adapter are re-pointed at the real config path.
  writeFileSync(join(dir, 'config.json'), stringifyJson({ ...fixtureConfig(TINY), mamba_num_heads: 3 }));
  e = await rejectsTyped(() => openCheckpoint(dir));
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.equal(e.context.file, join(dir, 'config.json'));
  assert.equal(e.context.option, 'mamba_num_heads');
  assert.ok(e.message.startsWith(join(dir, 'config.json')), e.message);
});

test('shape mismatches between config and weights are reported through openCheckpoint', async () => {
  const dir = fresh();
  await writeFixtureCheckpoint(dir, TINY);
  writeFileSync(join(dir, 'config.json'), stringifyJson({ ...fixtureConfig(TINY), intermediate_size: 64 }));
  const e = await rejectsTyped(() => openCheckpoint(dir));
  assert.equal(e.code, 'SHAPE_MISMATCH');
  assert.match(e.message, /up_proj\.weight.*\[48, 32\].*\[64, 32\].*intermediate_size/);
  // skipValidation lets repair tools open it anyway.
  await (await openCheckpoint(dir, { skipValidation: true })).close();
});

test('tokenizer files are collected; found means tokenizer.json is present', async () => {
  const dir = fresh();
  await writeFixtureCheckpoint(dir, { ...TINY, tokenizer: true });
  let ckpt = await openCheckpoint(dir);
  assert.deepEqual(ckpt.tokenizerFiles, ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']);
  await ckpt.close();
  rmSync(join(dir, 'tokenizer_config.json'));
  ckpt = await openCheckpoint(dir);
  assert.deepEqual(ckpt.tokenizerFiles, ['tokenizer.json', 'special_tokens_map.json']);
  await ckpt.close();
  writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
  writeFileSync(join(dir, 'generation_config.json'), '{}');
  writeFileSync(join(dir, 'vocab.txt'), '');
  ckpt = await openCheckpoint(dir);
  assert.deepEqual(ckpt.tokenizerFiles, ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']);
  await ckpt.close();
  const none = fresh();
  await writeFixtureCheckpoint(none, TINY);
  ckpt = await openCheckpoint(none);
  assert.deepEqual(ckpt.tokenizerFiles, []);
  await ckpt.close();
});

test('findCheckpoints walks a tree, skipping node_modules, dot folders and beyond maxDepth', async () => {
  const root = fresh('tree');
  const at = (...p: string[]) => join(root, ...p);
  await writeFixtureCheckpoint(at('a'), TINY);
  await writeFixtureCheckpoint(at('models', 'b', 'c'), { ...TINY, maxShardBytes: 8192 });
  await writeFixtureCheckpoint(at('node_modules', 'x'), TINY);
  await writeFixtureCheckpoint(at('.hidden', 'y'), TINY);
  await writeFixtureCheckpoint(at('d1', 'd2', 'd3', 'deep'), TINY);
  mkdirSync(at('notmodel'), { recursive: true });
  writeFileSync(at('notmodel', 'config.json'), '{}');
  assert.deepEqual(findCheckpoints(root), [at('a'), at('d1', 'd2', 'd3', 'deep'), at('models', 'b', 'c')]);
  assert.deepEqual(findCheckpoints(root, 3), [at('a'), at('models', 'b', 'c')]);
  assert.deepEqual(findCheckpoints(at('a')), [at('a')]);
  assert.deepEqual(findCheckpoints(at('missing')), []);
  assert.equal(isCheckpointDir(at('models', 'b', 'c')), true);
  assert.equal(isCheckpointDir(at('notmodel')), false);
});

test('the fingerprint is stable across a folder copy and changes when one weight value changes', async () => {
  const { checkpointFingerprint } = await import('../../src/core/checkpoint/fingerprint');
  const dir = fresh();
  await writeFixtureCheckpoint(dir, { ...TINY, maxShardBytes: 8192 });
  const fp = async (d: string) => {
    const c = await openCheckpoint(d);
    try {
      return await checkpointFingerprint(c);
    } finally {
      await c.close();
    }
  };
  const original = await fp(dir);
  assert.match(original.id, /^[0-9a-f]{16}-[0-9a-f]{16}$/);
  const copy = fresh('copy');
  cpSync(dir, copy, { recursive: true });
  assert.deepEqual(await fp(copy), original);
  const moved = fresh('moved');
  renameSync(copy, moved);
  assert.deepEqual(await fp(moved), original);

  // Flip one value of one tensor (a Mamba D scalar, F32) in place.
  const ckpt = await openCheckpoint(moved);
  const t = ckpt.tensor('backbone.layers.3.mixer.D');
  await ckpt.close();
  const bytes = readFileSync(t.file);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  view.setFloat32(t.fileOffset + 4, view.getFloat32(t.fileOffset + 4, true) + 1e-3, true);
  writeFileSync(t.file, bytes);
  const changed = await fp(moved);
  assert.equal(changed.config, original.config);
  assert.notEqual(changed.tensors, original.tensors);
  assert.notEqual(changed.id, original.id);

  // A config edit changes the config half only.
  writeFileSync(join(dir, 'config.json'), stringifyJson({ ...fixtureConfig(TINY), layer_norm_epsilon: 1e-6 }));
  const cfgChanged = await fp(dir);
  assert.notEqual(cfgChanged.config, original.config);
  assert.equal(cfgChanged.tensors, original.tensors);
});

test('describe errors are typed for a missing tensor name', async () => {
  const dir = fresh();
  await writeFixtureCheckpoint(dir, TINY);
  const ckpt = await openCheckpoint(dir);
  assert.throws(() => ckpt.tensor('nope'), (e: unknown) => e instanceof HybridCompressError && e.context.tensor === 'nope');
  await ckpt.close();
});
