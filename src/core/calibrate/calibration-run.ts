// Parent-side bookkeeping of calibration runs (CLI and extension): the checks of every input before
// anything expensive, the cache key of model + data + settings, and the choice between reusing a
// finished run, resuming an interrupted one, or starting a new run folder. Loads no native module.

import { createHash } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { checkpointFingerprint, type FingerprintProgress } from '../checkpoint/fingerprint';
import { openModelDataset } from '../eval/model-data';
import type { HybridModelSpec } from '../arch/spec';
import { HybridCompressError } from '../errors';
import { createRun, listRuns, openRun, readRun, type Run } from '../runs/index';
import type { CalibrationSettings } from './calibrate';
import { IMPORTANCE_FILE } from './importance-file';
import { RUN_FILE } from '../runs/layout';

/**
 * Checks what can fail fast, before any fingerprint or model load: the model folder opens (config and
 * headers only), the data file exists and yields a first row of --seq-len tokens with this model's
 * tokenizer (text without tokenizer.json, ids outside the vocabulary, a wrong field), and --out is not
 * taken by another kind of run.
 */
export async function checkCalibrationInputs(s: CalibrationSettings, o: { out?: string } = {}): Promise<{ spec: HybridModelSpec }> {
  if (!existsSync(s.data)) throw new HybridCompressError('DATA_INVALID', `${s.data}: no such file`, { file: s.data, option: 'data' });
  const ckpt = await openCheckpoint(s.model);
  try {
    const ds = await openModelDataset(ckpt.dir, ckpt.spec, { ...s, samples: 1 });
    try {
      const first = await ds.rows()[Symbol.asyncIterator]().next();
      if (first.done) throw new HybridCompressError('DATA_INVALID', `${s.data}: gives no row of ${s.seqLen} tokens; use a larger file or a smaller --seq-len`, { file: s.data, option: 'data' });
    } finally {
      await ds.close();
    }
  } finally {
    await ckpt.close();
  }
  if (o.out && existsSync(join(o.out, RUN_FILE))) {
    const r = await readRun(o.out).catch(() => undefined);
    if (r && r.kind !== 'calibrate') throw new HybridCompressError('OPTION_INVALID', `${o.out} already holds a ${r.kind} run; choose another --out folder`, { option: 'out', file: o.out });
  }
  return { spec: ckpt.spec };
}

/** Identity of (model weights, data file, every setting that changes the scores). */
export async function calibrationKey(s: CalibrationSettings, o: { onProgress?: (p: FingerprintProgress) => void } = {}): Promise<{ key: string; fingerprint: string }> {
  const ckpt = await openCheckpoint(s.model);
  let fingerprint: string;
  try {
    fingerprint = (await checkpointFingerprint(ckpt, { onProgress: o.onProgress })).id;
  } finally {
    await ckpt.close();
  }
  if (!existsSync(s.data)) throw new HybridCompressError('DATA_INVALID', `${s.data}: no such file`, { file: s.data, option: 'data' });
  const st = statSync(s.data);
  const data = { path: realpathSync(s.data), size: st.size, mtime: Math.floor(st.mtimeMs) };
  const settings = { samples: s.samples, seqLen: s.seqLen, batch: s.batch, packing: s.packing, shuffle: s.shuffle, seed: s.seed, depth: s.depth, depthSamples: s.depth === 'kl' ? s.depthSamples : 0, ...(s.ffnTap === 'pre' ? { ffnTap: 'pre' } : {}), ...(s.dtClampMode === 'transformers5' ? { dtClamp: 'transformers5' } : {}) };
  const key = createHash('sha256').update(JSON.stringify({ fingerprint, data, settings })).digest('hex').slice(0, 32);
  return { key, fingerprint };
}

export type RunChoice = { action: 'reuse'; run: Run } | { action: 'resume'; run: Run } | { action: 'new'; run: Run };

/**
 * Finds a run of the same key: a finished one is reused (unless `force`), an interrupted/failed/
 * cancelled one resumed; otherwise a new run folder is created (at `out` when given).
 */
export async function chooseCalibrationRun(workspace: string, s: CalibrationSettings, key: string, o: { out?: string; force?: boolean } = {}): Promise<RunChoice> {
  const inputs = { model: resolve(s.model), data: resolve(s.data) };
  const settings = { ...s, model: undefined, data: undefined, key };
  const candidates: { dir: string; status: string }[] = [];
  if (o.out) {
    if (existsSync(join(o.out, RUN_FILE))) {
      const r = await readRun(o.out).catch(() => undefined);
      if (r && r.kind === 'calibrate' && r.settings['key'] === key) candidates.push({ dir: resolve(o.out), status: r.status });
      // A run with other settings that never finished holds no result: the new run takes the folder over
      // (createRun refuses a live job). A finished one is only replaced with --force.
      else if (r && (r.kind !== 'calibrate' || (r.status === 'done' && existsSync(join(o.out, IMPORTANCE_FILE)) && !o.force))) {
        throw new HybridCompressError('OPTION_INVALID', `${o.out} already holds a ${r.status === 'done' ? 'finished ' : ''}${r.kind} run with other settings; choose another --out folder${r.kind === 'calibrate' ? ' or add --force to replace it' : ''}`, { option: 'out' });
      }
    }
  } else {
    const { runs } = await listRuns(workspace);
    for (const r of runs) if (r.kind === 'calibrate' && r.settings['key'] === key) candidates.push({ dir: r.dir, status: r.status });
  }
  const done = candidates.find((c) => c.status === 'done' && existsSync(join(c.dir, IMPORTANCE_FILE)));
  if (done && !o.force) return { action: 'reuse', run: await openRun(done.dir) };
  const resumable = candidates.find((c) => c.status !== 'running' && c.status !== 'done') ?? (done && o.force ? done : undefined);
  if (resumable) {
    const run = await openRun(resumable.dir);
    await run.resume();
    return { action: 'resume', run };
  }
  return { action: 'new', run: await createRun(workspace, { kind: 'calibrate', inputs, settings, dir: o.out }) };
}
