// Bench: training at sizes well beyond the bundled models, to find the largest model that trains on this
// machine and what a step costs there. For each hidden size: a nemotron_h of 16 layers (M-M*M-M-M-M*M-M-,
// FFN 4 × hidden, Mamba heads of 64 channels in 8 groups, vocab 4096), trained by the real trainer (CE
// loss, AdamW, clipping, BF16 checkpoint in, float32 master weights) for a few steps of batch 2 × 256.
// Each size runs in its own process so its peak RSS is its own.
//
//   npx tsx bench/train-scale.ts [--hidden 512,1024] [--steps 5]        (2048 ≈ 456M params, ~17 GB)
//
// Anchor, measured in the same run: ORT's fp32 MatMul GFLOP/s. A step costs about 6 · params · tokens
// FLOPs (forward 2, backward 4), so "achieved" = that over the step time, as a share of the anchor.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../src/core/testing/fixtures';
import { train } from '../src/core/distill/trainer';
import { ortTrainStep } from '../src/core/distill/ort-train-step';
import { forwardLogitsSource } from '../src/core/distill/forward-source';
import { MatmulProbe } from './matmul-probe';

const BATCH = 2;
const SEQ = 256;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface SizeResult {
  hidden: number;
  params: number;
  msPerStep: number;
  /** Median step time from the third step on. */
  steadyMs: number;
  peakRssGB: number;
  firstLoss: number;
  lastLoss: number;
}

/** Child: trains one size and prints its result as one JSON line. */
async function one(hidden: number, steps: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hc-train-scale-'));
  try {
    const f = await writeFixtureCheckpoint(join(dir, 'm'), {
      family: 'nemotron_h', vocabSize: 4096, hiddenSize: hidden, pattern: 'M-M*M-M-M-M*M-M-', mambaHeads: hidden / 32, mambaHeadDim: 64, nGroups: 8,
      stateSize: 64, intermediateSize: hidden * 4, attentionHeads: hidden / 64, kvHeads: 4, attentionHeadDim: 64, chunkSize: 64, dtype: 'BF16',
    });
    for (const n of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) cpSync(join('examples', 'tokenizer', n), join(dir, 'm', n));
    const r = await train(
      {
        student: join(dir, 'm'), data: join('examples', 'data', 'train.txt'), out: join(dir, 'run'), steps, batch: BATCH, seqLen: SEQ, packing: 'concat', shuffle: true, seed: 0,
        lr: 1e-4, minLr: 1e-5, warmupSteps: 0, weightDecay: 0.01, gradAccum: 1, clip: 1, loss: 'ce', alpha: 0.5, temperature: 1, evalEvery: 0, evalSamples: 4, saveEvery: 0, resume: false, device: 'cpu',
      },
      { step: ortTrainStep, forward: forwardLogitsSource },
    );
    // Per-step times from the run's metrics: the first steps also grow ORT's arena (first-touch page faults).
    const elapsed = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; elapsed_s?: number; loss?: number })
      .filter((m) => m.loss !== undefined).map((m) => m.elapsed_s!);
    const perStep = elapsed.map((e, i) => 1000 * (e - (i > 0 ? elapsed[i - 1]! : 0)));
    const later = perStep.slice(2);
    const steadyMs = later.length > 0 ? [...later].sort((a, b) => a - b)[later.length >> 1]! : perStep[perStep.length - 1]!;
    const res: SizeResult = { hidden, params: f.spec.params.total, msPerStep: r.msPerStep, steadyMs, peakRssGB: process.resourceUsage().maxRSS / 1024 ** 2, firstLoss: r.firstLoss, lastLoss: r.lastLoss };
    console.log(`RESULT ${JSON.stringify(res)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const steps = Number(arg('steps', '5'));
  if (process.argv.includes('--one')) return one(Number(arg('one', '0')), steps);
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
  const gflops = runs.sort((a, b) => a - b)[runs.length >> 1]!; // median of 30
  await probe.release();
  console.log(`nemotron_h, 16 layers M-M*M-M-M-M*M-M-, FFN 4×hidden, vocab 4096, CE loss, batch ${BATCH} × ${SEQ}, ${steps} steps, ${threads} thread(s)`);
  console.log(`anchor: ORT 1024³ fp32 MatMul ${gflops.toFixed(1)} GFLOP/s; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('hidden  params     mean step  steady step  peak RSS   achieved at steady (6·N·T)   loss first → last');
  for (const h of sizes) {
    const c = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, '--one', String(h), '--steps', String(steps)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = c.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) {
      console.log(`${String(h).padEnd(6)}  failed (exit ${c.status ?? c.signal}): ${c.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      continue;
    }
    const r = JSON.parse(line.slice(7)) as SizeResult;
    const achieved = (6 * r.params * BATCH * SEQ) / (r.steadyMs / 1000) / 1e9;
    console.log(
      `${String(h).padEnd(6)}  ${(r.params / 1e6).toFixed(1).padStart(7)}M  ${(r.msPerStep / 1000).toFixed(2).padStart(7)} s  ${(r.steadyMs / 1000).toFixed(2).padStart(9)} s  ${r.peakRssGB.toFixed(1).padStart(7)} GB   ${achieved.toFixed(1).padStart(6)} GFLOP/s (${((100 * achieved) / gflops).toFixed(0)}%)   ${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}`,
    );
  }
  console.log(`load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

void main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
