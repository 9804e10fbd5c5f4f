// Writers of external trainers' logs for the e2e tier, so the curve view is driven by the same bytes the
// unit tests check: the Megatron-LM line builder (test/curves/helpers/megatron-lines.ts) and the
// TensorBoard event writer (test/curves/helpers/tb-writer.ts: protobufjs + crc-32's CRC-32C, no code
// shared with the reader). Both are TypeScript; esbuild (a dev dependency) bundles them for node here.

import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export async function loadLogWriters(repo, tmp) {
  const req = createRequire(join(repo, 'package.json'));
  const esbuild = req('esbuild');
  const outdir = join(tmp, 'log-writers');
  await esbuild.build({
    entryPoints: { 'megatron-lines': join(repo, 'test/curves/helpers/megatron-lines.ts'), 'tb-writer': join(repo, 'test/curves/helpers/tb-writer.ts') },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outdir,
    outExtension: { '.js': '.cjs' },
    logLevel: 'error',
  });
  const load = createRequire(join(outdir, 'x.cjs'));
  return { megatron: load('./megatron-lines.cjs'), tb: load('./tb-writer.cjs') };
}

/** Appends Megatron-LM training lines (KD run: total, lm and logits distillation loss) to a log file, one iteration each. */
export function megatronLog(writers, file, trainIters = 1000) {
  let iteration = 0;
  return {
    get iteration() {
      return iteration;
    },
    append(n) {
      const lines = [];
      for (let i = 0; i < n; i++) {
        iteration++;
        const kd = 2.5 / Math.sqrt(iteration);
        lines.push(
          writers.megatron.megatronLmTrainLine({
            timeMs: Date.UTC(2026, 0, 1) + iteration * 1500,
            iteration,
            trainIters,
            consumed: iteration * 768,
            iterMs: 1500 + (iteration % 7),
            lr: 1e-4 * Math.min(1, iteration / 10),
            gbs: 768,
            losses: [
              ['total loss', kd + 0.1],
              ['lm loss', 0],
              ['logits distillation loss', kd],
            ],
            lossScale: 1,
            gradNorm: 1 / iteration,
          }),
        );
      }
      appendFileSync(file, lines.join('\n') + '\n');
    },
  };
}

/**
 * A TensorBoard event file written record by record (one Event per step with two scalars). `append(n,
 * {split})` can leave the last record half-written, as a writer flushing mid-record does; the next
 * append completes it.
 */
export function tbEventFile(writers, dir, name = 'events.out.tfevents.1767225600.e2e-host.1.0') {
  const { tb } = writers;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, tb.eventFileBytes([tb.fileVersionEvent(1767225600)]));
  let step = 0;
  let pending = new Uint8Array(0);
  return {
    file,
    get step() {
      return step;
    },
    append(n, { split = false } = {}) {
      const parts = [pending];
      for (let i = 0; i < n; i++) {
        step++;
        const values = [
          { tag: 'train/loss', simple: 3 / Math.sqrt(step) },
          { tag: 'train/lr', tensor: { dtype: tb.DT_FLOAT, float_val: [1e-4 * Math.min(1, step / 10)] } },
        ];
        parts.push(tb.frameRecord(tb.encodeEvent({ wallTime: 1767225600 + step, step, values })));
      }
      const bytes = tb.concatBytes(parts);
      const cut = split ? bytes.length - 7 : bytes.length;
      appendFileSync(file, bytes.subarray(0, cut));
      pending = bytes.slice(cut);
    },
  };
}
