// The mamba2 adapter (transformers Mamba2ForCausalLM; mamba_ssm's `embedding` naming).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec, allTensorSpecs, numel } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { HybridCompressError } from '../../src/core/errors';

const cfg = () => fixtureConfig({ family: 'mamba2', numLayers: 3, hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, stateSize: 16, vocabSize: 50 });

test('every layer is Mamba2 with I = num_heads × head_dim and an ungrouped gated norm', () => {
  const spec = buildSpec(cfg());
  assert.equal(spec.family, 'mamba2');
  assert.equal(spec.runnable, true);
  assert.equal(spec.pattern, 'MMM');
  const m = spec.mamba!;
  assert.deepEqual([m.numHeads, m.headDim, m.nGroups, m.stateSize, m.innerSize, m.convDim, m.inProjSize, m.normGroups], [8, 8, 2, 16, 64, 64 + 64, 64 + 128 + 8, 1]);
  assert.deepEqual(
    spec.layers[1]!.tensors.map((t) => `${t.name}:${t.shape.join('x')}`),
    [
      'backbone.layers.1.norm.weight:32',
      'backbone.layers.1.mixer.in_proj.weight:200x32',
      'backbone.layers.1.mixer.conv1d.weight:128x1x4',
      'backbone.layers.1.mixer.conv1d.bias:128',
      'backbone.layers.1.mixer.A_log:8',
      'backbone.layers.1.mixer.D:8',
      'backbone.layers.1.mixer.dt_bias:8',
      'backbone.layers.1.mixer.norm.weight:64',
      'backbone.layers.1.mixer.out_proj.weight:32x64',
    ],
  );
  const perLayer = 32 + 200 * 32 + 128 * 4 + 128 + 3 * 8 + 64 + 32 * 64;
  assert.equal(spec.params.total, 50 * 32 + 3 * perLayer + 32);
  assert.equal(allTensorSpecs(spec).reduce((s, t) => s + numel(t.shape), 0), spec.params.total);
});

test('the head is tied by default and untied when the file has lm_head and the flag says so', () => {
  const spec = buildSpec(cfg());
  assert.equal(spec.tiedEmbeddings, true);
  assert.equal(spec.lmHead, undefined);
  const names = allTensorSpecs(spec).map((t) => t.name);
  const untied = buildSpec({ ...cfg(), tie_word_embeddings: false }, [...names, 'lm_head.weight']);
  assert.equal(untied.tiedEmbeddings, false);
  assert.equal(untied.params.total, spec.params.total + 50 * 32);
  // tie flag on, but the file carries its own lm_head: it is counted.
  assert.equal(buildSpec(cfg(), [...names, 'lm_head.weight']).tiedEmbeddings, false);
});

test('model. prefix and the mamba_ssm `embedding` leaf are detected from the tensor names', () => {
  const names = allTensorSpecs(buildSpec(cfg())).map((t) => t.name.replace(/^backbone\./, 'model.').replace('embeddings.weight', 'embedding.weight'));
  const spec = buildSpec(cfg(), names);
  assert.equal(spec.prefix, 'model.');
  assert.equal(spec.embedding.name, 'model.embedding.weight');
  assert.deepEqual(allTensorSpecs(spec).map((t) => t.name).sort(), [...names].sort());
});

test('num_heads defaults to expand × hidden / head_dim; inconsistent values name the key', () => {
  const c = { ...cfg() };
  delete c['num_heads'];
  assert.equal(buildSpec(c).mamba!.numHeads, (2 * 32) / 8);
  const bad = (over: Record<string, unknown>, key: string) =>
    assert.throws(
      () => buildSpec({ ...cfg(), ...over }),
      (e: unknown) => e instanceof HybridCompressError && e.code === 'CONFIG_INVALID' && e.context.option === key,
    );
  bad({ n_groups: 3 }, 'num_heads'); // 8 heads are not a multiple of 3 groups
  bad({ num_heads: 6 }, 'num_heads'); // 6 × 8 = 48 ≠ expand × hidden = 64
  bad({ state_size: 0 }, 'state_size');
  bad({ num_hidden_layers: 'x' }, 'num_hidden_layers');
});
