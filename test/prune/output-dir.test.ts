import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HybridCompressError } from '../../src/core/errors';
import { checkFreeSpace, copySideFiles, isHoleOnly } from '../../src/core/prune/output-dir';
import { tempDir } from './helpers';

test('free disk space is checked against the estimated output size', async (t) => {
  const dir = tempDir(t, 'disk');
  const { available } = await checkFreeSpace(join(dir, 'not', 'yet', 'there'), 1000);
  assert.ok(available > 1000);
  await assert.rejects(checkFreeSpace(join(dir, 'out'), available * 2), (e: unknown) => e instanceof HybridCompressError && e.code === 'IO_ERROR' && /not enough free disk space/.test(e.message) && e.context.option === 'out');
});

test('side files: tokenizer, generation config and remote code are copied (through symlinks); weights, pickles, READMEs are not', async (t) => {
  const dir = tempDir(t, 'side');
  const src = join(dir, 'src');
  const blobs = join(dir, 'blobs');
  mkdirSync(src);
  mkdirSync(blobs);
  writeFileSync(join(blobs, 'tok'), '{"model":{}}');
  symlinkSync(join(blobs, 'tok'), join(src, 'tokenizer.json'));
  for (const f of ['tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'modeling_nemotron_h.py', 'configuration_nemotron_h.py', 'chat_template.jinja', 'config.json', 'model.safetensors', 'pytorch_model.bin', 'README.md', 'pruning_plan.json']) {
    writeFileSync(join(src, f), f);
  }
  mkdirSync(join(src, 'tokenizer.d'));
  const out = join(dir, 'out');
  mkdirSync(out);
  const copied = await copySideFiles(src, out);
  assert.deepEqual(copied, ['chat_template.jinja', 'configuration_nemotron_h.py', 'generation_config.json', 'modeling_nemotron_h.py', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  assert.deepEqual(readdirSync(out).sort(), copied);
  assert.equal(readFileSync(join(out, 'tokenizer.json'), 'utf8'), '{"model":{}}');
});

test('a hole-only data area is recognised; a written one is not', async (t) => {
  const dir = tempDir(t, 'hole');
  const { open } = await import('node:fs/promises');
  const sparse = join(dir, 'sparse.bin');
  const fh = await open(sparse, 'w');
  await fh.write(Buffer.alloc(100, 1), 0, 100, 0);
  await fh.truncate(8 << 20);
  await fh.close();
  assert.equal(await isHoleOnly(sparse, 100), true);
  const dense = join(dir, 'dense.bin');
  writeFileSync(dense, Buffer.alloc(8 << 20, 1));
  assert.equal(await isHoleOnly(dense, 100), false);
});
