// Calibration settings and defaults, in a module that loads no engine code (the CLI and the
// extension host build settings; only the worker runs them).

import type { Packing } from '../data/index';
import type { Device } from '../runtime/session';

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

