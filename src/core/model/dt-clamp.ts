// How dt is bounded below in the Mamba mixer, and the option that picks it (eval, calibrate). Loads no
// engine code: the settings modules import it.
//
// transformers ≥ 5's NemotronH mixer replaces time_step_limit by (time_step_min, inf) on prefill
// (transformers/models/nemotron_h/modeling_nemotron_h.py); the Hub's remote code and mamba_ssm use
// time_step_limit, as config.json says.

import type { OptionField } from '../util/option-schema';

export type DtClampMode = 'config' | 'transformers5';
export const DT_CLAMP_MODES: readonly DtClampMode[] = ['config', 'transformers5'];

/** The `--dt-clamp` option (settings key `dtClamp`). */
export const DT_CLAMP_FIELD: OptionField = {
  key: 'dtClamp',
  flag: 'dt-clamp',
  type: 'string',
  choices: DT_CLAMP_MODES,
  default: 'config',
  help: "lower bound of dt: config = time_step_limit (the Hub code, mamba_ssm); transformers5 = time_step_min, as transformers ≥ 5's NemotronH computes",
};
