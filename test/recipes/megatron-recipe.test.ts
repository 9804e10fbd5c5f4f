import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipeData } from '../../src/core/recipes/data';
import { mountDirs, planMegatronRecipe, writeMegatronRecipe, type MegatronRecipeOptions } from '../../src/core/recipes/megatron';
import { HybridCompressError } from '../../src/core/errors';
import { argAfter, bashSyntaxOk, makeFixture, runScript, type RecipeFixture } from './helpers';

const DATA = loadRecipeData();

function options(fx: RecipeFixture, extra: Partial<MegatronRecipeOptions> = {}): MegatronRecipeOptions {
  return {
    teacher: fx.teacher,
    student: fx.student,
    data: [{ weight: 0.7, prefix: fx.prefixes[0]! }, { weight: 0.3, prefix: fx.prefixes[1]! }],
    out: join(fx.root, 'recipe out'),
    steps: 2000,
    gpusPerNode: 2,
    globalBatch: 16,
    seqLen: 512,
    modelOptDir: fx.modelopt,
    now: new Date(Date.UTC(2026, 10, 1)),
    ...extra,
  };
}

function rejects(fn: () => unknown, option: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HybridCompressError, String(e));
    assert.equal(e.context.option, option, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('every generated script passes bash -n and names every input path (paths with spaces, quotes, $, backticks, globs)', async () => {
  const fx = await makeFixture();
  try {
    const recipe = planMegatronRecipe(options(fx), DATA);
    const written = writeMegatronRecipe(join(fx.root, 'recipe out'), recipe);
    const scripts = written.filter((f) => /\.(sh|sbatch)$/.test(f));
    assert.deepEqual(scripts.map((f) => f.split('/').pop()).sort(), ['distill_slurm.sbatch', 'distill_torchrun.sh', 'prune_replay.sh']);
    for (const f of scripts) {
      const r = bashSyntaxOk(f);
      assert.ok(r.ok, `${f}: ${r.stderr}`);
    }
    // The two launch scripts mention (a shell-quoted form of) every input and the output folder.
    const quoted = (p: string) => `'${p.replace(/'/g, `'\\''`)}'`;
    for (const name of ['distill_torchrun.sh', 'distill_slurm.sbatch']) {
      const text = readFileSync(join(fx.root, 'recipe out', name), 'utf8');
      for (const p of [fx.teacher, fx.student, ...fx.prefixes, join(fx.root, 'recipe out')]) assert.ok(text.includes(quoted(p)), `${name} lacks ${p}`);
    }
    const json = JSON.parse(readFileSync(join(fx.root, 'recipe out', 'recipe.json'), 'utf8'));
    assert.equal(json.inputs.teacher.path, fx.teacher);
    assert.deepEqual(json.inputs.data.map((d: { prefix: string }) => d.prefix), fx.prefixes);
    assert.equal(json.assumptions.container, DATA.container.image);
    assert.equal(json.assumptions.taken_from.model_optimizer_distill.commit, DATA.taken_from['model_optimizer_distill']!.commit);
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('hostile paths and names (newlines, $(…), backticks) never run: every script passes bash -n and runs with stubs, handing the exact paths on', async () => {
  const fx = await makeFixture({ hostile: true });
  try {
    const out = join(fx.root, 'recipe\n$(touch PWNED-out)\nout');
    const recipe = planMegatronRecipe(options(fx, { out, container: 'registry/img:1\n$(touch PWNED-container)', nodes: 1 }), DATA);
    const written = writeMegatronRecipe(out, recipe);
    const scripts = written.filter((f) => /\.(sh|sbatch)$/.test(f));
    assert.equal(scripts.length, 3);
    for (const f of scripts) {
      const r = bashSyntaxOk(f);
      assert.ok(r.ok, `${f}: ${r.stderr}`);
    }
    const env = { MODELOPT_DIR: fx.modelopt, MODELOPT_HOST_DIR: fx.modelopt, SLURM_JOB_NODELIST: 'node001', SLURM_NNODES: '1', SLURM_JOB_ID: '1' };
    for (const name of ['distill_torchrun.sh', 'distill_slurm.sbatch', 'prune_replay.sh']) {
      const r = runScript(fx, join(out, name), env);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.equal(r.argv?.includes(fx.teacher) || r.argv?.some((a) => a === fx.teacher), true, `${name} hands the teacher path on verbatim`);
    }
    const pwned = readdirSync(fx.root).filter((f) => f.startsWith('PWNED'));
    assert.deepEqual(pwned, [], 'no command from an input ran');
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('the torchrun script hands torchrun exactly the paths and settings (run with a stub torchrun)', async () => {
  const fx = await makeFixture();
  try {
    const out = join(fx.root, 'recipe out');
    writeMegatronRecipe(out, planMegatronRecipe(options(fx, { tp: 2, lmLoss: true, kdLossScale: 0.5 }), DATA));
    const r = runScript(fx, join(out, 'distill_torchrun.sh'), { MODELOPT_DIR: fx.modelopt });
    assert.equal(r.status, 0, r.stderr);
    const a = r.argv!;
    assert.equal(a[0], 'torchrun');
    assert.ok(a.includes(join(fx.modelopt, 'examples/megatron_bridge/distill.py')));
    assert.equal(argAfter(a, '--teacher_hf_path'), fx.teacher);
    assert.equal(argAfter(a, '--student_hf_path'), fx.student);
    assert.deepEqual(argAfter(a, '--data_paths', true), ['0.7', fx.prefixes[0], '0.3', fx.prefixes[1]]);
    assert.equal(argAfter(a, '--data_path_to_cache'), join(out, 'data_cache'));
    assert.equal(argAfter(a, '--output_dir'), out);
    assert.equal(argAfter(a, '--hf_export_path'), join(out, 'hf_export'));
    assert.equal(argAfter(a, '--nproc_per_node'), '2');
    assert.equal(argAfter(a, '--tp_size'), '2');
    assert.equal(argAfter(a, '--pp_size'), '1');
    assert.equal(argAfter(a, '--gbs'), '16');
    assert.equal(argAfter(a, '--seq_length'), '512');
    assert.equal(argAfter(a, '--train_iters'), '2000');
    assert.equal(argAfter(a, '--kd_loss_scale'), '0.5');
    assert.ok(a.includes('--no_skip_lm_loss'));
    assert.ok(a.includes('--trust_remote_code'), 'nemotron_h needs --trust_remote_code');
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('the scripts stop before launching when an input is missing, naming it', async () => {
  const fx = await makeFixture();
  try {
    const out = join(fx.root, 'recipe out');
    writeMegatronRecipe(out, planMegatronRecipe(options(fx), DATA));
    unlinkSync(`${fx.prefixes[1]}.idx`);
    const r = runScript(fx, join(out, 'distill_torchrun.sh'), { MODELOPT_DIR: fx.modelopt });
    assert.notEqual(r.status, 0);
    assert.equal(r.argv, undefined, 'torchrun must not start');
    assert.ok(r.stderr.includes(`${fx.prefixes[1]}.idx`), r.stderr);
    writeFileSync(`${fx.prefixes[1]}.idx`, '');
    const r2 = runScript(fx, join(out, 'distill_torchrun.sh'), { MODELOPT_DIR: join(fx.root, 'nowhere') });
    assert.notEqual(r2.status, 0);
    assert.match(r2.stderr, /MODELOPT_DIR/);
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('the sbatch script runs one torchrun per node through srun with pyxis mounts of every input folder', async () => {
  const fx = await makeFixture();
  try {
    const out = join(fx.root, 'recipe out');
    writeMegatronRecipe(out, planMegatronRecipe(options(fx, { nodes: 2, gpusPerNode: 4, globalBatch: 32, partition: 'batch', account: 'proj1', time: '2-00:00:00' }), DATA));
    const text = readFileSync(join(out, 'distill_slurm.sbatch'), 'utf8');
    for (const d of ['#SBATCH --nodes=2', '#SBATCH --gpus-per-node=4', '#SBATCH --partition=batch', '#SBATCH --account=proj1', '#SBATCH --time=2-00:00:00', '#SBATCH --ntasks-per-node=1']) assert.ok(text.includes(d), d);
    const r = runScript(fx, join(out, 'distill_slurm.sbatch'), { MODELOPT_HOST_DIR: fx.modelopt, SLURM_JOB_NODELIST: 'node[001-002]', SLURM_NNODES: '2', SLURM_JOB_ID: '77' });
    assert.equal(r.status, 0, r.stderr);
    const a = r.argv!;
    assert.equal(a[0], 'srun');
    assert.equal(a[1], `--container-image=${DATA.container.image}`);
    const mounts = a.find((x) => x.startsWith('--container-mounts='))!.slice('--container-mounts='.length).split(',');
    for (const d of [fx.teacher, fx.student, join(fx.root, 'data `x`'), out]) assert.ok(mounts.includes(`${d}:${d}`), `mount of ${d}`);
    assert.ok(mounts.includes(`${fx.modelopt}:${DATA.container.modelopt_dir}`));
    const t = a.indexOf('torchrun');
    assert.ok(t > 0);
    assert.equal(argAfter(a, '--rdzv_endpoint'), 'node001:29500');
    assert.equal(argAfter(a, '--nnodes'), '2');
    assert.equal(argAfter(a, '--nproc_per_node'), '4');
    assert.equal(argAfter(a, '--rdzv_id'), '77');
    assert.equal(a[a.indexOf('--rdzv_endpoint') + 2], `${DATA.container.modelopt_dir}/examples/megatron_bridge/distill.py`);
    assert.equal(argAfter(a, '--student_hf_path'), fx.student);
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('--no-container: plain srun, Model-Optimizer taken from the host; paths pyxis cannot mount are refused with a container', async () => {
  const fx = await makeFixture({ nasty: false });
  try {
    const out = join(fx.root, 'out,1');
    rejects(() => planMegatronRecipe(options(fx, { out }), DATA), 'out', /--no-container/);
    writeMegatronRecipe(out, planMegatronRecipe(options(fx, { out, container: null }), DATA));
    const r = runScript(fx, join(out, 'distill_slurm.sbatch'), { MODELOPT_DIR: fx.modelopt, SLURM_JOB_NODELIST: 'n1', SLURM_NNODES: '1', SLURM_JOB_ID: '5' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.argv![1], 'torchrun');
    assert.ok(r.argv!.includes(join(fx.modelopt, 'examples/megatron_bridge/distill.py')));
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('prune_replay.sh passes the export_config JSON intact to prune_minitron.py', async () => {
  const fx = await makeFixture();
  try {
    const out = join(fx.root, 'recipe out');
    const recipe = planMegatronRecipe(options(fx, { prunePp: 2 }), DATA);
    writeMegatronRecipe(out, recipe);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'modelopt_export_config.json'), 'utf8')), { hidden_size: 64, mamba_num_heads: 4, ffn_hidden_size: 128 });
    const r = runScript(fx, join(out, 'prune_replay.sh'), { MODELOPT_DIR: fx.modelopt });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(argAfter(r.argv!, '--prune_export_config') as string), recipe.exportConfig!.exportConfig);
    assert.equal(argAfter(r.argv!, '--hf_model_name_or_path'), fx.teacher);
    assert.equal(argAfter(r.argv!, '--pp_size'), '2');
    assert.equal(argAfter(r.argv!, '--nproc_per_node'), '2');
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('multi-node torchrun script requires NODE_RANK and MASTER_ADDR', async () => {
  const fx = await makeFixture({ nasty: false });
  try {
    const out = join(fx.root, 'out');
    writeMegatronRecipe(out, planMegatronRecipe(options(fx, { out, nodes: 2, globalBatch: 32 }), DATA));
    const bad = runScript(fx, join(out, 'distill_torchrun.sh'), { MODELOPT_DIR: fx.modelopt });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /NODE_RANK/);
    const ok = runScript(fx, join(out, 'distill_torchrun.sh'), { MODELOPT_DIR: fx.modelopt, NODE_RANK: '1', MASTER_ADDR: 'head' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(argAfter(ok.argv!, '--node_rank'), '1');
    assert.equal(argAfter(ok.argv!, '--master_addr'), 'head');
    assert.equal(argAfter(ok.argv!, '--nnodes'), '2');
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('bad settings are rejected before anything is written, naming the option and the valid values', async () => {
  const fx = await makeFixture({ nasty: false });
  try {
    // attention heads 4, kv heads 2, mamba heads 4 (student), groups 2: TP 4 fails on kv heads / groups.
    rejects(() => planMegatronRecipe(options(fx, { tp: 4, gpusPerNode: 4 }), DATA), 'tp', /num_key_value_heads=2.*valid TP values here: 1, 2/);
    rejects(() => planMegatronRecipe(options(fx, { tp: 3, gpusPerNode: 8 }), DATA), 'tp', /must divide the world size/);
    rejects(() => planMegatronRecipe(options(fx, { globalBatch: 15 }), DATA), 'global-batch', /multiple of .* = 2 \(e\.g\. 14 or 16\)/);
    rejects(() => planMegatronRecipe(options(fx, { warmup: 2000 }), DATA), 'warmup', /smaller than --steps/);
    rejects(() => planMegatronRecipe(options(fx, { minLr: 1 }), DATA), 'min-lr', /between 0 and --lr/);
    rejects(() => planMegatronRecipe(options(fx, { pp: 7, gpusPerNode: 7 }), DATA), 'pp', /exceeds the 6 layers/);
    rejects(() => planMegatronRecipe(options(fx, { data: [] }), DATA), 'data', /--mock-data/);
    rejects(() => planMegatronRecipe(options(fx, { data: [{ weight: 1, prefix: join(fx.root, 'train.jsonl') }] }), DATA), 'data', /tokenized indexed dataset/);
    rejects(() => planMegatronRecipe(options(fx, { student: join(fx.root, 'nope') }), DATA), 'student', /does not exist/);
    rejects(() => planMegatronRecipe(options(fx, { time: 'forever' }), DATA), 'time', /Slurm time limit/);
    rejects(() => planMegatronRecipe(options(fx, { partition: 'a b' }), DATA), 'partition', /letters, digits/);
    rejects(() => planMegatronRecipe(options(fx, { steps: 0 }), DATA), 'steps', /≥ 1/);
    const out = join(fx.root, 'out');
    writeMegatronRecipe(out, planMegatronRecipe(options(fx, { out }), DATA));
    rejects(() => writeMegatronRecipe(out, planMegatronRecipe(options(fx, { out }), DATA)), 'out', /--force/);
    writeMegatronRecipe(out, planMegatronRecipe(options(fx, { out }), DATA), { force: true });
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('teacher and student must share the vocabulary; a Hub-id teacher is accepted with a warning', async () => {
  const fx = await makeFixture({ nasty: false, student: { family: 'nemotron_h', pattern: 'M-M*M-', hiddenSize: 64, mambaHeads: 4, mambaHeadDim: 16, nGroups: 2, intermediateSize: 128, attentionHeads: 4, kvHeads: 2, vocabSize: 300, sparse: true } });
  try {
    assert.throws(() => planMegatronRecipe(options(fx), DATA), (e: unknown) => e instanceof HybridCompressError && /vocab_size 272 ≠ student vocab_size 300/.test(e.message));
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
  const fx2 = await makeFixture({ nasty: false });
  try {
    const r = planMegatronRecipe(options(fx2, { teacher: 'nvidia/Nemotron-H-8B-Base-8K' }), DATA);
    assert.ok(r.teacher.hubId);
    assert.ok(r.warnings.some((w) => /Hub id/.test(w)));
    const torchrun = r.files.find((f) => f.name === 'distill_torchrun.sh')!.content;
    assert.match(torchrun, /TEACHER=nvidia\/Nemotron-H-8B-Base-8K/);
    assert.doesNotMatch(torchrun, /need_file "\$TEACHER/);
    assert.equal(r.files.some((f) => f.name === 'prune_replay.sh'), false, 'no local teacher to replay the prune on');
    assert.deepEqual(r.exportConfig?.exportConfig, { hidden_size: 64, mamba_num_heads: 4, ffn_hidden_size: 128 }, 'still from the plan');
  } finally {
    rmSync(fx2.root, { recursive: true, force: true });
  }
});

test('without a pruning plan the export_config comes from the teacher/student configs; a broken plan falls back with a warning', async () => {
  const fx = await makeFixture({ nasty: false, plan: false });
  try {
    const r = planMegatronRecipe(options(fx), DATA);
    assert.equal(r.exportConfig?.source, 'configs');
    assert.deepEqual(r.exportConfig?.exportConfig, { hidden_size: 64, ffn_hidden_size: 128, mamba_num_heads: 4 });
    writeFileSync(join(fx.student, 'pruning_plan.json'), '{"format":"something-else"}');
    const r2 = planMegatronRecipe(options(fx), DATA);
    assert.equal(r2.exportConfig?.source, 'configs');
    assert.ok(r2.warnings.some((w) => /not a hybrid-compress\/plan@1/.test(w)));
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});

test('mountDirs keeps the outermost folders once', () => {
  assert.deepEqual(mountDirs(['/a/b', '/a', '/a/b/c', '/d', '/d']), ['/a', '/d']);
  assert.deepEqual(mountDirs(['/ab', '/a']), ['/a', '/ab']);
});

test('shellcheck finds no warnings in the generated scripts (when shellcheck is installed)', async (t) => {
  const { spawnSync } = await import('node:child_process');
  if (spawnSync('shellcheck', ['--version']).status !== 0) return t.skip('shellcheck is not installed');
  const fx = await makeFixture();
  try {
    for (const extra of [{}, { nodes: 2, globalBatch: 32 }, { container: null }] as Partial<MegatronRecipeOptions>[]) {
      const out = join(fx.root, 'recipe out');
      const files = writeMegatronRecipe(out, planMegatronRecipe(options(fx, extra), DATA), { force: true }).filter((f) => /\.(sh|sbatch)$/.test(f));
      const r = spawnSync('shellcheck', ['-s', 'bash', '-S', 'warning', ...files], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout);
    }
  } finally {
    rmSync(fx.root, { recursive: true, force: true });
  }
});
