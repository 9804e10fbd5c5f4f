// Calibration throughput on the 13.8M-parameter nemotron_h bench fixture with the bundled
// tokenizer and examples/data/train.txt: 64 rows × 256 tokens, batch 8, --depth bi, as
//   hybrid-compress calibrate b --data examples/data/train.txt --samples 64 --seq-len 256 --batch 8 --depth bi
// runs it. Both reduction paths in the same process, alternating:
//   graph  ORT reduces each row over its tokens and returns [batch, width] statistics (the default);
//   js     ORT returns the full [batch, seq, width] taps and JS reduces them (the original path).
// Prints tokens/s with the forward / aggregation split per run, the plain forward (in-graph loss, no taps)
// on the same batches for reference, and the largest difference between the two importance files.
//
// Run: npx tsx bench/calibrate.ts [--threads N] [--repeat N] [--samples 64] [--seq-len 256] [--batch 8]
//                                 [--mode whole|streamed] [--paths graph,js]

import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_FIXTURE } from '../src/core/testing/presets';
import { writeFixtureCheckpoint } from '../src/core/testing/fixtures';
import { runCalibration, CALIBRATION_DEFAULTS, type CalibrationResult, type CalibrationSettings } from '../src/core/calibrate/calibrate';
import { openModelDataset } from '../src/core/eval/model-data';
import { ForwardRunner } from '../src/core/runtime/forward-runner';
import { SafetensorsFile } from '../src/core/safetensors/reader';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function readAll(path: string): Promise<Map<string, Float32Array>> {
  const f = SafetensorsFile.open(path);
  try {
    const out = new Map<string, Float32Array>();
    for (const n of f.names) out.set(n, await f.readFloat32(n));
    return out;
  } finally {
    await f.close();
  }
}

/** Largest relative difference over all scores (relative to max(|b|, 1e-3·max|b| of the tensor)). */
function maxRelDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): { rel: number; name: string } {
  let worst = { rel: 0, name: '' };
  for (const [name, x] of a) {
    const y = b.get(name);
    if (!y) return { rel: Infinity, name };
    let scale = 0;
    for (const v of y) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < x.length; i++) {
      const rel = Math.abs(x[i]! - y[i]!) / Math.max(Math.abs(y[i]!), 1e-3 * scale, 1e-30);
      if (rel > worst.rel) worst = { rel, name: `${name}[${i}]` };
    }
  }
  return worst;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const threads = Number(arg('threads', String(availableParallelism())));
  const repeat = Number(arg('repeat', '2'));
  const paths = arg('paths', 'graph,js').split(',') as ('graph' | 'js')[];
  const dir = mkdtempSync(join(tmpdir(), 'hc-bench-cal-'));
  try {
    const fx = await writeFixtureCheckpoint(join(dir, 'model'), BENCH_FIXTURE);
    const tokDir = resolve('examples/tokenizer');
    for (const f of readdirSync(tokDir)) copyFileSync(join(tokDir, f), join(fx.dir, f));
    const s: CalibrationSettings = {
      ...CALIBRATION_DEFAULTS,
      model: fx.dir,
      data: resolve('examples/data/train.txt'),
      samples: Number(arg('samples', '64')),
      seqLen: Number(arg('seq-len', '256')),
      batch: Number(arg('batch', '8')),
      depth: 'bi',
      device: 'cpu',
      threads,
      mode: arg('mode', 'whole') as 'whole' | 'streamed',
    };
    console.log(`model: nemotron_h ${fx.spec.pattern} (bench fixture), ${s.samples} rows × ${s.seqLen} tokens, batch ${s.batch}, depth bi, ${s.mode}, ${threads} thread(s)`);
    console.log(`load average at start: ${load()} (${availableParallelism()} CPUs)`);

    // Reference: the plain forward (in-graph next-token loss, nothing else copied out) on the same batches.
    const plain = await ForwardRunner.create(fx.dir, { mode: 'whole', device: 'cpu', threads, logits: false, nll: true });
    const ds = await openModelDataset(fx.dir, fx.spec, s);
    let plainS = 0;
    let plainTokens = 0;
    for (let pass = 0; pass < 2; pass++) {
      plainS = 0;
      plainTokens = 0;
      for await (const b of ds.batches()) {
        const labels = new BigInt64Array(b.ids.length); // any valid ids: only the cost matters here
        const t0 = performance.now();
        await plain.run(b.ids, b.batch, b.seq, { labels });
        plainS += (performance.now() - t0) / 1000;
        plainTokens += b.batch * b.seq;
      }
    }
    await ds.close();
    await plain.release();
    console.log(`plain forward (in-graph loss, second pass): ${plainS.toFixed(2)} s → ${(plainTokens / plainS).toFixed(0)} tokens/s`);

    const results: Record<string, CalibrationResult[]> = { graph: [], js: [] };
    let k = 0;
    for (let r = 0; r < repeat; r++) {
      for (const p of paths) {
        const c0 = process.cpuUsage();
        const res = await runCalibration(s, join(dir, `run-${k++}-${p}`), `bench-${p}-${r}`, { reduce: p });
        const c = process.cpuUsage(c0);
        results[p]!.push(res);
        const t = res.timings;
        // Process CPU time (all threads, setup included) is less sensitive than wall time to other jobs on
        // a shared machine, though ORT's spin-waiting threads add to it.
        console.log(
          `${p.padEnd(5)} run ${r + 1}: ${res.tokens} tokens, forward ${t.forward_s.toFixed(2)} s + aggregation ${t.aggregation_s.toFixed(3)} s → ${res.tokensPerS.toFixed(0)} tokens/s (total with setup ${t.total_s.toFixed(2)} s, CPU ${((c.user + c.system) / 1e6).toFixed(1)} s; load ${load()})`,
        );
      }
    }
    const best = (p: string) => results[p]!.reduce((a, b) => (b.tokensPerS > a.tokensPerS ? b : a));
    if (results.graph!.length > 0 && results.js!.length > 0) {
      const g = best('graph');
      const j = best('js');
      console.log(`best of ${repeat}: graph ${g.tokensPerS.toFixed(0)} tokens/s vs js ${j.tokensPerS.toFixed(0)} tokens/s → ${(g.tokensPerS / j.tokensPerS).toFixed(2)}×; plain forward ${(plainTokens / plainS).toFixed(0)} tokens/s`);
      const d = maxRelDiff(await readAll(g.importance), await readAll(j.importance));
      console.log(`importance files, graph vs js: largest relative difference ${d.rel.toExponential(2)} (${d.name})`);
    }
    console.log(`load average at end: ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
