// Bench: pruning a ~1.5 GB BF16 checkpoint with real (seeded random, non-sparse) weights versus `cp` of
// the same files, in the same run. Target: prune ≤ 1.5 × the copy time.
//
//   npx tsx bench/prune.ts [--runs N] [--dir WORK_DIR] [--source DIR] [--keep]
//
// Times, per run (best of N, default 3): `cp -r` of the checkpoint folder, `cp -r` + `sync`, the pruning
// (the `prune` pipeline without the forward check: fingerprint, plan, streamed write with its fsync,
// re-open), and the streamed write alone without fsync (to compare with the plain `cp`). The cut is the 8B→4B ratio: hidden ×3/4, FFN ×4/7, Mamba heads ×7/8. The page cache
// is warmed first and dirty pages are flushed (`sync`, untimed) before every timed step, so no step pays
// for the previous one's writeback. --source reuses an existing checkpoint (nemotron_h with the bench
// fixture's shapes) instead of generating one; --dir puts the work folder elsewhere than the OS temp
// folder (e.g. /dev/shm, to take the disk out of the comparison). Temp files are deleted at the end.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint, type FixtureOptions } from '../src/core/testing/fixtures';
import { runPrune } from '../src/core/prune/prune-job';
import { openCheckpoint } from '../src/core/checkpoint/checkpoint';
import { randomImportance } from '../src/core/calibrate/importance-file';
import { buildPlan } from '../src/core/prune/plan';
import { applyPlan } from '../src/core/prune/apply';
import { loadLine } from './side-by-side';

const TARGET_RATIO = 1.5;

const FIXTURE: FixtureOptions = {
  family: 'nemotron_h',
  vocabSize: 32768,
  hiddenSize: 2048,
  pattern: 'M-M-M-M*-M-M-M-M*-M-M-',
  intermediateSize: 8192,
  mambaHeads: 64,
  mambaHeadDim: 64,
  nGroups: 8,
  stateSize: 64,
  attentionHeads: 16,
  kvHeads: 4,
  attentionHeadDim: 128,
  tieEmbeddings: false,
  dtype: 'BF16',
  maxShardBytes: 1_000_000_000,
  tokenizer: true,
};

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((s, n) => s + statSync(join(dir, n)).size, 0);
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const runs = arg('--runs', 3);
  const dirArg = process.argv.indexOf('--dir');
  const root = mkdtempSync(join(dirArg >= 0 ? process.argv[dirArg + 1]! : tmpdir(), 'hc-bench-prune-'));
  try {
    const t = performance.now();
    const given = process.argv.indexOf('--source');
    const srcDir = given >= 0 ? process.argv[given + 1]! : join(root, 'src');
    if (given < 0) (await writeFixtureCheckpoint(srcDir, FIXTURE)).weights.clear();
    const f = { dir: srcDir };
    const size = dirBytes(f.dir);
    console.log(`checkpoint: ${(size / 1e9).toFixed(2)} GB BF16 in ${readdirSync(f.dir).filter((n) => n.endsWith('.safetensors')).length} shards${given < 0 ? ` (generated in ${((performance.now() - t) / 1000).toFixed(1)} s)` : ''}`);
    execFileSync('sh', ['-c', `cat '${f.dir}'/* > /dev/null`]);
    const flush = () => execFileSync('sync');

    const cp: number[] = [];
    const cpSync: number[] = [];
    const prune: number[] = [];
    const noSync: number[] = [];
    const TARGETS = { hiddenSize: 1536, intermediateSize: 4608, mambaNumHeads: 56 };
    const ckpt = await openCheckpoint(f.dir);
    const plan = buildPlan(ckpt.spec, randomImportance(ckpt.spec, 0), TARGETS, 'bench');
    let written = 0;
    for (let r = 0; r < runs; r++) {
      const dst = join(root, `copy-${r}`);
      flush();
      cp.push(time(() => execFileSync('cp', ['-r', f.dir, dst])));
      rmSync(dst, { recursive: true, force: true });
      flush();
      cpSync.push(time(() => execFileSync('sh', ['-c', `cp -r '${f.dir}' '${dst}' && sync`])));
      rmSync(dst, { recursive: true, force: true });
      const out = join(root, `pruned-${r}`);
      flush();
      prune.push(
        await timeAsync(async () => {
          const rep = await runPrune(
            { model: f.dir, importance: 'random', seed: r, out, targets: TARGETS, verify: false },
            { signal: new AbortController().signal, progress: () => undefined, log: () => undefined },
          );
          written = rep.output!.bytes;
        }),
      );
      rmSync(out, { recursive: true, force: true });
      flush();
      noSync.push(await timeAsync(() => applyPlan(ckpt, plan, { out, sync: false })));
      rmSync(out, { recursive: true, force: true });
    }
    await ckpt.close();
    const best = (xs: number[]) => Math.min(...xs);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = best(prune) / best(cpSync);
    console.log(`cp -r            ${best(cp).toFixed(2)} s  (${(size / 1e9 / best(cp)).toFixed(2)} GB/s)   runs: ${cp.map((x) => x.toFixed(2)).join(', ')}`);
    console.log(`cp -r && sync    ${best(cpSync).toFixed(2)} s  (${(size / 1e9 / best(cpSync)).toFixed(2)} GB/s)   runs: ${cpSync.map((x) => x.toFixed(2)).join(', ')}`);
    console.log(`prune            ${best(prune).toFixed(2)} s  (reads ${(size / 1e9).toFixed(2)} GB, writes ${(written / 1e9).toFixed(2)} GB)   runs: ${prune.map((x) => x.toFixed(2)).join(', ')}`);
    console.log(`write, no fsync  ${best(noSync).toFixed(2)} s   runs: ${noSync.map((x) => x.toFixed(2)).join(', ')}`);
    console.log(`prune / (cp + sync) = ${ratio.toFixed(2)}× best-to-best, ${(median(prune) / median(cpSync)).toFixed(2)}× median-to-median  (target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'})`);
    console.log(`write without fsync / cp = ${(best(noSync) / best(cp)).toFixed(2)}× best-to-best, ${(median(noSync) / median(cp)).toFixed(2)}× median-to-median`);
    console.log(`load average during the run: ${loadLine()} on ${cpus().length} cores`);
  } finally {
    if (!process.argv.includes('--keep')) rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
