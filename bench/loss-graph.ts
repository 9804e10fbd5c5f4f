// Loss-graph memory/time bench : the KD(+CE) loss with its logits gradient on ORT CPU for
// a large vocabulary, unchunked vs split into row chunks. Each configuration runs in a fresh process and
// reports its peak resident memory (VmHWM) and the ms per run, so the chunking's effect on the
// [rows, V] temporaries shows directly.
//
// --head D measures the training graph's form instead: the LM head fused into the loss (hidden [rows, D]
// and W [V, D] in, d hidden and d W out), where chunking removes the [rows, V] logits and their gradient.
//
//   npx tsx bench/loss-graph.ts [--vocab 32768] [--batch 4] [--seq 256] [--loss kd+ce] [--chunks 1,4,16]
//                               [--head 512] [--threads 2]

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { buildHeadLossGraph, buildLossGraph, type LossKind } from '../src/core/distill/loss-graph';
import { serializeModel } from '../src/core/onnx/serialize';
import { Rng } from '../src/core/util/random';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function child(): Promise<void> {
  const V = Number(arg('vocab', '32768'));
  const B = Number(arg('batch', '4'));
  const T = Number(arg('seq', '256'));
  const loss = arg('loss', 'kd+ce') as LossKind;
  const chunks = Number(arg('one', '1'));
  const threads = Number(arg('threads', '2'));
  const rng = new Rng(1);
  const D = Number(arg('head', '0'));
  const n = B * T * V;
  const teacher = new Float32Array(n);
  for (let i = 0; i < n; i++) teacher[i] = rng.normal();
  const feeds: Record<string, ort.Tensor> = {};
  if (D > 0) {
    feeds['hidden'] = new ort.Tensor('float32', Float32Array.from({ length: B * T * D }, () => rng.normal()), [B * T, D]);
    feeds['weight'] = new ort.Tensor('float32', Float32Array.from({ length: V * D }, () => rng.normal() / Math.sqrt(D)), [V, D]);
  } else {
    const logits = new Float32Array(n);
    for (let i = 0; i < n; i++) logits[i] = rng.normal();
    feeds['logits'] = new ort.Tensor('float32', logits, [B, T, V]);
  }
  const targets = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(V)));
  const before = peakRssMiB();
  const graph = D > 0 ? buildHeadLossGraph(B, T, D, V, { loss, chunks }) : buildLossGraph(B, T, V, { loss, chunks });
  const s = await ort.InferenceSession.create(serializeModel(graph), { intraOpNumThreads: threads, logSeverityLevel: 3, ...(process.env.NOARENA ? { enableCpuMemArena: false } : {}), ...(process.env.NOPATTERN ? { enableMemPattern: false } : {}) });
  if (loss !== 'ce') feeds['teacher_logits'] = new ort.Tensor('float32', teacher, [B, T, V]);
  if (loss !== 'kd') feeds['targets'] = new ort.Tensor('int64', targets, [B, T]);
  const ms: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    ms.push(performance.now() - t0);
  }
  const med = [...ms.slice(1)].sort((a, b) => a - b)[1]!;
  console.log(JSON.stringify({ chunks, ms: med, peakMiB: peakRssMiB(), inputsMiB: before, bufferMiB: (n * 4) / 2 ** 20 }));
}

function parent(): void {
  const list = arg('chunks', '1,4,16').split(',').map(Number);
  const pass = process.argv.slice(2).filter((a, i, all) => a !== '--chunks' && all[i - 1] !== '--chunks');
  console.log(`${Number(arg('head', '0')) > 0 ? `fused LM head (D ${arg('head', '0')}) + ` : ''}loss ${arg('loss', 'kd+ce')}, vocab ${arg('vocab', '32768')}, batch ${arg('batch', '4')} × ${arg('seq', '256')}; one [rows, V] float32 buffer = ${((Number(arg('batch', '4')) * Number(arg('seq', '256')) * Number(arg('vocab', '32768')) * 4) / 2 ** 20).toFixed(0)} MiB`);
  for (const c of list) {
    const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, ...pass, '--child', '--one', String(c)], { encoding: 'utf8' });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      const j = JSON.parse(line) as { chunks: number; ms: number; peakMiB: number; inputsMiB: number; bufferMiB: number };
      console.log(`chunks ${String(j.chunks).padStart(3)}: ${j.ms.toFixed(0).padStart(5)} ms/run, peak RSS ${j.peakMiB.toFixed(0)} MiB (${(j.peakMiB - j.inputsMiB).toFixed(0)} MiB above the fed inputs, = ${((j.peakMiB - j.inputsMiB) / j.bufferMiB).toFixed(1)} buffers)`);
    } catch {
      console.log(`chunks ${c}: failed\n${r.stderr}`);
    }
  }
}

if (process.argv.includes('--child')) child().catch((e) => (console.error(e), process.exit(1)));
else parent();
