import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { HybridCompressError } from '../../src/core/errors';
import { pruneCommand } from '../../src/cli/commands/prune';
import { searchCommand } from '../../src/cli/commands/search';
import type { Command } from '../../src/cli/command';
import { collector, hashDir, tempDir } from './helpers';

async function run(cmd: Command, argv: string[], cwd: string) {
  const out = collector();
  const err = collector();
  const code = await cmd.run({ argv, stdout: out.stream, stderr: err.stream, isTTY: false, cwd, signal: new AbortController().signal });
  return { code, stdout: out.text(), stderr: err.text() };
}

async function rejects(cmd: Command, argv: string[], cwd: string, option: string, fragment: string | RegExp) {
  await assert.rejects(run(cmd, argv, cwd), (e: unknown) => {
    assert.ok(e instanceof HybridCompressError, String(e));
    assert.equal(e.code, 'OPTION_INVALID');
    assert.equal(e.context.option, option);
    assert.match(e.message, typeof fragment === 'string' ? new RegExp(fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : fragment);
    return true;
  });
}

test('prune CLI: illegal input is rejected at once with the option and the legal values', async (t) => {
  const dir = tempDir(t, 'cli');
  await writeFixtureCheckpoint(join(dir, 'm'), { pattern: 'M-M*', hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 4, nGroups: 4 });
  mkdirSync(join(dir, 'exists'));
  const base = ['m', '--importance', 'random', '--out', 'o'];
  await rejects(pruneCommand, [...base, '--mamba-num-heads', '6'], dir, 'mamba-num-heads', 'nearby legal values: 4, 8');
  await rejects(pruneCommand, [...base, '--num-attention-heads', '3'], dir, 'num-attention-heads', 'multiple of num_key_value_heads=2');
  await rejects(pruneCommand, [...base, '--hidden-size', '0'], dir, 'hidden-size', 'integer ≥ 1');
  await rejects(pruneCommand, [...base, '--drop-layers', '1;2'], dir, 'drop-layers', 'comma-separated');
  await rejects(pruneCommand, [...base, '--drop-layers', '9'], dir, 'drop-layers', 'from 0 to 3');
  await rejects(pruneCommand, [...base, '--num-layers', '2', '--drop-layers', '1'], dir, 'num-layers', 'exclusive');
  await rejects(pruneCommand, [...base, '--metric', 'l1'], dir, 'metric', 'activation|flap');
  await rejects(pruneCommand, [...base, '--mamba-head-ranking', 'none'], dir, 'mamba-head-ranking', 'group|global');
  await rejects(pruneCommand, [...base, '--prune-axis', 'rows'], dir, 'prune-axis', 'heads|channels');
  await rejects(pruneCommand, [...base, '--target-params', 'big'], dir, 'target-params', 'like 4e9');
  await rejects(pruneCommand, [...base, '--tolerance', '150%'], dir, 'tolerance', 'between 0 and 1');
  await rejects(pruneCommand, ['m', '--importance', 'random', '--out', 'exists'], dir, 'out', '--force');
  await rejects(pruneCommand, ['m', '--importance', 'random', '--out', 'm/sub'], dir, 'out', 'inside the source');
  await rejects(pruneCommand, ['m', '--out', 'o'], dir, 'importance', '--importance is required');
  await rejects(pruneCommand, ['m', '--importance', 'random'], dir, 'out', '--out is required');
  await rejects(pruneCommand, ['m', '--importance', 'x.safetensors', '--seed', '2', '--out', 'o'], dir, 'seed', 'only applies to --importance random');
  await rejects(searchCommand, ['m', '--importance', 'random', '--target-params', '50%', '--kd-steps', '10'], dir, 'data', '--kd-steps needs --data <file>');
  await rejects(searchCommand, ['m', '--importance', 'random', '--target-params', '50%', '--kd-lr', '1e-3'], dir, 'kd-lr', 'only applies with --kd-steps');
  await rejects(searchCommand, ['m', '--importance', 'random', '--target-params', '50%', '--data', 'd.txt', '--kd-steps', '10', '--kd-lr', '0'], dir, 'kd-lr', '> 0');
  await rejects(searchCommand, ['m', '--importance', 'random'], dir, 'target-params', 'is required');
  assert.ok(!existsSync(join(dir, 'o')));
  // Pure Mamba2: heads × head_dim must stay a whole multiple of hidden_size (transformers' integer expand).
  await writeFixtureCheckpoint(join(dir, 'm2'), { family: 'mamba2', numLayers: 2, hiddenSize: 32, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2 });
  const m2 = ['m2', '--importance', 'random', '--out', 'o'];
  await rejects(pruneCommand, [...m2, '--mamba-head-dim', '6'], dir, 'mamba-head-dim', /8 × 6 = 48 must be a whole multiple of hidden_size = 32.*integer expand.*legal values with the other targets as given: 4, 8$/);
  await rejects(pruneCommand, [...m2, '--hidden-size', '24'], dir, 'hidden-size', /legal values with the other targets as given: 4, 8, 16, 32$/);
  assert.ok(!existsSync(join(dir, 'o')));
});

test('prune CLI runs the job in the worker and prints the report (text and --json)', async (t) => {
  const dir = tempDir(t, 'cli');
  const f = await writeFixtureCheckpoint(join(dir, 'm'), { pattern: 'M-M*', hiddenSize: 32, vocabSize: 300, mambaHeads: 8, mambaHeadDim: 4, nGroups: 2, tokenizer: true });
  const before = hashDir(f.dir);
  const text = await run(pruneCommand, ['m', '--importance', 'random', '--seed', '1', '--out', 'o', '--hidden-size', '24', '--mamba-num-heads', '4', '--rows', '2', '--seq-len', '8'], dir);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^source .*hidden 32/m);
  assert.match(text.stdout, /^pruned .*hidden 24 .*mamba 4×4/m);
  assert.match(text.stdout, /zero-shot LM loss on 2 rows × 8 tokens/);
  const json = await run(pruneCommand, ['m', '--importance', 'random', '--out', 'o', '--force', '--drop-layers', '1', '--json', '--no-verify'], dir);
  const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; value?: { pruned: { num_layers: number }; output: { dir: string } } });
  const result = lines.find((l) => l.type === 'result')!;
  assert.equal(result.value!.pruned.num_layers, 3);
  assert.equal(result.value!.output.dir, join(dir, 'o'));
  assert.ok(lines.some((l) => l.type === 'progress'));
  assert.equal(hashDir(f.dir), before);
});
