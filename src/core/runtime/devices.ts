// The options that choose the device an engine job runs on (the names: device-names.ts). No onnxruntime
// import: the CLI and the extension host list devices without loading the engine.

import { availableParallelism } from 'node:os';
import type { OptionField } from '../util/option-schema';
import { DEVICES } from './device-names';

export { DEVICES, type Device, type ExecutionProvider } from './device-names';

export const DEVICE_FIELD: OptionField = {
  key: 'device',
  type: 'string',
  choices: DEVICES,
  default: 'auto',
  help: 'where the engine runs: auto picks a GPU (CUDA, then a real WebGPU adapter, never a software one) and falls back to the CPU; webgpu-f16 computes products in float16',
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
