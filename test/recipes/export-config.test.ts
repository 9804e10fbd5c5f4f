import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecipeData, validateRecipeData } from '../../src/core/recipes/data';
import { exportConfigFromChanges, exportConfigFromConfigs } from '../../src/core/recipes/export-config';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { HybridCompressError } from '../../src/core/errors';

const DATA = loadRecipeData();

test('config_changes of a nemotron_h plan map to ModelOpt hparam names; depth comes from the pattern', () => {
  const teacher = fixtureConfig({ family: 'nemotron_h', pattern: 'M-M*M-M-', hiddenSize: 256, mambaHeads: 8, nGroups: 2, intermediateSize: 512 });
  const r = exportConfigFromChanges(
    { hidden_size: 192, intermediate_size: 384, mamba_num_heads: 6, mamba_head_dim: 8, num_attention_heads: 2, hybrid_override_pattern: 'M-M*M-', num_hidden_layers: 6, head_dim: 16 },
    'nemotron_h',
    DATA,
    { teacherConfig: { ...teacher, head_dim: 16 }, droppedLayers: [6, 7] },
  );
  assert.deepEqual(r.exportConfig, { hidden_size: 192, ffn_hidden_size: 384, mamba_num_heads: 6, mamba_head_dim: 8, num_attention_heads: 2, num_layers: 6 });
  assert.equal(r.source, 'pruning_plan');
  assert.ok(r.notes.some((n) => /num_layers=6: ModelOpt chooses.*dropped source layers 6, 7/.test(n)), r.notes.join('\n'));
  assert.ok(!r.notes.some((n) => /head_dim/.test(n)), 'an unchanged pinned head_dim is not worth a note');
});

test('values off ModelOpt\'s manual grid and changes ModelOpt cannot make are noted', () => {
  const teacher = fixtureConfig({ family: 'nemotron_h', pattern: 'M-M*', hiddenSize: 256, mambaHeads: 8, nGroups: 4, intermediateSize: 512 });
  const r = exportConfigFromChanges({ hidden_size: 100, intermediate_size: 512, mamba_num_heads: 6, num_key_value_heads: 1 }, 'nemotron_h', DATA, { teacherConfig: teacher });
  assert.deepEqual(r.exportConfig, { hidden_size: 100, ffn_hidden_size: 512, mamba_num_heads: 6 });
  assert.ok(r.notes.some((n) => /hidden_size=100 is not a multiple of 64.*such as 128/.test(n)), r.notes.join('\n'));
  assert.ok(!r.notes.some((n) => /ffn_hidden_size/.test(n)), '512 is on the grid');
  assert.ok(r.notes.some((n) => /mamba_num_heads=6 is not a multiple of n_groups=4/.test(n)));
  assert.ok(r.notes.some((n) => /num_key_value_heads cannot be expressed/.test(n)));
});

test('mamba2 keys (num_heads, head_dim) map too; an unknown family is refused', () => {
  const r = exportConfigFromChanges({ num_heads: 8, head_dim: 16, hidden_size: 128, expand: 1 }, 'mamba2', DATA);
  assert.deepEqual(r.exportConfig, { mamba_num_heads: 8, mamba_head_dim: 16, hidden_size: 128 });
  assert.throws(() => exportConfigFromChanges({}, 'jamba', DATA), (e: unknown) => e instanceof HybridCompressError && /known: nemotron_h, mamba2/.test(e.message));
});

test('without a plan: differences between teacher and student configs, pattern length as num_layers', () => {
  const teacher = fixtureConfig({ family: 'nemotron_h', pattern: 'M-M*M-', hiddenSize: 128, mambaHeads: 8, nGroups: 2, intermediateSize: 256 });
  const student = fixtureConfig({ family: 'nemotron_h', pattern: 'M-M*-', hiddenSize: 128, mambaHeads: 4, nGroups: 2, intermediateSize: 256 });
  const r = exportConfigFromConfigs(teacher, student, DATA);
  assert.equal(r.source, 'configs');
  assert.deepEqual(r.exportConfig, { mamba_num_heads: 4, num_layers: 5 });
  assert.deepEqual(exportConfigFromConfigs(teacher, teacher, DATA).exportConfig, {});
  const other = fixtureConfig({ family: 'mamba2' });
  assert.throws(() => exportConfigFromConfigs(teacher, other, DATA), (e: unknown) => e instanceof HybridCompressError && /model_type "nemotron_h" but student is "mamba2"/.test(e.message));
});

test('the recipe data file: bundled copy validates; a user copy with a renamed flag is used; mistakes name the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-rdata-'));
  try {
    const raw = JSON.parse(readFileSync(join(__dirname, '../../src/core/recipes/megatron-bridge.json'), 'utf8'));
    assert.equal(validateRecipeData(raw, 'x').distill.flags.teacher, '--teacher_hf_path');
    raw.distill.flags.teacher = '--teacher_path';
    writeFileSync(join(dir, 'd.json'), JSON.stringify(raw));
    assert.equal(loadRecipeData(join(dir, 'd.json')).distill.flags.teacher, '--teacher_path');
    raw.distill.flags.student = 'student path';
    writeFileSync(join(dir, 'd.json'), JSON.stringify(raw));
    assert.throws(() => loadRecipeData(join(dir, 'd.json')), (e: unknown) => e instanceof HybridCompressError && e.code === 'CONFIG_INVALID' && /"distill\.flags\.student" must be a command-line flag/.test(e.message));
    delete raw.distill.defaults.lr;
    raw.distill.flags.student = '--student_hf_path';
    writeFileSync(join(dir, 'd.json'), JSON.stringify(raw));
    assert.throws(() => loadRecipeData(join(dir, 'd.json')), (e: unknown) => e instanceof HybridCompressError && /distill\.defaults\.lr/.test(e.message));
    writeFileSync(join(dir, 'd.json'), '{ not json');
    assert.throws(() => loadRecipeData(join(dir, 'd.json')), (e: unknown) => e instanceof HybridCompressError && /not valid JSON/.test(e.message));
    assert.throws(() => loadRecipeData(join(dir, 'missing.json')), (e: unknown) => e instanceof HybridCompressError && e.code === 'IO_ERROR');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
