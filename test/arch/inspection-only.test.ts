// Inspection-only families (bamba, granitemoehybrid, zamba2, falcon_h1, jamba): tiny hand-built
// checkpoints in each family's naming are described with a layer list and exact parameter totals, and
// marked not runnable with a reason.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/core/safetensors/writer';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { describeCheckpoint } from '../../src/core/checkpoint/describe';
import { buildSpec } from '../../src/core/arch/index';
import { tempDir } from '../safetensors/helpers';

const tmp = tempDir('arch-inspect');
after(tmp.cleanup);

const D = 16;
const V = 40;

type Shapes = Record<string, number[]>;

function mamba2Mixer(p: string): Shapes {
  // H=4 heads × P=4 (I=16), G=1, N=4: in_proj 2I+2GN+H = 44, conv_dim 24.
  return { [`${p}.in_proj.weight`]: [44, D], [`${p}.conv1d.weight`]: [24, 1, 4], [`${p}.conv1d.bias`]: [24], [`${p}.A_log`]: [4], [`${p}.D`]: [4], [`${p}.dt_bias`]: [4], [`${p}.norm.weight`]: [16], [`${p}.out_proj.weight`]: [D, 16] };
}
function attention(p: string): Shapes {
  return { [`${p}.q_proj.weight`]: [D, D], [`${p}.k_proj.weight`]: [8, D], [`${p}.v_proj.weight`]: [8, D], [`${p}.o_proj.weight`]: [D, D] };
}
function swiglu(p: string, F = 24): Shapes {
  return { [`${p}.gate_proj.weight`]: [F, D], [`${p}.up_proj.weight`]: [F, D], [`${p}.down_proj.weight`]: [D, F] };
}

interface Case {
  family: string;
  config: Record<string, unknown>;
  shapes: Shapes;
  pattern: string;
  /** Components that must be non-zero. */
  components: string[];
}

function bamba(): Case {
  const s: Shapes = { 'model.embed_tokens.weight': [V, D], 'model.final_layernorm.weight': [D], 'lm_head.weight': [V, D] };
  for (let i = 0; i < 3; i++) {
    const p = `model.layers.${i}`;
    Object.assign(s, { [`${p}.input_layernorm.weight`]: [D], [`${p}.pre_ff_layernorm.weight`]: [D] }, i === 1 ? attention(`${p}.self_attn`) : mamba2Mixer(`${p}.mamba`), swiglu(`${p}.feed_forward`));
  }
  return { family: 'bamba', config: { model_type: 'bamba', num_hidden_layers: 3, hidden_size: D, vocab_size: V, attn_layer_indices: [1] }, shapes: s, pattern: 'M*M', components: ['embedding', 'lm_head', 'mamba', 'attention', 'mlp', 'norm'] };
}

function granite(): Case {
  const s: Shapes = { 'model.embed_tokens.weight': [V, D], 'model.norm.weight': [D] };
  const types = ['mamba', 'attention', 'mamba', 'mamba'];
  types.forEach((t, i) => {
    const p = `model.layers.${i}`;
    Object.assign(
      s,
      { [`${p}.input_layernorm.weight`]: [D], [`${p}.post_attention_layernorm.weight`]: [D] },
      t === 'attention' ? attention(`${p}.self_attn`) : mamba2Mixer(`${p}.mamba`),
      { [`${p}.shared_mlp.input_linear.weight`]: [48, D], [`${p}.shared_mlp.output_linear.weight`]: [D, 24] },
      { [`${p}.block_sparse_moe.input_linear.weight`]: [4, 48, D], [`${p}.block_sparse_moe.output_linear.weight`]: [4, D, 24], [`${p}.block_sparse_moe.router.layer.weight`]: [4, D] },
    );
  });
  return { family: 'granitemoehybrid', config: { model_type: 'granitemoehybrid', num_hidden_layers: 4, hidden_size: D, vocab_size: V, layer_types: types, tie_word_embeddings: true }, shapes: s, pattern: 'M*MM', components: ['embedding', 'mamba', 'attention', 'mlp', 'moe', 'norm'] };
}

function zamba2(): Case {
  const s: Shapes = { 'model.embed_tokens.weight': [V, D], 'model.final_layernorm.weight': [D] };
  const types = ['mamba', 'hybrid', 'mamba'];
  types.forEach((t, i) => {
    const p = `model.layers.${i}`;
    Object.assign(s, { [`${p}.input_layernorm.weight`]: [D] }, mamba2Mixer(`${p}.mamba`));
    if (t === 'hybrid') Object.assign(s, attention(`${p}.shared_transformer.self_attn`), { [`${p}.linear.weight`]: [D, D] });
  });
  return { family: 'zamba2', config: { model_type: 'zamba2', num_hidden_layers: 3, hidden_size: D, vocab_size: V, layers_block_type: types }, shapes: s, pattern: 'M*M', components: ['embedding', 'mamba', 'attention', 'norm', 'other'] };
}

function falconH1(): Case {
  const s: Shapes = { 'model.embed_tokens.weight': [V, D], 'model.final_layernorm.weight': [D], 'lm_head.weight': [V, D] };
  for (let i = 0; i < 2; i++) {
    const p = `model.layers.${i}`;
    // Parallel hybrid: every layer has both a Mamba2 mixer and attention.
    Object.assign(s, { [`${p}.input_layernorm.weight`]: [D], [`${p}.pre_ff_layernorm.weight`]: [D] }, mamba2Mixer(`${p}.mamba`), attention(`${p}.self_attn`), swiglu(`${p}.feed_forward`));
  }
  return { family: 'falcon_h1', config: { model_type: 'falcon_h1', num_hidden_layers: 2, hidden_size: D, vocab_size: V }, shapes: s, pattern: 'MM', components: ['embedding', 'lm_head', 'mamba', 'attention', 'mlp', 'norm'] };
}

function jamba(): Case {
  const s: Shapes = { 'model.embed_tokens.weight': [V, D], 'model.final_layernorm.weight': [D], 'lm_head.weight': [V, D] };
  for (let i = 0; i < 4; i++) {
    const p = `model.layers.${i}`;
    Object.assign(s, { [`${p}.input_layernorm.weight`]: [D], [`${p}.pre_ff_layernorm.weight`]: [D] });
    if (i % 2 === 1) Object.assign(s, attention(`${p}.self_attn`));
    else {
      // Mamba-1: x_proj / dt_proj, A_log of [I, N].
      const m = `${p}.mamba`;
      Object.assign(s, { [`${m}.in_proj.weight`]: [64, D], [`${m}.conv1d.weight`]: [32, 1, 4], [`${m}.x_proj.weight`]: [10, 32], [`${m}.dt_proj.weight`]: [32, 2], [`${m}.A_log`]: [32, 4], [`${m}.D`]: [32], [`${m}.out_proj.weight`]: [D, 32] });
    }
    if (i % 2 === 1) Object.assign(s, { [`${p}.feed_forward.router.weight`]: [2, D] }, swiglu(`${p}.feed_forward.experts.0`), swiglu(`${p}.feed_forward.experts.1`));
    else Object.assign(s, swiglu(`${p}.feed_forward`));
  }
  return { family: 'jamba', config: { model_type: 'jamba', num_hidden_layers: 4, hidden_size: D, vocab_size: V, attn_layer_period: 2, attn_layer_offset: 1 }, shapes: s, pattern: 'M*M*', components: ['embedding', 'lm_head', 'mamba', 'attention', 'mlp', 'moe', 'norm'] };
}

async function writeHandBuilt(dir: string, config: Record<string, unknown>, shapes: Shapes): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  await writeSafetensors(
    join(dir, 'model.safetensors'),
    Object.entries(shapes).map(([name, shape]) => ({ name, dtype: 'F32', shape, data: new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)) })),
  );
}

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

for (const make of [bamba, granite, zamba2, falconH1, jamba]) {
  const c = make();
  test(`${c.family}: described with a layer list and exact totals, marked inspection only`, async () => {
    const dir = join(tmp.dir, c.family);
    await writeHandBuilt(dir, c.config, c.shapes);
    const ckpt = await openCheckpoint(dir);
    try {
      const spec = ckpt.spec;
      assert.equal(spec.family, c.family);
      assert.equal(spec.runnable, false);
      assert.match(spec.unsupportedReason ?? '', /inspection only/);
      assert.equal(spec.pattern, c.pattern);
      assert.equal(spec.numLayers, c.pattern.length);
      const total = Object.values(c.shapes).reduce((s, sh) => s + numel(sh), 0);
      assert.equal(spec.params.total, total, 'total = every tensor on disk');
      assert.equal(Object.values(spec.params.byComponent).reduce((a, b) => a + b, 0), total);
      for (const comp of c.components) assert.ok(spec.params.byComponent[comp as keyof typeof spec.params.byComponent] > 0, `${comp} counted`);
      spec.layers.forEach((l, i) => {
        const want = Object.entries(c.shapes)
          .filter(([n]) => n.startsWith(`model.layers.${i}.`))
          .reduce((s, [, sh]) => s + numel(sh), 0);
        assert.equal(l.params, want, `layer ${i}`);
        assert.equal(l.kind, c.pattern[i]);
      });
      const report = describeCheckpoint(ckpt);
      assert.equal(report.params.total, total);
      assert.equal(report.runnable, false);
      assert.equal(report.layers.length, c.pattern.length);
    } finally {
      await ckpt.close();
    }
  });
}

test('inspection-only totals stay exact when the file lacks a final norm or has layers beyond the config', () => {
  const c = bamba();
  const shapes = new Map(Object.entries(c.shapes).map(([n, shape]) => [n, { shape }]));
  shapes.delete('model.final_layernorm.weight');
  shapes.set('model.layers.3.input_layernorm.weight', { shape: [D] });
  const spec = buildSpec(c.config, shapes);
  const total = [...shapes.values()].reduce((s, t) => s + numel(t.shape), 0);
  assert.equal(spec.params.total, total);
  assert.equal(spec.pattern, 'M*M');
});
