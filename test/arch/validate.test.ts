// Tensors on disk against the spec: shape mismatches name the tensor, both shapes and the config keys;
// missing and unexpected tensors are errors; mtp.* is ignored; non-float weights are refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec, allTensorSpecs, validateTensors, type HybridModelSpec, type TensorOnDisk } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { HybridCompressError } from '../../src/core/errors';

const config = fixtureConfig({ pattern: 'M-*M', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, attentionHeads: 4, kvHeads: 2, intermediateSize: 48, vocabSize: 100 });

function disk(spec: HybridModelSpec): Map<string, TensorOnDisk> {
  return new Map(allTensorSpecs(spec).map((t) => [t.name, { shape: [...t.shape], dtype: 'BF16', file: '/ckpt/model.safetensors' }]));
}

function validationError(spec: HybridModelSpec, tensors: Map<string, TensorOnDisk>): HybridCompressError {
  try {
    validateTensors(spec, tensors, '/ckpt');
  } catch (e) {
    assert.ok(e instanceof HybridCompressError, String(e));
    return e;
  }
  assert.fail('validation passed but should not have');
}

test('a checkpoint matching its config validates', () => {
  const spec = buildSpec(config);
  assert.doesNotThrow(() => validateTensors(spec, disk(spec)));
});

test('every shape mismatch names the tensor, the expected and actual shape, and the config keys', () => {
  const spec = buildSpec(config);
  const cases: [string, number[], string[]][] = [
    ['backbone.layers.0.mixer.in_proj.weight', [99, 32], ['mamba_num_heads', 'mamba_head_dim', 'n_groups', 'ssm_state_size', 'hidden_size']],
    ['backbone.layers.0.mixer.conv1d.weight', [64, 4], ['conv_kernel']],
    ['backbone.layers.3.mixer.A_log', [5], ['mamba_num_heads']],
    ['backbone.layers.2.mixer.q_proj.weight', [32, 33], ['num_attention_heads', 'head_dim', 'hidden_size']],
    ['backbone.layers.2.mixer.k_proj.weight', [8, 32], ['num_key_value_heads', 'head_dim']],
    ['backbone.layers.1.mixer.up_proj.weight', [47, 32], ['intermediate_size', 'hidden_size']],
    ['backbone.embeddings.weight', [101, 32], ['vocab_size', 'hidden_size']],
    ['lm_head.weight', [100, 32, 1], ['vocab_size', 'hidden_size']],
    ['backbone.norm_f.weight', [], ['hidden_size']],
  ];
  for (const [name, actual, keys] of cases) {
    const tensors = disk(spec);
    const expected = tensors.get(name)!.shape;
    tensors.set(name, { shape: actual, dtype: 'BF16', file: '/ckpt/model.safetensors' });
    const e = validationError(spec, tensors);
    assert.equal(e.code, 'SHAPE_MISMATCH', e.message);
    assert.equal(e.context.tensor, name);
    assert.equal(e.context.file, '/ckpt/model.safetensors');
    assert.ok(e.message.includes(`"${name}"`), e.message);
    assert.ok(e.message.includes(`[${actual.join(', ')}]`), `actual shape in: ${e.message}`);
    assert.ok(e.message.includes(`[${expected.join(', ')}]`), `expected shape in: ${e.message}`);
    for (const k of keys) assert.ok(e.message.includes(k), `key ${k} in: ${e.message}`);
  }
});

test('a missing tensor is an error naming it; a missing lm_head hints at tie_word_embeddings', () => {
  const spec = buildSpec(config);
  const t = disk(spec);
  t.delete('backbone.layers.3.mixer.dt_bias');
  let e = validationError(spec, t);
  assert.equal(e.code, 'CHECKPOINT_INVALID');
  assert.equal(e.context.tensor, 'backbone.layers.3.mixer.dt_bias');
  assert.match(e.message, /missing/);
  const noHead = disk(spec);
  noHead.delete('lm_head.weight');
  e = validationError(buildSpec(config, noHead.keys()), noHead);
  assert.equal(e.context.tensor, 'lm_head.weight');
  assert.match(e.message, /tie_word_embeddings/);
});

test('an unexpected tensor (a bias the config says is absent, an extra layer) is an error naming it', () => {
  const spec = buildSpec({ ...config, use_conv_bias: false });
  const withBias = disk(buildSpec(config)); // has conv1d.bias
  let e = validationError(spec, withBias);
  assert.equal(e.code, 'CHECKPOINT_INVALID');
  assert.match(e.context.tensor ?? '', /conv1d\.bias$/);
  assert.match(e.message, /use_conv_bias/);
  const extra = disk(buildSpec(config));
  extra.set('backbone.layers.4.norm.weight', { shape: [32], dtype: 'BF16' });
  e = validationError(buildSpec(config), extra);
  assert.equal(e.context.tensor, 'backbone.layers.4.norm.weight');
  assert.match(e.message, /num_hidden_layers/);
});

test('mtp.* and rotary inv_freq tensors are ignored', () => {
  const spec = buildSpec(config);
  const t = disk(spec);
  t.set('mtp.layers.0.eh_proj.weight', { shape: [32, 64], dtype: 'BF16' });
  t.set('mtp.norm.weight', { shape: [32], dtype: 'BF16' });
  t.set('backbone.layers.2.mixer.rotary_emb.inv_freq', { shape: [4], dtype: 'F32' });
  assert.doesNotThrow(() => validateTensors(spec, t));
});

test('a weight stored as an integer dtype is refused, naming the tensor and the float dtypes', () => {
  const spec = buildSpec(config);
  const t = disk(spec);
  const name = 'backbone.layers.1.mixer.down_proj.weight';
  t.set(name, { ...t.get(name)!, dtype: 'I8' });
  const e = validationError(spec, t);
  assert.equal(e.context.tensor, name);
  assert.match(e.message, /I8.*F32, F16, BF16/);
});
