// Calibration settings and defaults, in a module that loads no engine code (the CLI and the
// extension host build settings; only the worker runs them).

import type { Packing } from '../data/index';
import { dataFields, dataSettingsFrom, JSON_FIELD } from '../data/options';
import { ENGINE_FIELDS, type Device } from '../runtime/devices';
import type { ActionSchema, OptionValues } from '../util/option-schema';

export type DepthMetric = 'none' | 'bi' | 'kl';

export interface CalibrationSettings {
  model: string;
  data: string;
  samples: number;
  seqLen: number;
  batch: number;
  packing: Packing;
  shuffle: boolean;
  seed: number;
  depth: DepthMetric;
  depthSamples: number;
  device: Device;
  threads?: number;
  /** 'auto': one whole-model session below 4 GB of weights, layer-streamed above. */
  mode: 'auto' | 'whole' | 'streamed';
}

export const CALIBRATION_DEFAULTS: Omit<CalibrationSettings, 'model' | 'data'> = {
  samples: 1024,
  seqLen: 4096,
  batch: 1,
  packing: 'concat',
  shuffle: false,
  seed: 0,
  depth: 'bi',
  depthSamples: 256,
  device: 'auto',
  mode: 'auto',
};


/** `calibrate`'s options: the CLI's flags and the "calibrate" task's properties. */
export const CALIBRATE_SCHEMA: ActionSchema = {
  command: 'calibrate',
  fields: [
    { key: 'model', type: 'path', positional: true, required: true, placeholder: 'model_dir', help: 'checkpoint folder (config.json + safetensors)' },
    ...dataFields({ seqLen: CALIBRATION_DEFAULTS.seqLen, batch: CALIBRATION_DEFAULTS.batch, samples: CALIBRATION_DEFAULTS.samples }),
    { key: 'depth', type: 'string', choices: ['none', 'bi', 'kl'], default: CALIBRATION_DEFAULTS.depth, help: 'layer importance: bi (Block Importance, one pass), kl (KL of the logits with each layer removed), none' },
    { key: 'depthSamples', type: 'integer', min: 1, default: CALIBRATION_DEFAULTS.depthSamples, placeholder: 'N', help: 'rows of the KL depth ranking' },
    { key: 'mode', type: 'string', choices: ['auto', 'whole', 'streamed'], default: CALIBRATION_DEFAULTS.mode, help: 'whole model in one session, or layer by layer (auto: streamed when the weights do not comfortably fit)' },
    ...ENGINE_FIELDS,
    { key: 'out', type: 'path', placeholder: 'run_dir', help: 'the run folder (default: .hybrid-compress/runs/<id>)' },
    { key: 'force', type: 'boolean', help: 'recompute even when a finished run of the same model, data and settings exists' },
    JSON_FIELD,
  ],
};

/** The settings of a parsed command line or task (schema values; defaults applied). */
export function calibrationSettingsFrom(v: OptionValues): CalibrationSettings {
  const s: CalibrationSettings = {
    model: v['model'] as string,
    ...dataSettingsFrom(v),
    samples: v['samples'] as number,
    depth: v['depth'] as DepthMetric,
    depthSamples: v['depthSamples'] as number,
    device: v['device'] as Device,
    mode: v['mode'] as CalibrationSettings['mode'],
  };
  if (v['threads'] !== undefined) s.threads = v['threads'] as number;
  return s;
}
