// Calibration settings and defaults, in a module that loads no engine code (the CLI and the
// extension host build settings; only the worker runs them).

import type { Packing } from '../data/index';
import { dataFields, dataSettingsFrom, JSON_FIELD } from '../data/options';
import { ENGINE_FIELDS, type Device } from '../runtime/devices';
import { DT_CLAMP_FIELD, type DtClampMode } from '../model/dt-clamp';
import type { ActionSchema, OptionValues } from '../util/option-schema';

export type DepthMetric = 'none' | 'bi' | 'kl';

/**
 * Where FFN neurons are scored: 'post' — the down_proj input, after relu² (ModelOpt's hook on linear_fc2's
 * input); 'pre' — the up_proj output X·W₁ᵀ before the activation (Minitron-SSM Eq. 26, as Minitron).
 */
export type FfnTap = 'pre' | 'post';
export const FFN_TAPS: readonly FfnTap[] = ['post', 'pre'];

export interface CalibrationSettings {
  model: string;
  data: string;
  samples: number;
  seqLen: number;
  /** --seq-len was not given: the default may be lowered to what the memory allows (seq-len.ts). */
  seqLenAuto?: boolean;
  batch: number;
  packing: Packing;
  shuffle: boolean;
  seed: number;
  depth: DepthMetric;
  depthSamples: number;
  /** Where FFN neurons are scored (collector.ts FfnTap; default 'post'). */
  ffnTap?: FfnTap;
  /** dt's lower bound in the Mamba mixer (default 'config'; 'transformers5' reproduces transformers ≥ 5). */
  dtClampMode?: DtClampMode;
  device: Device;
  threads?: number;
  /** 'auto': one whole-model session when it fits comfortably in the available memory, layer-streamed otherwise (runtime/execution-plan.ts). */
  mode: 'auto' | 'whole' | 'streamed';
}

/**
 * The paper's calibration (Minitron-SSM §3: 1024 samples × 8192 tokens, layers ranked by KL with 256
 * samples). FFN neurons are scored after relu² by default, as ModelOpt does, not on the paper's
 * pre-activation X·W₁ᵀ (Eq. 26): with relu² a neuron whose pre-activation is large and negative passes
 * nothing to down_proj, yet |X·W₁ᵀ| would rank it high; what down_proj receives is what pruning removes
 * (FLAP scores the same tensor). `--ffn-tap pre` gives the paper's formula.
 */
export const CALIBRATION_DEFAULTS: Omit<CalibrationSettings, 'model' | 'data'> = {
  samples: 1024,
  seqLen: 8192,
  batch: 1,
  packing: 'concat',
  shuffle: false,
  seed: 0,
  depth: 'kl',
  depthSamples: 256,
  ffnTap: 'post',
  device: 'auto',
  mode: 'auto',
};

/** `calibrate`'s options: the CLI's flags and the "calibrate" task's properties. */
export const CALIBRATE_SCHEMA: ActionSchema = {
  command: 'calibrate',
  fields: [
    { key: 'model', type: 'path', positional: true, required: true, placeholder: 'model_dir', help: 'checkpoint folder (config.json + safetensors)' },
    ...dataFields({ seqLen: CALIBRATION_DEFAULTS.seqLen, batch: CALIBRATION_DEFAULTS.batch, samples: CALIBRATION_DEFAULTS.samples }).map((f) =>
      f.key === 'seqLen'
        ? { key: f.key, type: f.type, min: f.min, placeholder: f.placeholder, help: `tokens per row (default ${CALIBRATION_DEFAULTS.seqLen}, the paper's; ModelOpt uses 4096; when ${CALIBRATION_DEFAULTS.seqLen} × --batch does not fit the available memory, the longest power of two that does, said in the log)` }
        : f.key === 'samples'
          ? { ...f, help: `rows of data to use (default ${CALIBRATION_DEFAULTS.samples}, the paper's)` }
          : f,
    ),
    { key: 'depth', type: 'string', choices: ['none', 'bi', 'kl'], default: CALIBRATION_DEFAULTS.depth, help: 'layer importance: kl (the paper: KL of the logits with each layer removed), bi (Minitron\'s Block Importance, one pass; ModelOpt\'s), none' },
    { key: 'depthSamples', type: 'integer', min: 1, default: CALIBRATION_DEFAULTS.depthSamples, placeholder: 'N', help: 'rows of the KL depth ranking (the paper: 256)' },
    { key: 'ffnTap', type: 'string', choices: FFN_TAPS, default: CALIBRATION_DEFAULTS.ffnTap, help: 'FFN neuron scores: post (default, ModelOpt: the down_proj input after relu², what pruning removes) or pre (the paper\'s Eq. 26: X·W₁ᵀ before relu²)' },
    DT_CLAMP_FIELD,
    { key: 'mode', type: 'string', choices: ['auto', 'whole', 'streamed'], default: CALIBRATION_DEFAULTS.mode, help: 'whole model in one session, or layer by layer (auto: streamed when the weights do not comfortably fit)' },
    ...ENGINE_FIELDS,
    { key: 'out', type: 'path', placeholder: 'run_dir', help: 'the run folder (default: .hybrid-compress/runs/<id>)' },
    { key: 'force', type: 'boolean', help: 'recompute even when a finished run of the same model, data and settings exists' },
    JSON_FIELD,
  ],
};

/** The settings of a parsed command line or task (schema values; defaults applied). */
export function calibrationSettingsFrom(v: OptionValues): CalibrationSettings {
  const auto = v['seqLen'] === undefined;
  const s: CalibrationSettings = {
    model: v['model'] as string,
    ...dataSettingsFrom({ ...v, seqLen: v['seqLen'] ?? CALIBRATION_DEFAULTS.seqLen }),
    samples: v['samples'] as number,
    depth: v['depth'] as DepthMetric,
    depthSamples: v['depthSamples'] as number,
    ffnTap: v['ffnTap'] as FfnTap,
    dtClampMode: v['dtClamp'] as DtClampMode,
    device: v['device'] as Device,
    mode: v['mode'] as CalibrationSettings['mode'],
  };
  if (auto) s.seqLenAuto = true;
  if (v['threads'] !== undefined) s.threads = v['threads'] as number;
  return s;
}
