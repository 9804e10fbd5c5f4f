// Bench: milliseconds per distillation step (teacher forward + student forward/backward + clipping + AdamW
// update), CPU, batch 4 × 256, against the same step in PyTorch + transformers (bench/py/distill_step.py,
// the conformance venv) on the same checkpoint files, side by side in the same run: rounds alternate one
// step of ours and one of theirs. Teacher = the inference bench fixture (13.8M parameters), student = the
// same with hidden 384, FFN 768, 8 Mamba heads (2 per group). Prints the best of each side (and medians),
// the ratio, our step's split (teacher forward / student step / optimizer) and /proc/loadavg; and the
// floor under any engine at ORT's GEMM rate, timed in the same rounds: the teacher's projection GEMMs once
// plus the student's three times (forward, then d input and d weight of the backward), and what the 0.5×
// target leaves beyond that floor against what the rest of our step takes.
//
//   npx tsx bench/train.ts [--rounds 8] [--threads 2]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../src/core/testing/fixtures';
import { BENCH_FIXTURE, BENCH_STUDENT } from '../src/core/testing/presets';
import { openCheckpoint } from '../src/core/checkpoint/checkpoint';
import { allTensorSpecs, numel } from '../src/core/arch/spec';
import { ortTrainStep } from '../src/core/distill/ort-train-step';
import { forwardLogitsSource } from '../src/core/distill/forward-source';
import { AdamW, clipFactor, decays, globalNorm } from '../src/core/distill/optimizer';
import { OptimizerMemory } from '../src/core/distill/optimizer-memory';
import { Rng } from '../src/core/util/random';
import { ProjectionProbe } from './matmul-probe';
import { PythonSide } from './python';
import { alternate, best, budgetLine, describeMs, loadLine, median, printTable } from './side-by-side';
import { inWorkerEnvironment } from './worker-env';

const TARGET = 0.5;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 8);
  const threads = arg('threads', 2);
  const B = 4;
  const T = 256;
  const dir = mkdtempSync(join(tmpdir(), 'hc-bench-train-'));
  let py: PythonSide | undefined;
  try {
    const teacherFx = await writeFixtureCheckpoint(join(dir, 'teacher'), { ...BENCH_FIXTURE, seed: 1 });
    const studentFx = await writeFixtureCheckpoint(join(dir, 'student'), { ...BENCH_STUDENT, seed: 2 });
    console.log(`distillation step, CPU, batch ${B}×${T}, ${threads} threads, teacher ${teacherFx.spec.params.total.toLocaleString('en-US')} / student ${studentFx.spec.params.total.toLocaleString('en-US')} params`);
    console.log(`load average at start: ${loadLine()} (a machine shared with other jobs)`);
    const teacher = await openCheckpoint(teacherFx.dir);
    const student = await openCheckpoint(studentFx.dir);
    const specs = allTensorSpecs(student.spec);
    // Parameters, moments and gradient blocks in the optimizer's memory, as the trainer keeps them (its SIMD
    // update path; the step writes the gradients in place).
    const memory = OptimizerMemory.create(specs.map((t) => numel(t.shape)), { gradients: true });
    const params: { name: string; shape: number[]; value: Float32Array }[] = [];
    for (const [k, t] of specs.entries()) params.push({ name: t.name, shape: t.shape, value: await student.readFloat32(t.name, memory?.value(k)) });
    const opt = new AdamW(params.map((p, i) => ({ name: p.name, value: p.value, decay: decays(specs[i]!.role, p.name) })), undefined, memory);
    const gradients = memory ? params.map((_, k) => memory.gradient(k)!) : undefined;
    const t0 = performance.now();
    const step = await ortTrainStep(student, params, { batch: B, seq: T, loss: 'kd', alpha: 0.5, temperature: 1, device: 'cpu', threads, gradients });
    const tf = await forwardLogitsSource(teacher, { device: 'cpu', threads });
    const setupMs = performance.now() - t0;
    const rng = new Rng(5);
    const values = params.map((p) => p.value);
    const V = student.spec.vocabSize;
    const split = { teacher: [] as number[], student: [] as number[], optimizer: [] as number[] };
    const once = async (): Promise<number> => {
      const ids = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(V)));
      const a = performance.now();
      const tl = await tf.logits(ids, B, T);
      const b = performance.now();
      const r = await step.run(values, ids, tl);
      const c = performance.now();
      // As the trainer: the global norm (which also tells whether every gradient is finite), then the update with the clipping folded in.
      const norm = globalNorm(r.grads, memory);
      if (!Number.isFinite(norm)) throw new Error('non-finite gradients');
      opt.update(r.grads, 1e-4, clipFactor(norm, 1));
      const d = performance.now();
      split.teacher.push(b - a);
      split.student.push(c - b);
      split.optimizer.push(d - c);
      return d - a;
    };
    await once(); // warm-up
    for (const k of Object.values(split)) k.length = 0;

    const started = await PythonSide.start('distill_step.py', [teacherFx.dir, studentFx.dir, String(threads), String(B), String(T)]);
    if (started.ok) py = started.result;
    else console.log(`FAILED: PyTorch side by side: ${started.error}`);
    const teacherProj = await ProjectionProbe.create(teacher.spec, B * T, threads);
    const studentProj = await ProjectionProbe.create(student.spec, B * T, threads);
    const r = await alternate(rounds, { step: once, teacherProjections: () => teacherProj.once(), studentProjections: () => studentProj.once() }, py);
    await teacherProj.release();
    await studentProj.release();
    await step.release();
    await tf.release();
    await teacher.close();
    await student.close();
    if (py) await py.finish();
    if (r.theirsError) console.log(`FAILED: PyTorch side by side: ${r.theirsError}`);

    const ours = r.ours['step']!;
    const floorMs = best(r.ours['teacherProjections']!) + 3 * best(r.ours['studentProjections']!);
    const i = ours.indexOf(best(ours));
    console.log(`  setup (graph build + sessions): ${setupMs.toFixed(0)} ms`);
    console.log(`  ours: ${describeMs(ours)}; the best step: teacher fwd ${split.teacher[i]!.toFixed(0)}, student fwd+bwd ${split.student[i]!.toFixed(0)}, clip+AdamW ${split.optimizer[i]!.toFixed(0)} ms (medians ${median(split.teacher).toFixed(0)} / ${median(split.student).toFixed(0)} / ${median(split.optimizer).toFixed(0)})`);
    console.log(`  PyTorch + transformers: ${describeMs(r.theirs)}`);
    console.log(`  floor at ORT's GEMM rate (teacher projections + 3 × student projections, ${((teacherProj.flops + 3 * studentProj.flops) / 1e9).toFixed(1)} GFLOP): best ${floorMs.toFixed(0)} ms`);
    if (r.theirs.length > 0) {
      console.log(`  ${budgetLine({ target: `${TARGET}× PyTorch`, allowedMs: TARGET * best(r.theirs), floorMs, floorWhat: 'the projection GEMMs (teacher once, student three times)', oursMs: best(ours), restWhat: 'the scan, attention, softmaxes, norms, activations, their gradients and AdamW' })}`);
    }
    const ratio = best(ours) / best(r.theirs.length ? r.theirs : [NaN]);
    printTable(`side by side, best of ${rounds}:`, [
      { what: `KD step ${B}×${T} (teacher fwd + student fwd/bwd + AdamW)`, ours: `${best(ours).toFixed(0)} ms`, theirs: r.theirs.length ? `${best(r.theirs).toFixed(0)} ms` : '—', ratio: `${ratio.toFixed(2)}×`, target: `≤ ${TARGET}×`, met: ratio <= TARGET },
      { what: 'projection GEMMs alone (the floor)', ours: `${floorMs.toFixed(0)} ms`, theirs: '', ratio: r.theirs.length ? `${(floorMs / best(r.theirs)).toFixed(2)}× (best possible)` : '' },
      { what: 'tokens/s', ours: ((B * T) / (best(ours) / 1000)).toFixed(0), theirs: r.theirs.length ? ((B * T) / (best(r.theirs) / 1000)).toFixed(0) : '—', ratio: '' },
    ]);
    console.log(`\nload average per round: ${r.loads.join(' | ')}; at end: ${loadLine()}`);
  } finally {
    py?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (inWorkerEnvironment()) main().catch((e) => {
  console.error(e);
  process.exit(1);
});
