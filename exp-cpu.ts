// CPU-time bench of the forward graph at 1 thread (robust to a loaded machine).
import { existsSync } from 'node:fs';
import { writeFixtureCheckpoint } from '/work/main/src/core/testing/fixtures';
import { BENCH_FIXTURE } from '/work/main/src/core/testing/presets';
import { ForwardRunner } from '/work/main/src/core/runtime/forward-runner';
import { Rng } from '/work/main/src/core/util/random';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function main() {
  const dir = '/tmp/exp/bench-model';
  if (!existsSync(dir + '/model.safetensors')) await writeFixtureCheckpoint(dir, BENCH_FIXTURE);
  const chunk = Number(process.argv[2] ?? 64);
  const fused = process.argv[3] !== 'unfused';
  const threads = Number(process.argv[4] ?? 1);
  const r = await ForwardRunner.create(dir, { threads, chunkSize: chunk, fused, device: 'cpu' });
  const rng = new Rng(42);
  const ids = BigInt64Array.from({ length: 2048 }, () => BigInt(rng.int(4096)));
  await r.run(ids, 4, 512); await r.run(ids, 4, 512);
  const cpu: number[] = []; const wall: number[] = [];
  for (let i = 0; i < 5; i++) {
    const c0 = process.cpuUsage(); const t0 = performance.now();
    await r.run(ids, 4, 512);
    const c = process.cpuUsage(c0); wall.push(performance.now() - t0); cpu.push((c.user + c.system) / 1000);
  }
  console.log(`chunk ${chunk} ${fused ? 'fused' : 'unfused'} threads ${threads}: cpu ${median(cpu).toFixed(0)} ms (min ${Math.min(...cpu).toFixed(0)}), wall ${median(wall).toFixed(0)} ms`);
  await r.release();
}
main();
