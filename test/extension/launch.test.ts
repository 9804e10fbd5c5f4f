// The shared launchers of src/core/jobs/launch.ts for prune, search and the cluster recipe: each run
// leaves a run folder the Runs tree lists (kind, status, inputs, settings, key figures), failures and
// cancellations included; the CLI commands go through them without changing what they print.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { HybridCompressError } from '../../src/core/errors';
import { launchPrune, launchSearch } from '../../src/core/prune/launch';
import { launchMegatronRecipe } from '../../src/core/recipes/launch';
import { REPORT_FILE } from '../../src/core/runs/layout';
import { listRuns, readRun, runsRoot } from '../../src/core/runs/index';
import { pruneCommand } from '../../src/cli/commands/prune';
import type { PruneJobParams, SearchJobParams } from '../../src/core/prune/job-params';
import { keyFigure } from '../../src/extension/viewmodel/run-summary';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'hc-launch-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const FIXTURE = { pattern: 'M-M*', hiddenSize: 32, vocabSize: 300, mambaHeads: 8, mambaHeadDim: 4, nGroups: 2, intermediateSize: 48, tokenizer: true } as const;

test('launchPrune: a tiny prune leaves a "prune" run folder with inputs, settings, report.json and the key figures', async (t) => {
  const ws = tempDir(t);
  const src = await writeFixtureCheckpoint(join(ws, 'm'), FIXTURE);
  const params: PruneJobParams = { model: src.dir, importance: 'random', seed: 3, targets: { hiddenSize: 24, mambaNumHeads: 4 }, out: join(ws, 'pruned'), rows: 2, seqLen: 8, device: 'cpu' };
  const phases = new Set<string>();
  const { run, report } = await launchPrune(ws, params, { onProgress: (p) => phases.add(p.phase) });
  assert.ok(run);
  assert.equal(run.dir.startsWith(runsRoot(ws)), true, run.dir);
  const rec = await readRun(run.dir);
  assert.equal(rec.kind, 'prune');
  assert.equal(rec.status, 'done');
  assert.deepEqual(rec.inputs, { model: src.dir, importance: 'random' });
  assert.deepEqual(rec.settings['targets'], { hiddenSize: 24, mambaNumHeads: 4 });
  assert.equal(rec.settings['out'], join(ws, 'pruned'));
  assert.ok(typeof rec.timings['total'] === 'number' && rec.timings['total'] >= 0);
  // The figures are the report's, and the report is on disk in full.
  const r = rec.result as Record<string, unknown>;
  assert.equal(r['output_dir'], join(ws, 'pruned'));
  assert.equal(r['params_before'], src.spec.params.total);
  assert.equal(r['params_after'], report.pruned.params);
  assert.ok((r['params_after'] as number) < (r['params_before'] as number));
  assert.equal(r['params_ratio'], report.pruned.params / report.source.params);
  const v = report.verification;
  assert.ok(v && !('skipped' in v), JSON.stringify(v));
  assert.equal(r['loss_before'], v.loss_before);
  assert.equal(r['loss_after'], v.loss_after);
  assert.equal(rec.ep, v.engine);
  assert.deepEqual(JSON.parse(readFileSync(join(run.dir, REPORT_FILE), 'utf8')), JSON.parse(JSON.stringify(report)));
  assert.ok(existsSync(join(ws, 'pruned', 'config.json')));
  assert.ok(phases.has('write'));
  // The Runs tree's listing and key figure.
  const listing = await listRuns(ws);
  assert.deepEqual(listing.runs.map((x) => [x.kind, x.status]), [['prune', 'done']]);
  assert.match(keyFigure(listing.runs[0]!.result, 'prune')!, /^\d+(\.\d)?K? params \(\d+\.\d%\) · loss \d+\.\d{4}$/);
});

test('launchPrune: a failing job is recorded as failed, a cancelled one as cancelled; a dry run writes no run folder', async (t) => {
  const ws = tempDir(t);
  const src = await writeFixtureCheckpoint(join(ws, 'm'), FIXTURE);
  // An importance file that does not exist: the job fails in the worker.
  const bad: PruneJobParams = { model: src.dir, importance: join(ws, 'no-such-calibration'), targets: { mambaNumHeads: 4 }, out: join(ws, 'o1'), verify: false };
  const err = await launchPrune(ws, bad, {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof Error, 'the job should fail on a missing importance file');
  const dry = await launchPrune(ws, { model: src.dir, importance: 'random', targets: { hiddenSize: 16 }, dryRun: true }, {});
  assert.equal(dry.run, undefined);
  assert.equal(dry.report.pruned.hidden_size, 16);

  // Cancelled as soon as the job reports its first progress: a deeper model, so the write phase
  // (which checks the signal per tensor) is still ahead when the cancel arrives.
  const deep = await writeFixtureCheckpoint(join(ws, 'deep'), { ...FIXTURE, pattern: 'M-M*M-M-M*M-M-M*M-', hiddenSize: 64 });
  const abort = new AbortController();
  const cancelled = await launchPrune(ws, { model: deep.dir, importance: 'random', targets: { hiddenSize: 16 }, out: join(ws, 'o2'), verify: false }, { signal: abort.signal, onProgress: () => abort.abort() }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(cancelled instanceof HybridCompressError && cancelled.code === 'CANCELLED', String(cancelled));

  const runs = (await listRuns(ws)).runs.sort((a, b) => a.created.localeCompare(b.created));
  assert.deepEqual(runs.map((r) => [r.kind, r.status]).sort(), [['prune', 'cancelled'], ['prune', 'failed']]);
  const failed = runs.find((r) => r.status === 'failed')!;
  assert.ok(failed.error && failed.error.message.length > 0);
  assert.equal(failed.result, undefined);
  assert.equal(readdirSync(runsRoot(ws)).filter((d) => !d.startsWith('.')).length, 2, 'the dry run created no folder');
});

test('launchSearch: the winner, the budget and the output folder are the run’s figures', async (t) => {
  const ws = tempDir(t);
  const src = await writeFixtureCheckpoint(join(ws, 'm'), FIXTURE);
  const params: SearchJobParams = { model: src.dir, importance: 'random', targetParams: '75%', maxCandidates: 3, rows: 2, seqLen: 8, out: join(ws, 'best'), device: 'cpu' };
  const { run, report } = await launchSearch(ws, params, {});
  const rec = await readRun(run!.dir);
  assert.equal(rec.kind, 'search');
  assert.equal(rec.status, 'done');
  const r = rec.result as Record<string, unknown>;
  assert.ok(report.winner);
  assert.deepEqual(r['winner'], JSON.parse(JSON.stringify(report.winner)));
  assert.equal(r['params_after'], report.winner['params']);
  assert.equal(r['target_params'], report.target_params);
  assert.equal(r['output_dir'], join(ws, 'best'));
  assert.equal(r['loss_after'], report.winner['loss']);
  assert.ok(existsSync(join(ws, 'best', 'config.json')));
  assert.ok(existsSync(join(run!.dir, REPORT_FILE)));
});

test('prune CLI: same output as before, plus a run folder under <cwd>/.hybrid-compress/runs', async (t) => {
  const ws = tempDir(t);
  await writeFixtureCheckpoint(join(ws, 'm'), FIXTURE);
  let out = '';
  const stdout = new Writable({ write(c, _e, cb) { out += String(c); cb(); } });
  const stderr = new Writable({ write(_c, _e, cb) { cb(); } });
  const code = await pruneCommand.run({ argv: ['m', '--importance', 'random', '--out', 'o', '--hidden-size', '24', '--no-verify', '--json'], stdout, stderr, isTTY: false, cwd: ws, signal: new AbortController().signal });
  assert.equal(code, 0);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; value?: { output: { dir: string } } });
  assert.equal(lines.at(-1)!.type, 'result');
  assert.equal(lines.at(-1)!.value!.output.dir, join(ws, 'o'));
  const runs = (await listRuns(ws)).runs;
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.kind, 'prune');
  assert.equal(runs[0]!.status, 'done');
  assert.equal((runs[0]!.result as Record<string, unknown>)['output_dir'], join(ws, 'o'));
});

test('launchMegatronRecipe: a "distill-external" run folder with the scripts, checked before anything is written', async (t) => {
  const ws = tempDir(t);
  const teacher = await writeFixtureCheckpoint(join(ws, 'teacher'), FIXTURE);
  const student = await writeFixtureCheckpoint(join(ws, 'student'), { ...FIXTURE, hiddenSize: 24, mambaHeads: 4 });
  const dir = join(runsRoot(ws), '20260101T000000Z-distill-external');
  // TP 4 does not divide the 2 B/C groups: refused, and no run folder appears.
  await assert.rejects(
    launchMegatronRecipe(ws, { teacher: teacher.dir, student: student.dir, data: [], mockData: true, out: dir, steps: 100, gpusPerNode: 4, tp: 4, globalBatch: 4 }),
    (e: unknown) => e instanceof HybridCompressError && e.context.option === 'tp',
  );
  assert.equal(existsSync(dir), false);

  const l = await launchMegatronRecipe(ws, { teacher: teacher.dir, student: student.dir, data: [], mockData: true, out: dir, steps: 100, gpusPerNode: 2, tp: 2, globalBatch: 4 });
  const rec = await readRun(dir);
  assert.equal(rec.kind, 'distill-external');
  assert.equal(rec.status, 'done');
  assert.deepEqual(rec.inputs, { teacher: teacher.dir, student: student.dir, data: 'mock' });
  const r = rec.result as Record<string, unknown>;
  assert.equal(r['output_dir'], dir);
  assert.equal(r['world_size'], 2);
  assert.equal(r['total_tokens'], 100 * 4 * l.recipe.settings.seqLen);
  for (const f of ['distill_torchrun.sh', 'distill_slurm.sbatch', 'README.md', 'recipe.json']) assert.ok(existsSync(join(dir, f)), f);
  assert.deepEqual(l.files.map((f) => f.slice(dir.length + 1)), r['files']);
  assert.match(keyFigure(r, 'distill-external')!, /^recipe · 2 GPUs · \d/);
  // A second recipe into the same folder needs force.
  await assert.rejects(launchMegatronRecipe(ws, { teacher: teacher.dir, student: student.dir, data: [], mockData: true, out: dir, steps: 100, gpusPerNode: 2, tp: 2, globalBatch: 4 }), /already has .*force/);
  await launchMegatronRecipe(ws, { teacher: teacher.dir, student: student.dir, data: [], mockData: true, out: dir, steps: 200, gpusPerNode: 2, tp: 2, globalBatch: 4 }, { force: true });
  assert.equal(((await readRun(dir)).result as Record<string, unknown>)['steps'], 200);
});
