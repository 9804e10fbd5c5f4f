// Bench: milliseconds per distillation step (teacher forward + student forward/backward + AdamW update),
// CPU, batch 4 × 256. Teacher = the inference bench fixture (13.8M parameters), student = the same with
// hidden 384, FFN 768, 8 Mamba heads (2 per group). Target (issue 6): ≤ 0.67 × PyTorch's step time
// (reference: 1153 ms with PyTorch 2.13 + transformers 5.18, 2 threads, on a 2-core machine of this kind).
//
//   npx tsx bench/train.ts [--steps 8] [--threads 2]
//
// Also prints the split (teacher forward / student step / optimizer) measured in the same run, and the same
// step in PyTorch + transformers side by side (bench/py/distill_step.py, from the conformance venv).

import { runPythonScript } from './python';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../src/core/testing/fixtures';
import { BENCH_FIXTURE, BENCH_STUDENT } from '../src/core/testing/presets';
import { openCheckpoint } from '../src/core/checkpoint/checkpoint';
import { allTensorSpecs } from '../src/core/arch/spec';
import { ortTrainStep } from '../src/core/distill/ort-train-step';
import { forwardLogitsSource } from '../src/core/distill/forward-source';
import { AdamW, clipGradients, decays } from '../src/core/distill/optimizer';
import { Rng } from '../src/core/util/random';

const REFERENCE_PYTORCH_MS = 1153;
const TARGET = 0.67;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

async function main(): Promise<void> {
  const steps = arg('steps', 8);
  const threads = arg('threads', 2);
  const B = 4;
  const T = 256;
  const dir = mkdtempSync(join(tmpdir(), 'hc-bench-train-'));
  try {
    const teacherFx = await writeFixtureCheckpoint(join(dir, 'teacher'), { ...BENCH_FIXTURE, seed: 1 });
    const studentFx = await writeFixtureCheckpoint(join(dir, 'student'), { ...BENCH_STUDENT, seed: 2 });
    const teacher = await openCheckpoint(teacherFx.dir);
    const student = await openCheckpoint(studentFx.dir);
    const specs = allTensorSpecs(student.spec);
    const params = [];
    for (const t of specs) params.push({ name: t.name, shape: t.shape, value: await student.readFloat32(t.name) });
    const opt = new AdamW(params.map((p, i) => ({ name: p.name, value: p.value, decay: decays(specs[i]!.role, p.name) })));
    const t0 = performance.now();
    const step = await ortTrainStep(student, params, { batch: B, seq: T, loss: 'kd', alpha: 0.5, temperature: 1, device: 'cpu', threads });
    const tf = await forwardLogitsSource(teacher, { device: 'cpu', threads });
    const setupMs = performance.now() - t0;
    const rng = new Rng(5);
    const V = student.spec.vocabSize;
    const times = { teacher: [] as number[], student: [] as number[], optimizer: [] as number[], total: [] as number[] };
    for (let s = 0; s <= steps; s++) {
      const ids = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(V)));
      const a = performance.now();
      const tl = await tf.logits(ids, B, T);
      const b = performance.now();
      const r = await step.run(params.map((p) => p.value), ids, tl);
      const c = performance.now();
      clipGradients(r.grads, 1);
      opt.update(r.grads, 1e-4);
      const d = performance.now();
      if (s === 0) continue; // warm-up
      times.teacher.push(b - a);
      times.student.push(c - b);
      times.optimizer.push(d - c);
      times.total.push(d - a);
    }
    await step.release();
    await tf.release();
    await teacher.close();
    await student.close();
    const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
    const total = med(times.total);
    console.log(`distillation step, CPU, batch ${B}×${T}, ${threads} threads, teacher ${teacherFx.spec.params.total.toLocaleString('en-US')} / student ${studentFx.spec.params.total.toLocaleString('en-US')} params`);
    console.log(`  setup (graph build + sessions): ${setupMs.toFixed(0)} ms`);
    console.log(`  median over ${steps} steps: ${total.toFixed(0)} ms/step  (teacher fwd ${med(times.teacher).toFixed(0)}, student fwd+bwd ${med(times.student).toFixed(0)}, AdamW ${med(times.optimizer).toFixed(0)})`);
    console.log(`  ${((B * T) / (total / 1000)).toFixed(0)} tokens/s`);
    console.log(`  vs PyTorch reference ${REFERENCE_PYTORCH_MS} ms (this machine class): ratio ${(total / REFERENCE_PYTORCH_MS).toFixed(2)} (target ≤ ${TARGET})`);
    const r = runPythonScript<{ ms: number }>('distill_step.py', [teacherFx.dir, studentFx.dir, String(threads), String(steps), String(B), String(T)]);
    if (r.ok && Number.isFinite(r.result.ms)) console.log(`  PyTorch + transformers, same run: ${r.result.ms.toFixed(0)} ms/step; ratio ${(total / r.result.ms).toFixed(2)} (target ≤ ${TARGET})`);
    else console.log(`  FAILED: PyTorch side by side: ${r.ok ? `unexpected result ${JSON.stringify(r.result)}` : r.error}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
