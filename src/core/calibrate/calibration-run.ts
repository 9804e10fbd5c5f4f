// Parent-side bookkeeping of calibration runs (CLI and extension): the cache key of model + data +
// settings, and the choice between reusing a finished run, resuming an interrupted one, or starting
// a new run folder. Loads no native module.

import { createHash } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { checkpointFingerprint } from '../checkpoint/fingerprint';
import { HybridCompressError } from '../errors';
import { createRun, listRuns, openRun, readRun, type Run } from '../runs/index';
import type { CalibrationSettings } from './calibrate';
import { IMPORTANCE_FILE } from './importance-file';
import { RUN_FILE } from '../runs/layout';

/** Identity of (model weights, data file, every setting that changes the scores). */
export async function calibrationKey(s: CalibrationSettings): Promise<{ key: string; fingerprint: string }> {
  const ckpt = await openCheckpoint(s.model);
  let fingerprint: string;
  try {
    fingerprint = (await checkpointFingerprint(ckpt)).id;
  } finally {
    await ckpt.close();
  }
  if (!existsSync(s.data)) throw new HybridCompressError('DATA_INVALID', `${s.data}: no such file`, { file: s.data, option: 'data' });
  const st = statSync(s.data);
  const data = { path: realpathSync(s.data), size: st.size, mtime: Math.floor(st.mtimeMs) };
  const settings = { samples: s.samples, seqLen: s.seqLen, batch: s.batch, packing: s.packing, shuffle: s.shuffle, seed: s.seed, depth: s.depth, depthSamples: s.depth === 'kl' ? s.depthSamples : 0 };
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
      else if (r) throw new HybridCompressError('OPTION_INVALID', `${o.out} already holds a ${r.kind} run with other settings; choose another --out folder`, { option: 'out' });
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
