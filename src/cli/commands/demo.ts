// `hybrid-compress demo`: the whole recipe on the bundled teacher, with progress bars throughout —
// inspect → calibrate → prune to ~50 % (group-aware) → distill → evaluate teacher, pruned and distilled on
// the held-out split → a table, demo-report.md and a loss-curve SVG.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command, CommandContext } from '../command';
import { optInt, optString, parseCommandArgs } from '../args';
import { createProgressRenderer, type ProgressRenderer } from '../progress';
import { HybridCompressError } from '../../core/errors';
import { runJob } from '../../core/jobs/index';
import { openCheckpoint } from '../../core/checkpoint/checkpoint';
import { describeCheckpoint, formatInspectReport } from '../../core/checkpoint/describe';
import { CALIBRATION_DEFAULTS, type CalibrationSettings } from '../../core/calibrate/settings';
import { launchCalibration } from '../../core/calibrate/launch';
import { launchTraining } from '../../core/distill/launch';
import type { PruneJobParams } from '../../core/prune/job-params';
import type { PruneReport } from '../../core/prune/prune-job';
import { trainSettings } from '../../core/distill/settings';
import type { EvalReport } from '../../core/eval/lm-eval';
import { lineChartSvg } from '../../core/demo/svg-plot';
import { METRICS_FILE } from '../../core/runs/layout';

const usage = 'hybrid-compress demo [--teacher DIR] [--data-dir DIR] [--out DIR] [--steps 600] [--threads N] [--json]';

/** The project root (holds examples/), from the bundle (dist/) or the sources (src/cli/commands/). */
export function packageRoot(): string {
  let d = __dirname;
  for (let i = 0; i < 6; i++) {
    const p = join(d, 'package.json');
    if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'hybrid-compress') return d;
    d = dirname(d);
  }
  return process.cwd();
}

interface Row {
  name: string;
  params: number;
  loss: number;
  ppl: number;
  tps: number;
}

async function stage<T>(r: ProgressRenderer, title: string, fn: () => Promise<T>): Promise<T> {
  r.print(`\n== ${title}`);
  return fn();
}

export const demoCommand: Command = {
  name: 'demo',
  usage,
  async run(ctx: CommandContext) {
    const { values } = parseCommandArgs(ctx.argv, { teacher: { type: 'string' }, 'data-dir': { type: 'string' }, out: { type: 'string' }, steps: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' } }, usage);
    const root = packageRoot();
    const teacher = resolve(optString(values, 'teacher') ?? join(root, 'examples', 'teacher'));
    const dataDir = resolve(optString(values, 'data-dir') ?? join(root, 'examples', 'data'));
    const out = resolve(ctx.cwd, optString(values, 'out') ?? join('.hybrid-compress', 'demo'));
    const steps = optInt(values, 'steps', 600, { min: 1 });
    const threads = values['threads'] === undefined ? undefined : optInt(values, 'threads', 0, { min: 0 });
    const train = join(dataDir, 'train.txt');
    const val = join(dataDir, 'val.txt');
    for (const f of [join(teacher, 'config.json'), train, val]) if (!existsSync(f)) throw new HybridCompressError('CHECKPOINT_INVALID', `demo: ${f} is missing (the bundled teacher and data live in examples/)`, { file: f });
    mkdirSync(out, { recursive: true });
    const r = createProgressRenderer(ctx, { json: values['json'] === true });
    const t0 = performance.now();
    try {
      // 1. inspect
      const ckpt = await openCheckpoint(teacher);
      const report = describeCheckpoint(ckpt);
      const spec = ckpt.spec;
      await ckpt.close();
      await stage(r, 'inspect the bundled teacher', async () => r.print(formatInspectReport(report)));

      // 2. calibrate (reused when the same teacher, data and settings were calibrated before)
      const cs: CalibrationSettings = { ...CALIBRATION_DEFAULTS, model: teacher, data: train, samples: 64, seqLen: 256, batch: 8, shuffle: true, seed: 1, depth: 'bi', device: 'cpu', threads };
      const cal = await stage(r, `calibrate on ${cs.samples} training rows × ${cs.seqLen} tokens`, async () => {
        const l = await launchCalibration(ctx.cwd, cs, { out: join(out, 'calibration') }, { ...r.handlers, signal: ctx.signal });
        if (l.action === 'reuse') r.print(`reusing ${l.run.dir} (same teacher, data and settings)`);
        return l.run.dir;
      });

      // 3. prune to about half the parameters with the group-aware recipe
      const m = spec.mamba!;
      const targets = {
        hiddenSize: Math.max(32, Math.round((spec.hiddenSize * 0.75) / 32) * 32),
        mambaNumHeads: Math.max(m.nGroups, Math.round(m.numHeads / 2 / m.nGroups) * m.nGroups),
        ffnHiddenSize: spec.mlp ? Math.max(32, Math.round(spec.mlp.intermediateSize / 2 / 32) * 32) : undefined,
      };
      const pruned = join(out, 'pruned');
      const pr = await stage(r, `prune: hidden ${spec.hiddenSize}→${targets.hiddenSize}, Mamba heads ${m.numHeads}→${targets.mambaNumHeads} (within ${m.nGroups} groups), FFN ${spec.mlp?.intermediateSize}→${targets.ffnHiddenSize}`, () =>
        runJob<PruneReport>('prune', { model: teacher, importance: cal, out: pruned, targets, force: true, verify: false, mambaHeadRanking: 'group', metric: 'activation', device: 'cpu' } satisfies PruneJobParams, { ...r.handlers, signal: ctx.signal }),
      );
      r.print(`pruned: ${pr.pruned.params.toLocaleString('en-US')} parameters (${((100 * pr.pruned.params) / spec.params.total).toFixed(1)}% of ${spec.params.total.toLocaleString('en-US')})`);

      // 4. distill from the teacher
      const ts = trainSettings('distill', {
        student: pruned,
        teacher,
        data: train,
        evalData: val,
        out: join(out, 'distill'),
        steps,
        batch: 4,
        seqLen: 128,
        seed: 1,
        lr: 2e-3,
        minLr: 2e-4,
        warmupSteps: Math.min(30, Math.floor(steps / 10)),
        evalEvery: Math.max(1, Math.floor(steps / 6)),
        evalSamples: 32,
        saveEvery: Math.max(1, Math.floor(steps / 3)),
        device: 'cpu',
        threads,
      });
      rmSync(ts.out, { recursive: true, force: true });
      const dist = await stage(r, `distill ${steps} steps (forward KL from the teacher)`, async () => (await launchTraining(ctx.cwd, 'distill', ts, { ...r.handlers, signal: ctx.signal })).result);

      // 5. evaluate on the held-out split
      const rows: Row[] = [];
      for (const [name, model] of [
        ['teacher', teacher],
        ['pruned (no retraining)', pruned],
        ['pruned + distilled', dist.final],
      ] as const) {
        const ev = await stage(r, `evaluate ${name} on the held-out split`, () =>
          runJob<EvalReport>('eval', { model, data: val, samples: 64, seqLen: 256, batch: 4, packing: 'concat', device: 'cpu', threads }, { ...r.handlers, signal: ctx.signal }),
        );
        rows.push({ name, params: ev.params, loss: ev.loss, ppl: ev.perplexity, tps: ev.tokensPerS });
      }
      r.finish();

      // 6. report
      const base = rows[0]!;
      const table = [
        '| model | parameters | val loss (nats/token) | perplexity | tokens/s | speedup |',
        '|---|---:|---:|---:|---:|---:|',
        ...rows.map((x) => `| ${x.name} | ${x.params.toLocaleString('en-US')} | ${x.loss.toFixed(4)} | ${x.ppl.toFixed(2)} | ${x.tps.toFixed(0)} | ${(x.tps / base.tps).toFixed(2)}× |`),
      ].join('\n');
      const metrics = readFileSync(join(ts.out, METRICS_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l.replace(/\bNaN\b/g, 'null')) as Record<string, number>);
      const svg = lineChartSvg(
        [
          { name: 'KD loss (train)', color: '#1f77b4', points: metrics.filter((p) => p['kd_loss'] !== undefined).map((p) => ({ x: p['step']!, y: p['kd_loss']! })) },
          { name: 'CE loss (held-out)', color: '#d62728', points: metrics.filter((p) => p['val_loss'] !== undefined).map((p) => ({ x: p['step']!, y: p['val_loss']! })) },
        ],
        { title: 'Distillation of the pruned student', xLabel: 'step', yLabel: 'nats/token' },
      );
      writeFileSync(join(out, 'loss-curve.svg'), svg);
      const seconds = (performance.now() - t0) / 1000;
      const md = [
        '# Hybrid Compress demo',
        '',
        `Teacher \`${relative(ctx.cwd, teacher) || teacher}\` (${report.pattern}, ${spec.params.total.toLocaleString('en-US')} parameters) → group-aware pruning to ${((100 * pr.pruned.params) / spec.params.total).toFixed(1)}% of its parameters → ${steps} steps of forward-KL distillation (batch 4 × 128 tokens). Evaluated on the held-out split \`${relative(ctx.cwd, val) || val}\` (64 rows × 256 tokens), CPU.`,
        '',
        table,
        '',
        `Prune: ${JSON.stringify(pr.config_changes)}. Calibration: \`${relative(ctx.cwd, cal)}\`. Distillation run: \`${relative(ctx.cwd, ts.out)}\` (${dist.msPerStep.toFixed(0)} ms/step).`,
        '',
        '![loss curve](loss-curve.svg)',
        '',
        `Total time ${seconds.toFixed(0)} s.`,
        '',
      ].join('\n');
      writeFileSync(join(out, 'demo-report.md'), md);
      if (values['json']) ctx.stdout.write(JSON.stringify({ event: 'result', rows, report: join(out, 'demo-report.md'), seconds }) + '\n');
      else ctx.stdout.write(`\n${table}\n\nreport: ${join(out, 'demo-report.md')}\nplot:   ${join(out, 'loss-curve.svg')}\ntotal:  ${seconds.toFixed(0)} s\n`);
      return 0;
    } catch (e) {
      r.finish();
      throw e;
    }
  },
};
