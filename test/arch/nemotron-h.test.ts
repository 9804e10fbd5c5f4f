// The nemotron_h adapter: layer kinds from hybrid_override_pattern or layers_block_type (legacy and new
// names), attention head size aliases, tensor prefixes, embedding names, tied/untied head, and bad configs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec, allTensorSpecs, type HybridModelSpec } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { HybridCompressError } from '../../src/core/errors';

const PATTERN = 'M-M*-EM*';
const base = () => fixtureConfig({ pattern: PATTERN, hiddenSize: 64, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, stateSize: 16, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 16, intermediateSize: 96 });
const withOut = (c: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(Object.entries(c).filter(([k]) => !keys.includes(k)));

/** The part of a spec that must not depend on how the config spells the same model. */
function shapeOf(spec: HybridModelSpec) {
  return { pattern: spec.pattern, tensors: allTensorSpecs(spec).map((t) => [t.name, t.shape.join('x'), t.role, t.component]), params: spec.params };
}

function configError(fn: () => unknown, code: string, key: string): HybridCompressError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof HybridCompressError, `expected ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.context.option, key, caught.message);
  assert.ok(caught.message.includes(`"${key}"`) || caught.message.includes(key), caught.message);
  return caught;
}

test('hybrid_override_pattern gives one layer per character with the right tensors', () => {
  const spec = buildSpec(base());
  assert.equal(spec.pattern, PATTERN);
  assert.equal(spec.numLayers, PATTERN.length);
  assert.deepEqual(
    spec.layers.map((l) => l.kind),
    [...PATTERN],
  );
  const roles = (i: number) => spec.layers[i]!.tensors.map((t) => t.role).join(',');
  assert.equal(roles(0), 'norm,in_proj,conv_weight,conv_bias,A_log,D,dt_bias,mixer_norm,out_proj');
  assert.equal(roles(1), 'norm,up_proj,down_proj');
  assert.equal(roles(3), 'norm,q_proj,k_proj,v_proj,o_proj');
  assert.ok(spec.layers[5]!.tensors.every((t) => t.component === 'moe' || t.role === 'norm'));
  // Mamba in_proj rows [z I | x I | B GN | C GN | dt H]; conv over x, B, C.
  const m = spec.mamba!;
  assert.equal(m.innerSize, 8 * 8);
  assert.equal(m.convDim, 64 + 2 * 2 * 16);
  assert.equal(m.inProjSize, 2 * 64 + 2 * 2 * 16 + 8);
  assert.deepEqual(spec.layers[0]!.tensors.find((t) => t.role === 'in_proj')!.shape, [m.inProjSize, 64]);
  assert.equal(m.normGroups, 2);
  // MoE makes it inspection-only with a reason.
  assert.equal(spec.runnable, false);
  assert.match(spec.unsupportedReason ?? '', /MoE/);
  assert.equal(buildSpec({ ...base(), hybrid_override_pattern: 'M-M*', num_hidden_layers: 4 }).runnable, true);
});

test('layers_block_type with legacy names and with new names gives the same spec as the pattern', () => {
  const legacy = { mamba: 'M', attention: '*', mlp: '-', moe: 'E' };
  const modern = { linear_attention: 'M', full_attention: '*', mlp: '-', moe: 'E' };
  const list = (names: Record<string, string>) => [...PATTERN].map((c) => Object.keys(names).find((k) => names[k] === c)!);
  const ref = shapeOf(buildSpec(base()));
  const noPattern = withOut(base(), 'hybrid_override_pattern');
  assert.deepEqual(shapeOf(buildSpec({ ...noPattern, layers_block_type: list(legacy) })), ref);
  assert.deepEqual(shapeOf(buildSpec({ ...noPattern, layers_block_type: list(modern) })), ref);
  // Mixed spellings in one list are fine too.
  assert.deepEqual(shapeOf(buildSpec({ ...noPattern, layers_block_type: ['mamba', 'mlp', 'linear_attention', 'full_attention', 'mlp', 'moe', 'mamba', 'attention'] })), ref);
  // The pattern wins when both are present; a null pattern falls back to the list.
  assert.equal(buildSpec({ ...base(), layers_block_type: ['mamba'] }).pattern, PATTERN);
  assert.deepEqual(shapeOf(buildSpec({ ...noPattern, hybrid_override_pattern: null, layers_block_type: list(legacy) })), ref);
  // The fixture's own legacy-list option agrees.
  const viaFixture = fixtureConfig({ pattern: 'M-*', useLayersBlockType: true });
  assert.deepEqual(viaFixture['layers_block_type'], ['mamba', 'mlp', 'attention']);
  assert.equal(buildSpec(viaFixture).pattern, 'M-*');
});

test('attention head size: head_dim, else attention_head_dim, else hidden/heads', () => {
  const c = withOut(base(), 'head_dim');
  const q = (spec: HybridModelSpec) => spec.layers[3]!.tensors.find((t) => t.role === 'q_proj')!.shape;
  assert.equal(buildSpec({ ...c, head_dim: 24 }).attention!.headDim, 24);
  assert.deepEqual(q(buildSpec({ ...c, head_dim: 24 })), [4 * 24, 64]);
  assert.equal(buildSpec({ ...c, attention_head_dim: 32 }).attention!.headDim, 32);
  assert.equal(buildSpec({ ...c, head_dim: 24, attention_head_dim: 32 }).attention!.headDim, 24, 'head_dim wins');
  assert.equal(buildSpec({ ...c, head_dim: null, attention_head_dim: 32 }).attention!.headDim, 32, 'null head_dim falls through');
  assert.equal(buildSpec(c).attention!.headDim, 64 / 4, 'fallback hidden/heads');
  // The 8B's old configs write attention_head_dim: 128 with hidden 4096 and 32 heads (same as the fallback).
  configError(() => buildSpec({ ...c, num_attention_heads: 6, num_key_value_heads: 2 }), 'CONFIG_INVALID', 'head_dim');
});

test('tensor names follow the checkpoint: backbone. or model., embeddings or embedding', () => {
  const spec = buildSpec(base());
  const names = allTensorSpecs(spec).map((t) => t.name);
  assert.equal(spec.prefix, 'backbone.');
  assert.equal(spec.embedding.name, 'backbone.embeddings.weight');
  const rename = (n: string, prefix: string, emb: string) => (n === 'lm_head.weight' ? n : n.replace(/^backbone\./, prefix).replace(/\.embeddings\.weight$/, `.${emb}.weight`));
  for (const prefix of ['backbone.', 'model.']) {
    for (const emb of ['embeddings', 'embedding']) {
      const disk = names.map((n) => rename(n, prefix, emb));
      const s = buildSpec(base(), disk);
      assert.equal(s.prefix, prefix);
      assert.equal(s.embedding.name, `${prefix}${emb}.weight`);
      assert.deepEqual(allTensorSpecs(s).map((t) => t.name).sort(), [...disk].sort(), `${prefix} ${emb}`);
      assert.equal(s.layers[2]!.prefix, `${prefix}layers.2`);
      assert.equal(s.normF.name, `${prefix}norm_f.weight`);
      assert.equal(s.params.total, spec.params.total);
    }
  }
  // mtp.* tensors neither change the naming nor the counts.
  const withMtp = buildSpec(base(), [...names, 'mtp.layers.0.eh_proj.weight', 'mtp.norm.weight']);
  assert.equal(withMtp.prefix, 'backbone.');
  assert.equal(withMtp.params.total, spec.params.total);
});

test('lm_head: untied by default; tied only when tie_word_embeddings and the file has no lm_head', () => {
  const c = base();
  const names = allTensorSpecs(buildSpec(c)).map((t) => t.name);
  const noHead = names.filter((n) => n !== 'lm_head.weight');
  const untied = buildSpec(c);
  assert.equal(untied.tiedEmbeddings, false);
  assert.equal(untied.lmHead?.name, 'lm_head.weight');
  const V = untied.vocabSize;
  const D = untied.hiddenSize;
  assert.equal(untied.params.byComponent.lm_head, V * D);

  const tiedCfg = { ...c, tie_word_embeddings: true };
  const tied = buildSpec(tiedCfg, noHead);
  assert.equal(tied.tiedEmbeddings, true);
  assert.equal(tied.lmHead, undefined);
  assert.equal(tied.params.total, untied.params.total - V * D);
  assert.equal(tied.params.byComponent.lm_head, 0);
  // Without tensor names the flag decides.
  assert.equal(buildSpec(tiedCfg).tiedEmbeddings, true);
  // The flag says tied but the file has its own head: the head is real and counted.
  const ownHead = buildSpec(tiedCfg, names);
  assert.equal(ownHead.tiedEmbeddings, false);
  assert.equal(ownHead.params.total, untied.params.total);
  // The flag says untied and the head is absent: the spec still expects it (validation then reports it missing).
  assert.equal(buildSpec(c, noHead).lmHead?.name, 'lm_head.weight');
});

test('optional biases follow their config flags', () => {
  const find = (spec: HybridModelSpec, suffix: string) => allTensorSpecs(spec).filter((t) => t.name.endsWith(suffix)).length;
  const c = base();
  // PATTERN has 3 Mamba, 2 attention and 2 MLP layers.
  assert.equal(find(buildSpec(c), 'conv1d.bias'), 3);
  assert.equal(find(buildSpec({ ...c, use_conv_bias: false }), 'conv1d.bias'), 0);
  assert.equal(find(buildSpec(c), 'in_proj.bias'), 0);
  assert.equal(find(buildSpec({ ...c, use_bias: true }), 'in_proj.bias'), 3);
  assert.equal(find(buildSpec({ ...c, use_bias: true }), 'out_proj.bias'), 3);
  assert.equal(find(buildSpec({ ...c, attention_bias: true }), 'q_proj.bias'), 2);
  assert.equal(find(buildSpec({ ...c, mlp_bias: true }), 'up_proj.bias'), 2);
  // Aliases of the research notes.
  assert.equal(find(buildSpec({ ...withOut(c, 'use_conv_bias'), mamba_conv_bias: false }), 'conv1d.bias'), 0);
  assert.equal(buildSpec({ ...withOut(c, 'n_groups'), mamba_n_groups: 4 }).mamba!.nGroups, 4);
  assert.equal(buildSpec({ ...withOut(c, 'conv_kernel'), mamba_d_conv: 3 }).mamba!.convKernel, 3);
});

test('time_step_limit keeps Infinity; a reversed pair is a config error', () => {
  assert.deepEqual(buildSpec(base()).mamba!.timeStepLimit, [0, Infinity]);
  assert.deepEqual(buildSpec({ ...base(), time_step_limit: [0.001, 0.1] }).mamba!.timeStepLimit, [0.001, 0.1]);
  configError(() => buildSpec({ ...base(), time_step_limit: [1, 0] }), 'CONFIG_INVALID', 'time_step_limit');
  configError(() => buildSpec({ ...base(), time_step_limit: [0, NaN] }), 'CONFIG_INVALID', 'time_step_limit');
});

test('bad config values give CONFIG_INVALID naming the key and what is valid', () => {
  const c = base();
  let e = configError(() => buildSpec({ ...c, mamba_num_heads: 9 }), 'CONFIG_INVALID', 'mamba_num_heads');
  assert.match(e.message, /multiple of 2/);
  e = configError(() => buildSpec({ ...c, num_attention_heads: 6, num_key_value_heads: 4, head_dim: 16 }), 'CONFIG_INVALID', 'num_attention_heads');
  assert.match(e.message, /multiple of 4/);
  e = configError(() => buildSpec({ ...c, num_hidden_layers: 52 }), 'CONFIG_INVALID', 'num_hidden_layers');
  assert.match(e.message, /8 layers/);
  configError(() => buildSpec({ ...withOut(c, 'hybrid_override_pattern'), layers_block_type: ['mamba', 'transformer'], num_hidden_layers: 2 }), 'CONFIG_INVALID', 'layers_block_type');
  configError(() => buildSpec({ ...withOut(c, 'hybrid_override_pattern'), layers_block_type: [], num_hidden_layers: 0 }), 'CONFIG_INVALID', 'layers_block_type');
  configError(() => buildSpec({ ...withOut(c, 'hybrid_override_pattern'), layers_block_type: 'mamba' }), 'CONFIG_INVALID', 'layers_block_type');
  e = configError(() => buildSpec({ ...c, hybrid_override_pattern: 'M-X*', num_hidden_layers: 4 }), 'CONFIG_INVALID', 'hybrid_override_pattern');
  assert.match(e.message, /M \(Mamba2\)/);
  configError(() => buildSpec({ ...c, hybrid_override_pattern: '', num_hidden_layers: 0 }), 'CONFIG_INVALID', 'hybrid_override_pattern');
  configError(() => buildSpec({ ...c, hidden_size: '64' }), 'CONFIG_INVALID', 'hidden_size');
  configError(() => buildSpec({ ...c, hidden_size: 0 }), 'CONFIG_INVALID', 'hidden_size');
  configError(() => buildSpec({ ...c, ssm_state_size: 16.5 }), 'CONFIG_INVALID', 'ssm_state_size');
  configError(() => buildSpec({ ...c, vocab_size: -1 }), 'CONFIG_INVALID', 'vocab_size');
  configError(() => buildSpec({ ...c, tie_word_embeddings: 'yes' }), 'CONFIG_INVALID', 'tie_word_embeddings');
  configError(() => buildSpec({ ...c, intermediate_size: 2 ** 60 }), 'CONFIG_INVALID', 'intermediate_size');
});

test('unknown or missing model_type is UNSUPPORTED_ARCHITECTURE naming the key and the supported families', () => {
  for (const mt of ['llama', undefined, 42, 'NEMOTRON_H']) {
    const e = configError(() => buildSpec({ ...base(), model_type: mt }), 'UNSUPPORTED_ARCHITECTURE', 'model_type');
    assert.match(e.message, /nemotron_h, mamba2/);
    assert.match(e.message, /jamba/);
  }
  // Spelling variants of nemotron_h are accepted.
  for (const mt of ['nemotron-h', 'nemotronh']) assert.equal(buildSpec({ ...base(), model_type: mt }).family, 'nemotron_h');
});
