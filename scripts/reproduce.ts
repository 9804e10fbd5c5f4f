// `npm run reproduce`: the Minitron-SSM paper's comparisons repeated at small scale on the bundled teacher,
// written to docs/RESULTS.md (generated; never edit it by hand).
//
//   npx tsx scripts/reproduce.ts            # the full run (~30–45 min on 2 CPU cores) → docs/RESULTS.md
//   npx tsx scripts/reproduce.ts --quick    # plumbing check in a few minutes → <work>/RESULTS.md
//
// Options: --teacher DIR (default examples/teacher), --work DIR (default .hybrid-compress/reproduce/<full|quick>),
// --out FILE, --threads N (ORT intra-op threads), --fresh (ignore measurements cached in <work>/cache.json),
// --render-only (rewrite the report from <work>/results.json, measuring nothing: after a change to report.ts;
// the report keeps naming the commit and source hash the measurements were taken with).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Lab, sourceHash } from './reproduce/lab';
import { runExperiments } from './reproduce/experiments';
import { renderReport } from './reproduce/report';
import { SETUP, type Meta, type Results } from './reproduce/results';
import { FULL, QUICK } from './reproduce/settings';

const root = resolve(__dirname, '..');
const usage = 'npx tsx scripts/reproduce.ts [--quick] [--teacher DIR] [--work DIR] [--out FILE] [--threads N] [--fresh | --render-only]';

function teacherDescription(spec: Lab['spec']): string {
  const parts = [`${spec.family}, pattern \`${spec.pattern}\``, `hidden ${spec.hiddenSize}`];
  if (spec.mamba) parts.push(`${spec.mamba.numHeads} Mamba heads × ${spec.mamba.headDim} channels in ${spec.mamba.nGroups} groups, state ${spec.mamba.stateSize}`);
  if (spec.mlp) parts.push(`FFN ${spec.mlp.intermediateSize}`);
  if (spec.attention) parts.push(`${spec.attention.numHeads} query / ${spec.attention.numKvHeads} KV attention heads of ${spec.attention.headDim}`);
  parts.push(`vocab ${spec.vocabSize}`);
  return parts.join(', ');
}

function unigramLoss(): number | undefined {
  const p = join(root, 'examples', 'data', 'stats.json');
  if (!existsSync(p)) return undefined;
  const s = JSON.parse(readFileSync(p, 'utf8')) as { tokenizer?: { unigram?: { withEos?: number } } };
  return s.tokenizer?.unigram?.withEos;
}

function ortVersion(): string {
  try {
    return (JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The git commit and whether the measuring code (src/, scripts/) differs from it; 'unknown' outside a git checkout. */
function gitState(): { commit: string; dirty: boolean } {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git('rev-parse', '--short', 'HEAD'), dirty: git('status', '--porcelain', '--', 'src', 'scripts').length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/** CPU seconds per wall second and the 1-minute load average over the measurements. */
function machineUsage(u: Lab['usage']): Meta['machine']['usage'] {
  if (u.wall === 0 || u.loads.length === 0) return undefined;
  const loads = [...u.loads].sort((x, y) => x - y);
  return { cpuPerWall: u.cpu / u.wall, loadMedian: loads[Math.floor(loads.length / 2)]!, loadMax: loads[loads.length - 1]! };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let values: { quick?: boolean; teacher?: string; work?: string; out?: string; threads?: string; fresh?: boolean; 'render-only'?: boolean; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: { quick: { type: 'boolean' }, teacher: { type: 'string' }, work: { type: 'string' }, out: { type: 'string' }, threads: { type: 'string' }, fresh: { type: 'boolean' }, 'render-only': { type: 'boolean' }, help: { type: 'boolean' } },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`reproduce: ${(e as Error).message}\nusage: ${usage}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const settings = values.quick ? QUICK : FULL;
  const bundled = join(root, 'examples', 'teacher');
  const teacher = resolve(values.teacher ?? bundled);
  const train = join(root, 'examples', 'data', 'train.txt');
  const val = join(root, 'examples', 'data', 'val.txt');
  for (const f of [join(teacher, 'config.json'), train, val]) {
    if (!existsSync(f)) {
      process.stderr.write(`reproduce: ${f} is missing${f.startsWith(bundled) ? ' — the bundled teacher is built by `npx tsx scripts/build-teacher.ts train && npx tsx scripts/build-teacher.ts card`; or pass --teacher DIR' : ''}\n`);
      return 2;
    }
  }
  let threads: number | undefined;
  if (values.threads !== undefined) {
    threads = Number(values.threads);
    if (!Number.isInteger(threads) || threads < 0) {
      process.stderr.write(`reproduce: --threads must be a non-negative integer (0 = ONNX Runtime's default), got ${JSON.stringify(values.threads)}\n`);
      return 2;
    }
  }
  const work = resolve(values.work ?? join(root, '.hybrid-compress', 'reproduce', settings.quick ? 'quick' : 'full'));
  // Only a full run on the bundled teacher may replace the committed docs/RESULTS.md.
  const out = resolve(values.out ?? (!settings.quick && teacher === bundled ? join(root, 'docs', 'RESULTS.md') : join(work, 'RESULTS.md')));

  if (values['render-only']) {
    if (values.fresh) {
      process.stderr.write(`reproduce: --render-only measures nothing, so --fresh has no meaning with it\nusage: ${usage}\n`);
      return 2;
    }
    const saved = join(work, 'results.json');
    if (!existsSync(saved)) {
      process.stderr.write(`reproduce: ${saved} is missing — run without --render-only first to measure\n`);
      return 2;
    }
    const results = JSON.parse(readFileSync(saved, 'utf8')) as Results;
    if (results.meta.quick !== settings.quick) {
      process.stderr.write(`reproduce: ${saved} holds a ${results.meta.quick ? '--quick' : 'full'} run; pass${results.meta.quick ? '' : ' no'} --quick to render it\n`);
      return 2;
    }
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, renderReport(results));
    process.stderr.write(`reproduce: wrote ${out} from ${saved} (measured at commit ${results.meta.code.commit}, source hash ${results.meta.code.hash})\n`);
    return 0;
  }

  const t0 = performance.now();
  const stamp = () => `[${((performance.now() - t0) / 1000).toFixed(0).padStart(5)} s]`;
  const log = (line: string) => process.stderr.write(`${stamp()} ${line}\n`);
  log(`reproduce${settings.quick ? ' --quick' : ''}: teacher ${teacher}, work ${work}`);
  const code = { ...gitState(), hash: sourceHash([join(root, 'src'), join(root, 'scripts', 'reproduce'), join(root, 'scripts', 'reproduce.ts')]) };
  const lab = await Lab.open({ teacher, train, val, work, settings, fresh: values.fresh === true, threads, code: code.hash, log });
  lab.section(SETUP);
  const cal = await lab.calibrate();
  const measured = await runExperiments(lab);
  const totalSeconds = [...lab.seconds.values()].reduce((a, b) => a + b, 0);

  const rel = (p: string) => relative(root, p) || p;
  const meta: Meta = {
    command: `npm run reproduce${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    date: new Date().toISOString().slice(0, 10),
    teacher: rel(teacher),
    teacherDesc: teacherDescription(lab.spec),
    teacherParams: lab.spec.params.total,
    fingerprint: lab.fingerprint,
    code,
    data: { train: rel(train), val: rel(val) },
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
      cores: cpus().length,
      threads: threads === undefined || threads === 0 ? "ONNX Runtime's default intra-op threads (one per physical core)" : `${threads} intra-op threads`,
      node: process.versions.node,
      ort: ortVersion(),
      usage: machineUsage(lab.usage),
    },
    quick: settings.quick,
    settings,
    calibration: { rows: cal.rows, tokens: cal.tokens, depthRows: Math.min(settings.calibration.depthSamples, cal.rows), seconds: cal.seconds },
    totalSeconds,
    sectionSeconds: Object.fromEntries(lab.seconds),
    reused: lab.reused,
    measured: lab.measured,
    unigramLoss: unigramLoss(),
  };
  const results: Results = { meta, ...measured };
  writeFileSync(join(work, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, renderReport(results));
  log(`wrote ${out} (${lab.measured} measurements now, ${lab.reused} reused; ${((performance.now() - t0) / 60000).toFixed(1)} min)`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`reproduce failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
