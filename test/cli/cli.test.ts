// `hybrid-compress` as a user runs it (inspect; search --candidates-only at 8B): a child process, exit codes,
// stdout table / JSON, and a one-line reason on stderr for bad checkpoints. Runs dist/cli.js when it is newer than every source
// file (as right after `npm run build`); otherwise bundles src/cli/main.ts the same way into a temp
// folder first (150 ms, then ~0.1 s per run instead of ~1 s through tsx), falling back to tsx.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { NEMOTRON_H_8B } from '../../src/core/testing/nemotron-h-8b';
import { buildSpec } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { tempDir } from '../safetensors/helpers';
import { BUILT_CLI, builtCliIsFresh } from './built-cli';

const ROOT = resolve(__dirname, '..', '..');
const tmp = tempDir('cli');
after(tmp.cleanup);

let cliArgs: string[] = ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
let cliKind = 'tsx';

before(async () => {
  if (builtCliIsFresh()) {
    cliArgs = [BUILT_CLI];
    cliKind = 'dist/cli.js';
    return;
  }
  try {
    const esbuild = await import('esbuild');
    const outfile = join(tmp.dir, 'cli.js');
    await esbuild.build({ entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['vscode', 'onnxruntime-node'], logLevel: 'silent' });
    cliArgs = [outfile];
    cliKind = 'fresh bundle';
  } catch {
    // keep tsx
  }
});

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [...cliArgs, ...args], { cwd: ROOT, maxBuffer: 256 << 20, env: { ...process.env, HC_DEBUG: '' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}

const TINY = { pattern: 'M-*M-', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, attentionHeads: 4, kvHeads: 2, intermediateSize: 48, vocabSize: 300, tokenizer: true } as const;

test('inspect prints a table and exits 0', async (t) => {
  t.diagnostic(`CLI run as: ${cliKind}`);
  const dir = join(tmp.dir, 'tiny');
  await writeFixtureCheckpoint(dir, TINY);
  const total = buildSpec(fixtureConfig(TINY)).params.total;
  const r = await runCli(['inspect', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const want of ['nemotron_h', 'M-*M-', total.toLocaleString('en-US'), 'tokenizer.json', 'mamba', '4 heads × 8', 'attention', 'mlp', 'F32', 'on disk']) {
    assert.ok(r.stdout.includes(want), `table lacks "${want}":\n${r.stdout}`);
  }
});

test('inspect --json has model_type, pattern, num_layers, hidden_size, params and layers[]', async () => {
  const dir = join(tmp.dir, 'tiny-json');
  await writeFixtureCheckpoint(dir, { ...TINY, prefix: 'model.', maxShardBytes: 16384 });
  const spec = buildSpec(fixtureConfig(TINY));
  const r = await runCli(['inspect', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1, 'one JSON object on one line');
  const j = JSON.parse(r.stdout) as Record<string, unknown> & { params: { total: number; by_component: Record<string, number> }; layers: { index: number; kind: string; params: number }[] };
  assert.equal(j['model_type'], 'nemotron_h');
  assert.equal(j['pattern'], 'M-*M-');
  assert.equal(j['num_layers'], 5);
  assert.equal(j['hidden_size'], 32);
  assert.equal(j['tensor_prefix'], 'model.');
  assert.equal(j['sharded'], true);
  assert.equal(j.params.total, spec.params.total);
  assert.deepEqual(j.params.by_component, spec.params.byComponent);
  assert.deepEqual(
    j.layers,
    spec.layers.map((l) => ({ index: l.index, kind: l.kind, params: l.params })),
  );
  assert.deepEqual((j['mamba'] as { time_step_limit: unknown }).time_step_limit, [0, 'Infinity']);
});

test('inspect on the sparse sharded 8B fixture prints exactly 8,100,852,736', async () => {
  const dir = join(tmp.dir, '8b');
  await writeFixtureCheckpoint(dir, { ...NEMOTRON_H_8B, sparse: true });
  const [table, json] = await Promise.all([runCli(['inspect', dir]), runCli(['inspect', dir, '--json'])]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /8,100,852,736/);
  assert.equal(json.code, 0, json.stderr);
  const j = JSON.parse(json.stdout) as { params: { total: number }; sharded: boolean; num_layers: number };
  assert.equal(j.params.total, 8_100_852_736);
  assert.equal(j.sharded, true);
  assert.equal(j.num_layers, 52);
});

test('search --candidates-only --json on the sparse 8B fixture lists the paper\'s 4B (Nemotron-H-4B, 4,489,223,040 parameters) unscored', async () => {
  const dir = join(tmp.dir, '8b-search');
  await writeFixtureCheckpoint(dir, { ...NEMOTRON_H_8B, sparse: true });
  const r = await runCli(['search', dir, '--target-params', '4489223040', '--candidates-only', '--importance', 'random', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; value?: unknown });
  const result = lines.find((l) => l.type === 'result')?.value as { scored: number; winner: unknown; within_tolerance: number; candidates: Record<string, number>[] };
  assert.ok(result, r.stdout.slice(0, 2000));
  assert.equal(result.scored, 0);
  assert.equal(result.winner, null);
  assert.equal(result.candidates.length, result.within_tolerance);
  const paper = result.candidates.filter((c) => c['hidden_size'] === 3072 && c['ffn_hidden_size'] === 12288 && c['mamba_num_heads'] === 112 && c['mamba_head_dim'] === 64 && c['num_layers'] === 52);
  assert.equal(paper.length, 1);
  assert.equal(paper[0]!['params'], 4_489_223_040);
  for (const c of result.candidates) assert.ok(Math.abs(c['params']! - 4_489_223_040) <= 0.05 * 4_489_223_040, `candidate ${c['id']} has ${c['params']} parameters`);
});

test('bad checkpoints exit 2 with a one-line reason on stderr and nothing on stdout', async () => {
  const corrupt = join(tmp.dir, 'corrupt');
  await writeFixtureCheckpoint(corrupt, TINY);
  writeFileSync(join(corrupt, 'model.safetensors'), Buffer.from([1, 2, 3]));
  const pickle = join(tmp.dir, 'pickle');
  mkdirSync(pickle);
  writeFileSync(join(pickle, 'config.json'), '{"model_type": "nemotron_h"}');
  writeFileSync(join(pickle, 'pytorch_model.bin'), 'not a pickle');
  const cases: [string[], RegExp][] = [
    [['inspect', corrupt], /header-too-small/],
    [['inspect', pickle], /arbitrary code/],
    [['inspect', join(tmp.dir, 'nowhere')], /no such file or folder/],
    [['inspect'], /<model_dir> is required/],
    [['inspect', corrupt, '--bogus'], /bogus/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  results.forEach((r, i) => {
    const [args, reason] = cases[i]!;
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, reason);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${JSON.stringify(r.stderr)}`);
    assert.match(r.stderr, /^hybrid-compress inspect: /);
  });
});
