import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { recipeCommand } from '../../src/cli/commands/recipe';
import { parseDataSource } from '../../src/core/recipes/settings';
import { COMMANDS } from '../../src/cli/commands/index';
import type { Command, CommandContext } from '../../src/cli/command';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { bashSyntaxOk, makeFixture, TEACHER_DIMS } from './helpers';

function run(argv: string[], cwd = '/') {
  let out = '';
  let err = '';
  const ctx: CommandContext = {
    argv,
    stdout: new Writable({ write(c, _e, cb) { out += String(c); cb(); } }),
    stderr: new Writable({ write(c, _e, cb) { err += String(c); cb(); } }),
    isTTY: false,
    cwd,
    signal: new AbortController().signal,
  };
  return { ctx, out: () => out, err: () => err };
}

test('--data accepts weight:prefix and plain prefixes', () => {
  assert.deepEqual(parseDataSource('0.3:/d/a_text_document', '/base'), { weight: 0.3, prefix: '/d/a_text_document' });
  assert.deepEqual(parseDataSource('/d/x:y', '/base'), { weight: 1, prefix: '/d/x:y' });
  assert.deepEqual(parseDataSource('1e-1:rel/p', '/base'), { weight: 0.1, prefix: '/base/rel/p' });
});

test('recipe megatron writes the files, resolves relative paths against cwd, prints the export_config', async () => {
  const fx = await makeFixture({ nasty: false });
  try {
    const r = run(['megatron', '--teacher', 'teacher', '--student', 'student', '--data', `0.5:${fx.prefixes[0]}`, '--data', 'data/code_text_document', '--out', 'rec', '--steps', '100', '--gpus-per-node', '4', '--global-batch', '8', '--json'], fx.root);
    assert.equal(await recipeCommand.run(r.ctx), 0);
    const j = JSON.parse(r.out());
    assert.equal(j.out, join(fx.root, 'rec'));
    assert.deepEqual(j.export_config.exportConfig, { hidden_size: 64, mamba_num_heads: 4, ffn_hidden_size: 128 });
    assert.equal(j.settings.dp, 4);
    for (const f of ['distill_torchrun.sh', 'distill_slurm.sbatch', 'prune_replay.sh', 'modelopt_export_config.json', 'recipe.json', 'README.md']) assert.ok(existsSync(join(fx.root, 'rec', f)), f);
    const rec = JSON.parse(readFileSync(join(fx.root, 'rec', 'recipe.json'), 'utf8'));
    assert.deepEqual(rec.inputs.data.map((d: { prefix: string; weight: number }) => [d.weight, d.prefix]), [[0.5, fx.prefixes[0]], [1, join(fx.root, 'data/code_text_document')]]);
    assert.equal(rec.inputs.teacher.path, join(fx.root, 'teacher'));
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('recipe megatron: missing --steps, unknown kind and conflicting container flags are refused', async () => {
  await assert.rejects(recipeCommand.run(run(['megatron', '--teacher', 't', '--student', 's', '--out', 'o']).ctx), /--steps is required/);
  await assert.rejects(recipeCommand.run(run(['nemo']).ctx), /unknown recipe kind "nemo" \(valid: megatron\)/);
  await assert.rejects(recipeCommand.run(run(['megatron', '--teacher', 't', '--student', 's', '--out', 'o', '--steps', '5', '--container', 'x', '--no-container']).ctx), /exclude each other/);
  await assert.rejects(recipeCommand.run(run(['megatron', '--steps', '5', '--student', 's', '--out', 'o']).ctx), /--teacher is required/);
});

// The acceptance check of the recipe generator, on a student pruned by this tool's own `prune` command.
test('a student pruned by `hybrid-compress prune` gets a recipe that passes bash -n and carries its export_config', async (t) => {
  const entry = COMMANDS.find((c) => c.name === 'prune') as (Command | { load: () => Promise<Command> }) | undefined;
  assert.ok(entry, 'the prune command is registered');
  const prune = 'load' in entry ? await entry.load() : entry;
  const fx = await makeFixture({ nasty: false, plan: false });
  try {
    const teacher = join(fx.root, 'teacher src');
    await writeFixtureCheckpoint(teacher, { ...TEACHER_DIMS, sparse: false, tokenizer: true });
    const student = join(fx.root, 'pruned student');
    const p = run([teacher, '--importance', 'random', '--out', student, '--hidden-size', '64', '--mamba-num-heads', '4', '--num-layers', '5']);
    assert.equal(await prune.run(p.ctx), 0, p.err());
    assert.ok(existsSync(join(student, 'pruning_plan.json')));
    const r = run(['megatron', '--teacher', teacher, '--student', student, '--data', fx.prefixes[0]!, '--out', join(fx.root, 'rec'), '--steps', '500', '--gpus-per-node', '1', '--global-batch', '4', '--json']);
    assert.equal(await recipeCommand.run(r.ctx), 0, r.err());
    const j = JSON.parse(r.out());
    assert.equal(j.export_config.source, 'pruning_plan');
    assert.deepEqual(j.export_config.exportConfig, { hidden_size: 64, mamba_num_heads: 4, num_layers: 5 });
    for (const f of ['distill_torchrun.sh', 'distill_slurm.sbatch', 'prune_replay.sh']) {
      const s = bashSyntaxOk(join(fx.root, 'rec', f));
      assert.ok(s.ok, `${f}: ${s.stderr}`);
      const text = readFileSync(join(fx.root, 'rec', f), 'utf8');
      assert.ok(text.includes(`'${teacher}'`), `${f} names the teacher`);
      if (f !== 'prune_replay.sh') assert.ok(text.includes(`'${student}'`) && text.includes(fx.prefixes[0]!), `${f} names the student and data`);
    }
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});
