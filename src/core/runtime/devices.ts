// The devices an engine job can run on, and the options that choose one. Pure (no onnxruntime import):
// the CLI, the extension host and the webviews list devices without loading the engine.

import { availableParallelism } from 'node:os';
import type { OptionField } from '../util/option-schema';

export const DEVICES = ['auto', 'cpu', 'webgpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];
export type ExecutionProvider = Exclude<Device, 'auto'>;

export const DEVICE_FIELD: OptionField = {
  key: 'device',
  type: 'string',
  choices: DEVICES,
  default: 'auto',
  help: 'where the engine runs: auto picks a GPU (CUDA, then a real WebGPU adapter) and falls back to the CPU',
};

/** More threads than cores only adds contention (ORT's MLAS pool spins). */
export const THREADS_FIELD: OptionField = {
  key: 'threads',
  type: 'integer',
  min: 0,
  max: availableParallelism(),
  placeholder: 'N',
  help: `ORT intra-op threads (0 = ORT's choice; at most this machine's ${availableParallelism()} cores)`,
};

export const ENGINE_FIELDS: readonly OptionField[] = [DEVICE_FIELD, THREADS_FIELD];
