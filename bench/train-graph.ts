// Training-graph bench: ms per forward+backward of the bench student (BENCH_STUDENT,
// ~8M parameters) on ORT CPU, batch 4 × 256, KD loss, against the forward graph alone in the same run,
// plus an ORT per-op profile of the training graph (--profile).
//
//   npx tsx bench/train-graph.ts [--threads 2] [--runs 5] [--batch 4] [--seq 256] [--loss kd|ce|kd+ce]
//                                [--chunks auto] [--fused-forward] [--no-fused-backward] [--onehot] [--profile [--nodes [--op NAME]]]
//
// The training graph uses buildTrainingGraph's default forward (standard ops; --fused-forward: ORT contrib
// ops incl. GroupQueryAttention); the forward-only reference is the inference default (contrib ops).

import { readFileSync, readdirSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { allTensorSpecs, buildSpec } from '../src/core/arch/index';
import { buildTrainingGraph } from '../src/core/distill/training-graph';
import type { LossKind } from '../src/core/distill/loss-graph';
import { buildForwardGraph } from '../src/core/model/forward-graph';
import { memoryWeights } from '../src/core/model/forward-weights';
import { specializeShapes } from '../src/core/onnx/autodiff/specialize';
import { serializeModel } from '../src/core/onnx/serialize';
import { opHistogram } from '../src/core/onnx/walk';
import { fixtureConfig, fixtureValues } from '../src/core/testing/fixtures';
import { BENCH_STUDENT } from '../src/core/testing/presets';
import { Rng } from '../src/core/util/random';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall ms and process CPU ms of one run (CPU time is steadier than wall time on a shared machine). */
async function timeRun(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await s.run(feeds);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

async function main(): Promise<void> {
  const threads = Number(arg('threads', '2'));
  const runs = Number(arg('runs', '5'));
  const B = Number(arg('batch', '4'));
  const T = Number(arg('seq', '256'));
  const loss = arg('loss', 'kd') as LossKind;
  const fusedTrain = flag('fused-forward');
  const spec = buildSpec(fixtureConfig(BENCH_STUDENT));
  const rng = new Rng(1);
  const feeds: Record<string, ort.Tensor> = {};
  let nParams = 0;
  for (const t of allTensorSpecs(spec)) {
    feeds[t.name] = new ort.Tensor('float32', fixtureValues(t, spec, rng), t.shape);
    nParams += t.shape.reduce((a, b) => a * b, 1);
  }
  const ids = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(spec.vocabSize)));
  feeds['input_ids'] = new ort.Tensor('int64', ids, [B, T]);
  const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  console.log(`bench student: ${(nParams / 1e6).toFixed(2)}M parameters, batch ${B} × ${T}, loss ${loss}, ${threads} thread(s), training forward ${fusedTrain ? 'contrib ops' : 'standard ops'}`);

  const t0 = performance.now();
  const tg = buildTrainingGraph(spec, {
    batch: B,
    seq: T,
    loss,
    chunks: arg('chunks', 'auto') === 'auto' ? 'auto' : Number(arg('chunks', 'auto')),
    ...(fusedTrain ? { forward: { fused: true } } : {}),
    autodiff: { fusedMatMul: !flag('no-fused-backward'), gatherGrad: flag('onehot') ? 'onehot' : 'scatternd' },
  });
  const model = tg.model();
  const buildMs = performance.now() - t0;
  console.log(`training graph: ${tg.graph.nodes.length} nodes, ${(model.byteLength / 1024).toFixed(0)} KiB, built in ${buildMs.toFixed(0)} ms`);
  console.log(`  ops: ${JSON.stringify(opHistogram(tg.graph))}`);

  const fwd = specializeShapes(buildForwardGraph(spec, memoryWeights(spec, new Map(), { asInput: () => true })), { input_ids: [B, T] });
  const fs = await ort.InferenceSession.create(serializeModel(fwd), opts);
  const fwdFeeds = Object.fromEntries(fs.inputNames.map((n) => [n, feeds[n]!]));
  if (tg.inputs.teacherLogits) feeds[tg.inputs.teacherLogits] = new ort.Tensor('float32', Float32Array.from({ length: B * T * spec.vocabSize }, () => 2 * rng.normal()), [B, T, spec.vocabSize]);
  if (tg.inputs.targets) feeds[tg.inputs.targets] = new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(spec.vocabSize))), [B, T]);
  const profDir = flag('profile') ? mkdtempSync(join(tmpdir(), 'hc-train-prof-')) : undefined;
  const ts = await ort.InferenceSession.create(model, { ...opts, ...(profDir ? { enableProfiling: true, profileFilePrefix: join(profDir, 'p') } : {}) });
  const trainFeeds = Object.fromEntries(ts.inputNames.map((n) => [n, feeds[n]!]));
  // Interleaved (forward, training, forward, …) so machine-load drift hits both alike.
  const fwdMs: number[] = [];
  const trainMs: number[] = [];
  const fwdCpu: number[] = [];
  const trainCpu: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const f1 = await timeRun(fs, fwdFeeds);
    const t1 = await timeRun(ts, trainFeeds);
    if (i > 0) {
      fwdMs.push(f1.wall);
      trainMs.push(t1.wall);
      fwdCpu.push(f1.cpu);
      trainCpu.push(t1.cpu);
    }
  }
  if (profDir) ts.endProfiling();
  await fs.release();
  await ts.release();

  const f = median(fwdMs);
  const t = median(trainMs);
  console.log(`forward only (inference graph): ${f.toFixed(0)} ms  (runs ${fwdMs.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`forward + backward:  ${t.toFixed(0)} ms  (runs ${trainMs.map((x) => x.toFixed(0)).join(' ')}) = ${(t / f).toFixed(2)} × forward`);
  console.log(`tokens/s (fwd+bwd):  ${((B * T) / (t / 1000)).toFixed(0)}`);
  const fc = median(fwdCpu);
  const tc = median(trainCpu);
  console.log(`CPU time (all threads): forward ${fc.toFixed(0)} ms, forward + backward ${tc.toFixed(0)} ms = ${(tc / fc).toFixed(2)} × forward`);

  if (profDir) {
    const file = readdirSync(profDir).find((x) => x.endsWith('.json'))!;
    const events = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string; input_type_shape?: unknown; output_type_shape?: unknown } }[];
    const byOp = new Map<string, number>();
    let total = 0;
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const op = e.args?.op_name ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
      total += e.dur;
    }
    console.log(`profile (${runs + 1} runs), share of kernel time by op:`);
    for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${op.padEnd(28)} ${((100 * us) / total).toFixed(1)}%  ${(us / 1000 / (runs + 1)).toFixed(1)} ms/run`);
    if (flag('nodes')) {
      // --op NAME: only that op's nodes, with their input and output shapes.
      const only = arg('op', '');
      const byNode = new Map<string, { us: number; shapes: string }>();
      for (const e of events) {
        if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || (only && e.args?.op_name !== only)) continue;
        const shapes = only ? ` ${JSON.stringify(e.args?.input_type_shape ?? [])} -> ${JSON.stringify(e.args?.output_type_shape ?? [])}` : '';
        byNode.set(e.name, { us: (byNode.get(e.name)?.us ?? 0) + e.dur, shapes });
      }
      console.log(`heaviest ${only ? `${only} ` : ''}nodes:`);
      for (const [n, { us, shapes }] of [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, 40)) {
        console.log(`  ${((100 * us) / total).toFixed(2)}%  ${(us / 1000 / (runs + 1)).toFixed(2)} ms/run  ${n.replace(/_kernel_time$/, '')}${shapes}`);
      }
    }
    rmSync(profDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
