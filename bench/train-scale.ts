// Bench: training at sizes well beyond the bundled models, against PyTorch + transformers at the same
// sizes in the same run. For each hidden size: a nemotron_h of 16 layers (M-M*M-M-M-M*M-M-, FFN 4 × hidden,
// Mamba heads of 64 channels in 8 groups, vocab 4096), trained by the real trainer (CE loss, AdamW,
// clipping, BF16 checkpoint in, float32 master weights) for a few steps of batch 2 × 256, once with each
// training step (--recompute none: one graph; --recompute layers: layer by layer, each layer recomputed
// in the backward pass); then the same checkpoint trained by transformers the same way
// (bench/py/train_step.py, the conformance venv). Each run has its own process, one after the other (two
// large models at once would not fit), so each peak RSS is its own; the table gives step times (best and
// median after the first step), peak RSS and bytes per parameter, and /proc/loadavg around each.
//
//   npx tsx bench/train-scale.ts [--hidden 512,1024] [--steps 5] [--recompute none,layers]   (2048 ≈ 456M params, ~17 GB)
//
// Anchor, measured in the same run: ORT's fp32 MatMul GFLOP/s. A step costs about 6 · params · tokens
// FLOPs (forward 2, backward 4), so "achieved" = that over the step time, as a share of the anchor.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../src/core/testing/fixtures';
import { train } from '../src/core/distill/trainer';
import { ortTrainStep } from '../src/core/distill/ort-train-step';
import { forwardLogitsSource } from '../src/core/distill/forward-source';
import { MatmulProbe } from './matmul-probe';
import { PythonSide } from './python';
import { best, loadLine, median, printTable, type Row } from './side-by-side';
import { inWorkerEnvironment } from './worker-env';
import { withoutHugePages } from '../src/core/util/malloc-tunables';

const BATCH = 2;
const SEQ = 256;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

type Recompute = 'none' | 'layers';

interface SizeResult {
  hidden: number;
  recompute: Recompute;
  params: number;
  /** Step times in ms, in order (the first includes first-touch page faults of ORT's arena). */
  stepsMs: number[];
  peakRss: number;
  firstLoss: number;
  lastLoss: number;
}

function fixtureOptions(hidden: number) {
  return {
    family: 'nemotron_h' as const, vocabSize: 4096, hiddenSize: hidden, pattern: 'M-M*M-M-M-M*M-M-', mambaHeads: hidden / 32, mambaHeadDim: 64, nGroups: 8,
    stateSize: 64, intermediateSize: hidden * 4, attentionHeads: hidden / 64, kvHeads: 4, attentionHeadDim: 64, chunkSize: 64, dtype: 'BF16' as const,
  };
}

/** Child: trains the checkpoint with the real trainer and prints its result as one JSON line. */
async function one(model: string, hidden: number, steps: number, recompute: Recompute): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hc-train-scale-run-'));
  try {
    const r = await train(
      {
        student: model, data: join('examples', 'data', 'train.txt'), out: join(dir, 'run'), steps, batch: BATCH, seqLen: SEQ, packing: 'concat', shuffle: true, seed: 0,
        lr: 1e-4, minLr: 1e-5, warmupSteps: 0, weightDecay: 0.01, gradAccum: 1, clip: 1, loss: 'ce', alpha: 0.5, temperature: 1, evalEvery: 0, evalSamples: 4, saveEvery: 0, resume: false, device: 'cpu', recompute,
      },
      { step: ortTrainStep, forward: forwardLogitsSource },
    );
    const elapsed = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; elapsed_s?: number; loss?: number })
      .filter((m) => m.loss !== undefined).map((m) => m.elapsed_s!);
    const stepsMs = elapsed.map((e, i) => 1000 * (e - (i > 0 ? elapsed[i - 1]! : 0)));
    const res: SizeResult = { hidden, recompute, params: r.params, stepsMs, peakRss: process.resourceUsage().maxRSS * 1024, firstLoss: r.firstLoss, lastLoss: r.lastLoss };
    console.log(`RESULT ${JSON.stringify(res)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same checkpoint trained by transformers (bench/py/train_step.py): step times and peak RSS. */
async function pytorch(model: string, threads: number, steps: number): Promise<{ stepsMs: number[]; peakRss: number; params: number } | string> {
  const started = await PythonSide.start('train_step.py', [model, String(threads), String(BATCH), String(SEQ)]);
  if (!started.ok) return started.error;
  const py = started.result;
  try {
    const r = await py.run(Math.max(1, steps - 1)); // its setup took one warm-up step already
    if (!r.ok) return r.error;
    const f = await py.finish<{ peak_rss: number; params: number }>();
    if (!f.ok) return f.error;
    return { stepsMs: r.result, peakRss: f.result.peak_rss, params: f.result.params };
  } finally {
    py.kill();
  }
}

async function main(): Promise<void> {
  const steps = Number(arg('steps', '5'));
  const modes = arg('recompute', 'none,layers').split(',') as Recompute[];
  for (const m of modes) if (m !== 'none' && m !== 'layers') throw new Error(`--recompute ${m}: use none and/or layers`);
  if (process.argv.includes('--one')) return one(arg('model', ''), Number(arg('one', '0')), steps, modes[0]!);
  const sizes = arg('hidden', '512,1024').split(',').map(Number);
  for (const h of sizes) if (!(h > 0 && h % 64 === 0)) throw new Error(`--hidden ${h}: each size must be a positive multiple of 64`);
  const threads = Math.min(2, availableParallelism());
  const probe = await MatmulProbe.create(threads);
  // Blocks of 5 after a short pause, as bench/forward.ts measures it (back-to-back runs read lower here).
  const runs: number[] = [];
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 100));
    for (let k = 0; k < 5; k++) runs.push(await probe.once());
  }
  const gflops = Math.max(...runs);
  await probe.release();
  console.log(`nemotron_h, 16 layers M-M*M-M-M-M*M-M-, FFN 4×hidden, vocab 4096, CE loss, batch ${BATCH} × ${SEQ}, ${steps} steps, ${threads} thread(s)`);
  console.log(`anchor: ORT 1024³ fp32 MatMul ${gflops.toFixed(1)} GFLOP/s (best of 30); load average at start ${loadLine()} (a machine shared with other jobs)`);
  const table: Row[] = [];
  for (const h of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'hc-train-scale-'));
    try {
      const model = join(dir, 'm');
      await writeFixtureCheckpoint(model, fixtureOptions(h));
      for (const n of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) cpSync(join('examples', 'tokenizer', n), join(model, n));
      const gb = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GB`;
      const later = (xs: number[]) => (xs.length > 1 ? xs.slice(1) : xs);
      const ours: SizeResult[] = [];
      for (const mode of modes) {
        const loadBefore = loadLine();
        // The environment the product's worker gets for this step (distill/launch.ts): no huge pages for the layer step.
        const others = (process.env['GLIBC_TUNABLES'] ?? '').split(':').filter((t) => t && !t.startsWith('glibc.malloc.hugetlb=')).join(':');
        const env = mode === 'layers' ? { ...process.env, ...withoutHugePages({ GLIBC_TUNABLES: others }) } : process.env;
        const c = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, '--one', String(h), '--model', model, '--steps', String(steps), '--recompute', mode], { encoding: 'utf8', maxBuffer: 1 << 24, env });
        const line = c.stdout.split('\n').find((l) => l.startsWith('RESULT '));
        if (!line) {
          console.log(`hidden ${h}, --recompute ${mode}: ours failed (exit ${c.status ?? c.signal}): ${c.stderr.trim().split('\n').slice(-3).join(' | ')}`);
          continue;
        }
        const r = JSON.parse(line.slice(7)) as SizeResult;
        const o = later(r.stepsMs);
        const achieved = (6 * r.params * BATCH * SEQ) / (best(o) / 1000) / 1e9;
        console.log(`\nhidden ${h}: ${(r.params / 1e6).toFixed(1)}M params, --recompute ${mode}; load ${loadBefore} → ${loadLine()}`);
        console.log(`  ours:    steps ${r.stepsMs.map((x) => (x / 1000).toFixed(2)).join(' ')} s; best ${(best(o) / 1000).toFixed(2)} s (median ${(median(o) / 1000).toFixed(2)}) → ${achieved.toFixed(1)} GFLOP/s (${((100 * achieved) / gflops).toFixed(0)}% of the anchor); peak RSS ${gb(r.peakRss)} = ${(r.peakRss / r.params).toFixed(1)} bytes/param; loss ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}`);
        ours.push(r);
      }
      if (ours.length === 0) continue;
      const params = ours[0]!.params;
      const size = `${(params / 1e6).toFixed(0)}M params`;
      const loadMid = loadLine();
      const theirs = await pytorch(model, threads, steps);
      if (typeof theirs === 'string') console.log(`  FAILED: PyTorch side: ${theirs}`);
      else console.log(`  PyTorch: steps ${theirs.stepsMs.map((x) => (x / 1000).toFixed(2)).join(' ')} s (after one warm-up); best ${(best(theirs.stepsMs) / 1000).toFixed(2)} s (median ${(median(theirs.stepsMs) / 1000).toFixed(2)}); peak RSS ${gb(theirs.peakRss)} = ${(theirs.peakRss / theirs.params).toFixed(1)} bytes/param; load ${loadMid} → ${loadLine()}`);
      const py = typeof theirs === 'string' ? undefined : theirs;
      for (const r of ours) {
        const o = later(r.stepsMs);
        const bpp = r.peakRss / r.params;
        table.push(
          { what: `${size}, --recompute ${r.recompute}: step (best)`, ours: `${(best(o) / 1000).toFixed(2)} s`, theirs: py ? `${(best(py.stepsMs) / 1000).toFixed(2)} s` : '—', ratio: py ? `${(best(o) / best(py.stepsMs)).toFixed(2)}×` : '' },
          {
            what: `${size}, --recompute ${r.recompute}: peak RSS`,
            ours: `${gb(r.peakRss)} (${bpp.toFixed(1)} B/param)`,
            theirs: py ? `${gb(py.peakRss)} (${(py.peakRss / py.params).toFixed(1)} B/param)` : '—',
            ratio: py ? `${(r.peakRss / py.peakRss).toFixed(2)}×` : '',
            ...(r.params >= 100e6 ? { target: '≤ 20 B/param', met: bpp <= 20 } : {}),
          },
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  printTable('side by side (each side its own process, one after the other):', table);
  console.log(`\nload average at end ${loadLine()}`);
}

if (inWorkerEnvironment()) void main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
