import { existsSync, readFileSync } from 'node:fs';
import { writeFixtureCheckpoint } from '/work/main/src/core/testing/fixtures';
import { BENCH_FIXTURE } from '/work/main/src/core/testing/presets';
import { ForwardRunner } from '/work/main/src/core/runtime/forward-runner';
import { Rng } from '/work/main/src/core/util/random';
const mem = () => { const s = readFileSync('/proc/self/status', 'utf8'); const g = (k: string) => Number(/\s(\d+) kB/.exec(s.split('\n').find((l) => l.startsWith(k))!)![1]) / 1024; return `anon ${g('RssAnon').toFixed(0)} MiB, file ${g('RssFile').toFixed(0)} MiB`; };
async function main() {
  const dir = '/tmp/exp/bench-model';
  if (!existsSync(dir + '/model.safetensors')) await writeFixtureCheckpoint(dir, BENCH_FIXTURE);
  const prepacking = process.argv[2] !== 'off';
  const mode = (process.argv[3] ?? 'whole') as 'whole' | 'streamed';
  console.log('before', mem());
  const t0 = performance.now();
  const r = await ForwardRunner.create(dir, { threads: 1, prepacking, device: 'cpu', mode });
  console.log(`prepacking ${prepacking} ${mode}: create ${(performance.now() - t0).toFixed(0)} ms;`, mem());
  const rng = new Rng(42);
  const ids = BigInt64Array.from({ length: 2048 }, () => BigInt(rng.int(4096)));
  const ts = [];
  for (let i = 0; i < 5; i++) { const c0 = process.cpuUsage(); await r.run(ids, 4, 512); const c = process.cpuUsage(c0); ts.push((c.user + c.system) / 1000); }
  console.log(`  cpu ms per run: ${ts.map((x) => x.toFixed(0)).join(' ')};`, mem());
  await r.release();
}
main();
