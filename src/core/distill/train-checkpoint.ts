// Training checkpoints: `<out>/checkpoints/step-<N>/` holding the weights as a normal HF checkpoint
// (float32, so a resumed run continues bit for bit), the AdamW moments, and trainer-state.json (step,
// data cursor, metrics line count). Written to a temp folder and renamed into place; `latest` names
// the newest complete one, so a kill at any moment leaves the previous checkpoint intact.

import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HybridCompressError } from '../errors';
import type { Checkpoint } from '../checkpoint/checkpoint';
import { TOKENIZER_FILES } from '../checkpoint/checkpoint';
import { encodeFromFloat } from '../safetensors/dtype';
import { writeCheckpointShards, writeSafetensors, type TensorSource } from '../safetensors/writer';
import { SafetensorsFile } from '../safetensors/reader';
import { writeFileAtomic } from '../runs/atomic-write';
import { encodeConfig } from '../arch/config-codec';
import { outputMarker } from '../runs/output-guard';
import type { DataCursor } from '../data/index';
import { CHECKPOINTS_DIR, LATEST_POINTER, OPTIMIZER_FILE, TRAINER_STATE_FILE, OUTPUT_MARKER } from '../runs/layout';
import { readTrainerState, resumeCheckpointDir } from './resume';

export interface TrainerState {
  format: 'hybrid-compress/trainer-state@1';
  step: number;
  /** Position of the next training batch. */
  cursor: DataCursor;
  /** Lines of metrics.jsonl that belong to steps ≤ step. */
  metricsLines: number;
  elapsedS: number;
  tokens: number;
  key: string;
}

export interface NamedArray {
  name: string;
  value: Float32Array;
  shape: number[];
}

/** Writes a model folder (config + tokenizer files + weights) from float32 values, in `dtypeOf(name)`. */
export async function writeModelFolder(dir: string, source: Checkpoint, params: readonly NamedArray[], dtypeOf: (name: string) => string, maxShardBytes?: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), encodeConfig(source.config, source.configText));
  await writeFile(join(dir, OUTPUT_MARKER), outputMarker('trained'));
  for (const f of TOKENIZER_FILES) if (existsSync(join(source.dir, f))) await copyFile(join(source.dir, f), join(dir, f));
  const tensors: TensorSource[] = params.map((p) => ({ name: p.name, dtype: dtypeOf(p.name), shape: p.shape, data: () => encodeFromFloat(dtypeOf(p.name), p.value) }));
  await writeCheckpointShards(dir, tensors, { maxShardBytes });
}

export async function saveTrainingCheckpoint(outDir: string, source: Checkpoint, params: readonly NamedArray[], moments: { m: Float32Array[]; v: Float32Array[]; step: number }, state: TrainerState): Promise<string> {
  const root = join(outDir, CHECKPOINTS_DIR);
  const name = `step-${String(state.step).padStart(7, '0')}`;
  const final = join(root, name);
  const tmp = join(root, `.${name}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  try {
    await writeModelFolder(tmp, source, params, () => 'F32', Number.MAX_SAFE_INTEGER);
    const opt: TensorSource[] = [];
    params.forEach((p, i) => {
      opt.push({ name: `${p.name}.exp_avg`, dtype: 'F32', shape: p.shape, data: encodeFromFloat('F32', moments.m[i]!) });
      opt.push({ name: `${p.name}.exp_avg_sq`, dtype: 'F32', shape: p.shape, data: encodeFromFloat('F32', moments.v[i]!) });
    });
    await writeSafetensors(join(tmp, OPTIMIZER_FILE), opt, { metadata: { format: 'hybrid-compress/adamw@1', step: String(moments.step) } });
    await writeFile(join(tmp, TRAINER_STATE_FILE), JSON.stringify(state, null, 1));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw new HybridCompressError('IO_ERROR', `${outDir}: disk full while saving the step-${state.step} checkpoint; the previous checkpoint is intact`, { file: outDir });
    throw e;
  }
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  await writeFileAtomic(join(root, LATEST_POINTER), name + '\n');
  // Older checkpoints are removed only once the new one is in place.
  for (const e of await readdir(root)) if (e.startsWith('step-') && e !== name) await rm(join(root, e), { recursive: true, force: true });
  return final;
}

export interface LoadedCheckpoint {
  dir: string;
  state: TrainerState;
  params: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  optimizerStep: number;
}

/** The newest complete checkpoint under `<out>/checkpoints`, validated (resume.ts), or undefined. */
export async function loadLatestCheckpoint(outDir: string, log?: (line: string) => void): Promise<LoadedCheckpoint | undefined> {
  const dir = resumeCheckpointDir(outDir, log);
  if (!dir) return undefined;
  const state = readTrainerState(dir);
  const model = SafetensorsFile.open(join(dir, 'model.safetensors'));
  const opt = SafetensorsFile.open(join(dir, OPTIMIZER_FILE));
  try {
    const params = new Map<string, Float32Array>();
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const name of model.names) {
      params.set(name, await model.readFloat32(name));
      m.set(name, await opt.readFloat32(`${name}.exp_avg`));
      v.set(name, await opt.readFloat32(`${name}.exp_avg_sq`));
    }
    const optimizerStep = Number(opt.metadata['step'] ?? state.step);
    if (!Number.isSafeInteger(optimizerStep) || optimizerStep !== state.step) {
      throw new HybridCompressError('CHECKPOINT_INVALID', `${join(dir, OPTIMIZER_FILE)} holds the optimizer of step ${opt.metadata['step']}, trainer-state.json says step ${state.step}; the checkpoint is inconsistent`, { file: dir });
    }
    return { dir, state, params, m, v, optimizerStep };
  } finally {
    await model.close();
    await opt.close();
  }
}
