// Bench: `hybrid-compress inspect` on a sparse, sharded Nemotron-H-8B-shaped checkpoint.
// Prints the median wall time and peak RSS of `node dist/cli.js inspect <dir>` next to an anchor
// measured in the same run (`node -e 0`), against the targets < 200 ms and < 100 MB.
//
//   npx tsx bench/inspect.ts [--runs N]
//
// Builds dist/cli.js first (npm run build) when it is missing or older than the sources.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../src/core/testing/fixtures';
import { NEMOTRON_H_8B, NEMOTRON_H_8B_PARAMS } from '../src/core/testing/nemotron-h-8b';
import { BUILT_CLI, builtCliIsFresh, REPO_ROOT } from '../test/cli/built-cli';

const TARGET_MS = 200;
const TARGET_MB = 100;
const TIME = '/usr/bin/time';

function argRuns(): number {
  const i = process.argv.indexOf('--runs');
  const n = i >= 0 ? Number(process.argv[i + 1]) : 15;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--runs must be a positive integer, got ${process.argv[i + 1]}`);
  return n;
}

function ensureBuilt(): void {
  if (builtCliIsFresh()) return;
  console.log(`${existsSync(BUILT_CLI) ? 'dist/cli.js is older than src/' : 'dist/cli.js is missing'}: running npm run build …`);
  const r = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    if (!existsSync(BUILT_CLI)) throw new Error('npm run build failed and there is no dist/cli.js to measure');
    console.log('warning: the build failed; measuring the existing (older) dist/cli.js');
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Wall time of one run, in ms; throws if the command fails. */
function wallMs(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr?.toString()}`);
  return ms;
}

/**
 * Peak RSS of one run, in MB: from `/usr/bin/time -v` when present, else from
 * process.resourceUsage().maxRSS reported by a preloaded hook inside the child.
 */
function peakRssMb(args: string[], hookDir: string): number {
  if (existsSync(TIME)) {
    const r = spawnSync(TIME, ['-v', process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr.toString());
    if (r.status !== 0 || !m) throw new Error(`${TIME} -v failed: ${r.stderr.toString()}`);
    return Number(m[1]) / 1024;
  }
  const hook = join(hookDir, 'rss-hook.cjs');
  const out = join(hookDir, 'rss.txt');
  if (!existsSync(hook)) writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));\n`);
  const r = spawnSync(process.execPath, ['--require', hook, ...args], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return Number(readFileSync(out, 'utf8')) / 1024;
}

async function main(): Promise<void> {
  const runs = argRuns();
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'hc-bench-inspect-'));
  try {
    const model = join(dir, 'nemotron-h-8b');
    await writeFixtureCheckpoint(model, { ...NEMOTRON_H_8B, sparse: true });
    const files = readdirSync(model).filter((f) => f.endsWith('.safetensors'));
    const apparent = files.reduce((s, f) => s + statSync(join(model, f)).size, 0);
    const blocks = files.reduce((s, f) => s + statSync(join(model, f)).blocks * 512, 0);

    // The figure the issue asks for, checked before timing anything.
    const j = spawnSync(process.execPath, [BUILT_CLI, 'inspect', model, '--json'], { encoding: 'utf8' });
    if (j.status !== 0) throw new Error(`inspect failed: ${j.stderr}`);
    const total = (JSON.parse(j.stdout) as { params: { total: number } }).params.total;

    const inspectArgs = [BUILT_CLI, 'inspect', model];
    const anchorArgs = ['-e', '0'];
    for (let i = 0; i < 2; i++) {
      wallMs(inspectArgs);
      wallMs(anchorArgs);
    }
    const wall = { inspect: [] as number[], anchor: [] as number[] };
    const rss = { inspect: [] as number[], anchor: [] as number[] };
    // Interleaved so that machine noise hits both alike.
    for (let i = 0; i < runs; i++) {
      wall.inspect.push(wallMs(inspectArgs));
      wall.anchor.push(wallMs(anchorArgs));
      rss.inspect.push(peakRssMb(inspectArgs, dir));
      rss.anchor.push(peakRssMb(anchorArgs, dir));
    }

    const ms = median(wall.inspect);
    const mb = Math.max(...rss.inspect);
    const f1 = (x: number) => x.toFixed(1);
    console.log(`fixture: ${files.length} sparse shards, ${(apparent / 1e9).toFixed(2)} GB apparent, ${(blocks / 1e6).toFixed(2)} MB on disk`);
    console.log(`inspect total parameters: ${total.toLocaleString('en-US')} (${total === NEMOTRON_H_8B_PARAMS ? 'exact' : `WRONG, expected ${NEMOTRON_H_8B_PARAMS.toLocaleString('en-US')}`})`);
    console.log(`runs: ${runs} (after 2 warm-ups), node ${process.version}, RSS via ${existsSync(TIME) ? `${TIME} -v` : 'process.resourceUsage() in the child'}`);
    console.log('');
    console.log('                         median wall ms   min wall ms   peak RSS MB (max)   median RSS MB');
    const row = (name: string, w: number[], r: number[]) =>
      console.log(`${name.padEnd(24)} ${f1(median(w)).padStart(14)}   ${f1(Math.min(...w)).padStart(11)}   ${f1(Math.max(...r)).padStart(17)}   ${f1(median(r)).padStart(13)}`);
    row('inspect (dist/cli.js)', wall.inspect, rss.inspect);
    row('anchor: node -e 0', wall.anchor, rss.anchor);
    row('inspect − anchor', [ms - median(wall.anchor)], [mb - Math.max(...rss.anchor)]);
    console.log('');
    console.log(`target wall < ${TARGET_MS} ms: ${ms < TARGET_MS ? 'met' : 'MISSED'} (${f1(ms)} ms)`);
    console.log(`target RSS  < ${TARGET_MB} MB: ${mb < TARGET_MB ? 'met' : 'MISSED'} (${f1(mb)} MB)`);
    if (total !== NEMOTRON_H_8B_PARAMS) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
