// Options shared by the commands that run the engine over a data file (eval, calibrate, distill, train).

import { HybridCompressError } from '../core/errors';
import { optEnum, optInt, optString, type OptionSpec } from './args';
import { PACKINGS, type Packing } from '../core/data/index';
import type { Device } from '../core/runtime/session';

/** Kept here (not imported from runtime/) so the CLI process never loads onnxruntime-node. */
export const DEVICE_CHOICES: readonly Device[] = ['auto', 'cpu', 'webgpu', 'webgpu-f16', 'cuda'];

export const DATA_OPTIONS: OptionSpec = {
  data: { type: 'string' },
  samples: { type: 'string' },
  'seq-len': { type: 'string' },
  batch: { type: 'string' },
  packing: { type: 'string' },
  shuffle: { type: 'boolean' },
  seed: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
};

type Values = Record<string, unknown>;

export interface DataOptionValues {
  data: string;
  samples?: number;
  seqLen: number;
  batch: number;
  packing: Packing;
  shuffle: boolean;
  seed: number;
  device: Device;
  threads?: number;
}

export function readDataOptions(values: Values, defaults: { seqLen: number; batch: number; samples?: number }): DataOptionValues {
  const data = optString(values, 'data');
  if (!data) throw new HybridCompressError('OPTION_INVALID', '--data <file> is required (.txt one document per line, .jsonl with "text" or "input_ids", or .parquet with a "text" column)', { option: 'data' });
  return {
    data,
    samples: values['samples'] === undefined ? defaults.samples : optInt(values, 'samples', 0, { min: 1 }),
    seqLen: optInt(values, 'seq-len', defaults.seqLen, { min: 2 }),
    batch: optInt(values, 'batch', defaults.batch, { min: 1 }),
    packing: optEnum(values, 'packing', PACKINGS, 'concat'),
    shuffle: values['shuffle'] === true,
    seed: optInt(values, 'seed', 0, { min: 0 }),
    device: optEnum(values, 'device', DEVICE_CHOICES, 'auto'),
    threads: values['threads'] === undefined ? undefined : optInt(values, 'threads', 0, { min: 0, max: 1024 }),
  };
}
