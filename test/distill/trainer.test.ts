// The training loop on the real engine: KD loss comes down, a SIGKILLed run resumes with the identical
// loss sequence, a NaN stops the run naming the step and tensor with the last checkpoint intact, and the
// distilled student loads and evaluates.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { runJob } from '../../src/core/jobs/index';
import { train } from '../../src/core/distill/trainer';
import type { TrainSettings } from '../../src/core/distill/train-types';
import { ortTrainStep } from '../../src/core/distill/ort-train-step';
import { forwardLogitsSource } from '../../src/core/distill/forward-source';
import { evaluateLm } from '../../src/core/eval/lm-eval';
import { HybridCompressError } from '../../src/core/errors';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { encodeFromFloat } from '../../src/core/safetensors/dtype';
import { writeSafetensors } from '../../src/core/safetensors/writer';

const dir = mkdtempSync(join(tmpdir(), 'hc-train-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const workerPath = join(__dirname, '../../src/core/pipeline/worker-main.ts');

const TEACHER = { pattern: 'M-*', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, attentionHeads: 2, kvHeads: 1, attentionHeadDim: 16, chunkSize: 16, tokenizer: true } as const;
const STUDENT = { ...TEACHER, hiddenSize: 24, mambaHeads: 2, intermediateSize: 24 } as const;

function writeCorpus(path: string): void {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'the', 'cat', 'sat', 'on', 'mat', 'and', 'ran', 'far'];
  let s = 7;
  const lines: string[] = [];
  for (let d = 0; d < 200; d++) {
    const n = 20 + (d % 17);
    const w: string[] = [];
    for (let i = 0; i < n; i++) w.push(words[(s = (s * 1103515245 + 12345) >>> 0) % words.length]!);
    lines.push(w.join(' ') + '.');
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

const data = join(dir, 'train.txt');
let teacherDir = '';
let studentDir = '';

function settings(out: string, over: Partial<TrainSettings> = {}): TrainSettings {
  return {
    student: studentDir,
    teacher: teacherDir,
    data,
    out,
    steps: 20,
    batch: 2,
    seqLen: 32,
    packing: 'concat',
    shuffle: true,
    seed: 3,
    lr: 3e-3,
    minLr: 3e-4,
    warmupSteps: 2,
    weightDecay: 0.01,
    gradAccum: 1,
    clip: 1,
    loss: 'kd',
    alpha: 0.5,
    temperature: 1,
    evalEvery: 0,
    evalSamples: 4,
    saveEvery: 5,
    resume: false,
    device: 'cpu',
    threads: 1,
    ...over,
  };
}

const engines = { step: ortTrainStep, forward: forwardLogitsSource };

function lossSeries(out: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const p = JSON.parse(line) as { step: number; loss?: number };
    if (p.loss !== undefined) {
      assert.ok(!m.has(p.step), `step ${p.step} appears twice in metrics.jsonl`);
      m.set(p.step, p.loss);
    }
  }
  return m;
}

// Shared fixtures of this file, written once before its tests (a hook, not a test that asserts nothing).
before(async () => {
  writeCorpus(data);
  teacherDir = (await writeFixtureCheckpoint(join(dir, 'teacher'), { ...TEACHER, seed: 1 })).dir;
  studentDir = (await writeFixtureCheckpoint(join(dir, 'student'), { ...STUDENT, seed: 2 })).dir;
});

test('distillation lowers the KD loss over 200 steps, and the student evaluates', async () => {
  const out = join(dir, 'long');
  const r = await train(settings(out, { steps: 200, saveEvery: 0, evalData: data, evalEvery: 100 }), engines);
  const losses = [...lossSeries(out).values()];
  assert.equal(losses.length, 200);
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const first = mean(losses.slice(0, 20));
  const last = mean(losses.slice(-20));
  assert.ok(last < 0.7 * first, `KD loss should come down clearly: first 20 steps ${first.toFixed(4)}, last 20 ${last.toFixed(4)}`);
  // Trend: each quarter's mean below the previous one.
  const q = [0, 1, 2, 3].map((k) => mean(losses.slice(k * 50, (k + 1) * 50)));
  for (let k = 1; k < 4; k++) assert.ok(q[k]! < q[k - 1]!, `quarter means should decrease: ${q.map((x) => x.toFixed(4)).join(', ')}`);
  assert.ok(existsSync(join(r.final, 'config.json')));
  const ev = await evaluateLm({ model: r.final, data, seqLen: 32, batch: 2, samples: 4, device: 'cpu' });
  assert.ok(Number.isFinite(ev.loss) && ev.loss > 0);
  assert.ok(Math.abs(ev.loss - r.lastValLoss!) < 0.5, `eval of final (${ev.loss}) should be near the last val loss (${r.lastValLoss})`);
});

test('a SIGKILLed distillation resumes from its last checkpoint with the identical loss sequence', async () => {
  const clean = join(dir, 'clean');
  await runJob('train', settings(clean), { workerPath });
  const reference = lossSeries(clean);
  assert.equal(reference.size, 20);

  const killed = join(dir, 'killed');
  let pid = 0;
  await assert.rejects(
    runJob('train', settings(killed), {
      workerPath,
      onSpawn: (p) => (pid = p),
      onMetric: (p) => {
        if (p.step === 13) process.kill(pid, 'SIGKILL');
      },
    }),
    (e) => e instanceof HybridCompressError && /SIGKILL|signal/.test(e.message),
  );
  assert.equal(readFileSync(join(killed, 'checkpoints', 'latest'), 'utf8').trim(), 'step-0000010');
  const r = (await runJob('train', settings(killed, { resume: true }), { workerPath })) as { resumedFrom?: number };
  assert.equal(r.resumedFrom, 10);
  const resumed = lossSeries(killed);
  assert.deepEqual([...resumed.keys()], [...reference.keys()]);
  for (const [step, loss] of reference) assert.equal(resumed.get(step), loss, `step ${step}: resumed loss differs`);
  // The final weights are identical too.
  const a = SafetensorsFile.open(join(clean, 'final', 'model.safetensors'));
  const b = SafetensorsFile.open(join(killed, 'final', 'model.safetensors'));
  for (const n of a.names) assert.deepEqual(await b.readBytes(n), await a.readBytes(n), n);
  await a.close();
  await b.close();
});

test('a NaN weight is named before any step; a NaN during training names the step and the last checkpoint, which stays intact', async () => {
  // A student whose norm_f weight holds a NaN would poison every gradient: it is named at load.
  const poisoned = join(dir, 'poisoned');
  await writeFixtureCheckpoint(poisoned, { ...STUDENT, seed: 2 });
  const f = SafetensorsFile.open(join(poisoned, 'model.safetensors'));
  const tensors = [];
  for (const n of f.names) {
    const info = f.info(n);
    const v = await f.readFloat32(n);
    if (n === 'backbone.norm_f.weight') v[0] = NaN;
    tensors.push({ name: n, dtype: info.dtype, shape: info.shape, data: encodeFromFloat(info.dtype, v) });
  }
  await f.close();
  await writeSafetensors(join(poisoned, 'model.safetensors'), tensors);
  const out = join(dir, 'nan');
  await assert.rejects(train(settings(out, { student: poisoned }), engines), (e) => e instanceof HybridCompressError && e.code === 'NON_FINITE' && e.context.tensor === 'backbone.norm_f.weight' && /^student .*"backbone\.norm_f\.weight" holds NaN/.test(e.message));

  // NaN after a checkpoint: learning rate so large the weights overflow; the saved checkpoint is untouched.
  const out2 = join(dir, 'nan2');
  const err = await train(settings(out2, { lr: 1e30, minLr: 1e30, warmupSteps: 0, clip: 0, saveEvery: 1, steps: 50 }), engines).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof HybridCompressError && err.code === 'NON_FINITE', `expected NON_FINITE, got ${String(err)}`);
  const step = Number(/step (\d+)/.exec(err.message)![1]);
  assert.match(err.message, new RegExp(`last good checkpoint \\(step ${step - 1}\\)`));
  const latest = readFileSync(join(out2, 'checkpoints', 'latest'), 'utf8').trim();
  assert.equal(latest, `step-${String(step - 1).padStart(7, '0')}`);
  const ck = SafetensorsFile.open(join(out2, 'checkpoints', latest, 'model.safetensors'));
  assert.ok(ck.names.length > 0);
  await ck.close();
});

test('distill refuses a teacher with another vocabulary', async () => {
  const other = (await writeFixtureCheckpoint(join(dir, 'other'), { ...TEACHER, vocabSize: 300, seed: 4 })).dir;
  await assert.rejects(train(settings(join(dir, 'vocab'), { teacher: other }), engines), (e) => e instanceof HybridCompressError && /vocab_size/.test(e.message));
});

test('training runs past the end of the data (the rows repeat, reshuffled each epoch)', async () => {
  const small = join(dir, 'small.txt');
  writeFileSync(small, Array.from({ length: 6 }, (_, i) => `tiny document number ${i} with a few words.`).join('\n') + '\n');
  const out = join(dir, 'epochs');
  // ~6 docs × ~40 byte tokens ≈ 4 rows of 64 per epoch; 12 steps × 2 rows needs several epochs.
  const r = await train(settings(out, { data: small, seqLen: 64, steps: 12, saveEvery: 0, loss: 'ce', teacher: undefined }), engines);
  assert.equal(r.steps, 12);
  assert.equal(lossSeries(out).size, 12);
});

test('--recompute layers follows the one-graph run (the same losses to float32 rounding) and resumes from its checkpoint bit for bit', async () => {
  const oneGraph = join(dir, 'recompute-none');
  const layers = join(dir, 'recompute-layers');
  await train(settings(oneGraph, { steps: 10, recompute: 'none' }), engines);
  const logs: string[] = [];
  await train(settings(layers, { steps: 10, recompute: 'layers' }), engines, { log: (l) => logs.push(l) });
  assert.ok(logs.some((l) => l.startsWith('training step: layer by layer')), logs.join('\n'));
  const a = lossSeries(oneGraph);
  const b = lossSeries(layers);
  assert.equal(b.size, 10);
  for (const [step, loss] of a) assert.ok(Math.abs(b.get(step)! - loss) <= 1e-4 * loss, `step ${step}: layers ${b.get(step)} vs one graph ${loss}`);

  // A run stopped after step 7 (its last checkpoint: step 5) and resumed gives the same numbers as the uninterrupted one.
  const stopped = join(dir, 'recompute-layers-stopped');
  await assert.rejects(
    train(settings(stopped, { steps: 10, recompute: 'layers' }), engines, {
      afterStep: (step) => {
        if (step === 7) throw new Error('stop');
      },
    }),
    /stop/,
  );
  await train(settings(stopped, { steps: 10, recompute: 'layers', resume: true }), engines);
  const resumed = lossSeries(stopped);
  assert.deepEqual([...resumed.keys()], [...b.keys()]);
  for (const [step, loss] of b) assert.equal(resumed.get(step), loss, `step ${step}: resumed loss differs`);
});
