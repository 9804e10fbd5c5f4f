// `hybrid-compress demo`: the whole recipe on the bundled teacher, with progress bars throughout —
// inspect → calibrate → prune to ~50 % (group-aware) → distill → evaluate teacher, pruned and distilled on
// the held-out split → a table, demo-report.md and a loss-curve SVG.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Command, CommandContext } from '../command';
import { createProgressRenderer } from '../progress';
import { HybridCompressError } from '../../core/errors';
import { openCheckpoint } from '../../core/checkpoint/checkpoint';
import { describeCheckpoint, formatInspectReport } from '../../core/checkpoint/describe';
import { CALIBRATION_DEFAULTS } from '../../core/calibrate/settings';
import { trainSettings } from '../../core/distill/settings';
import { lineChartSvg } from '../../core/demo/svg-plot';
import { METRICS_FILE } from '../../core/runs/layout';
import { runCompressPipeline, workerStages } from '../../core/pipeline/pipeline';
import { DEMO_SCHEMA } from '../../core/pipeline/demo-options';
import { parseArgv, usageOf } from '../../core/util/option-schema';

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

/** A stage's header: the previous job's last progress line first, so the output stays in order. */
function stage(r: ReturnType<typeof createProgressRenderer>, title: string): void {
  r.endPhase();
  r.print(`\n== ${title}`);
}

interface Row {
  name: string;
  params: number;
  loss: number;
  ppl: number;
  tps: number;
}

export const demoCommand: Command = {
  name: 'demo',
  usage: usageOf(DEMO_SCHEMA),
  schema: DEMO_SCHEMA,
  async run(ctx: CommandContext) {
    const values = parseArgv(DEMO_SCHEMA, ctx.argv, ctx.cwd);
    const root = packageRoot();
    const teacher = (values['teacher'] as string | undefined) ?? join(root, 'examples', 'teacher');
    const dataDir = (values['dataDir'] as string | undefined) ?? join(root, 'examples', 'data');
    const out = (values['out'] as string | undefined) ?? join(ctx.cwd, '.hybrid-compress', 'demo');
    const steps = values['steps'] as number;
    const threads = values['threads'] as number | undefined;
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
      stage(r, 'inspect the bundled teacher');
      r.print(formatInspectReport(report));

      // 2-5. calibrate (reused when the same teacher, data and settings were calibrated before) → prune to about
      // half the parameters with the group-aware recipe → distill from the teacher → evaluate on the held-out split.
      const m = spec.mamba!;
      const targets = {
        hiddenSize: Math.max(32, Math.round((spec.hiddenSize * 0.75) / 32) * 32),
        mambaNumHeads: Math.max(m.nGroups, Math.round(m.numHeads / 2 / m.nGroups) * m.nGroups),
        ...(spec.mlp ? { ffnHiddenSize: Math.max(32, Math.round(spec.mlp.intermediateSize / 2 / 32) * 32) } : {}),
      };
      const distillOut = join(out, 'distill');
      const ts = trainSettings('distill', {
        student: '',
        data: train,
        out: distillOut,
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
      rmSync(distillOut, { recursive: true, force: true });
      const res = await runCompressPipeline(
        workerStages(ctx.cwd, { ...r.handlers, signal: ctx.signal }),
        {
          teacher,
          train,
          val,
          calibration: { ...CALIBRATION_DEFAULTS, samples: 64, seqLen: 256, batch: 8, shuffle: true, seed: 1, depth: 'bi', device: 'cpu', threads },
          calibrationDir: join(out, 'calibration'),
          targets,
          prunedDir: join(out, 'pruned'),
          distill: ts,
          eval: { samples: 64, seqLen: 256, batch: 4, packing: 'concat', device: 'cpu', threads },
        },
        (title) => stage(r, title),
      );
      r.endPhase();
      r.finish();
      const cal = res.calibration.dir;
      const pr = res.prune;
      const dist = res.distill;
      const names = { teacher: 'teacher', pruned: 'pruned (no retraining)', distilled: 'pruned + distilled' };
      const rows: Row[] = res.evals.map((e) => ({ name: names[e.name], params: e.report.params, loss: e.report.loss, ppl: e.report.perplexity, tps: e.report.tokensPerS }));
      r.print(`pruned: ${pr.pruned.params.toLocaleString('en-US')} parameters (${((100 * pr.pruned.params) / spec.params.total).toFixed(1)}% of ${spec.params.total.toLocaleString('en-US')})${res.calibration.reused ? `; calibration reused from ${cal}` : ''}`);

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
