// The ModelOpt `export_config` of a prune: the target value of each ModelOpt hparam
// (hidden_size, ffn_hidden_size, mamba_num_heads, mamba_head_dim, num_attention_heads, num_layers,
// MoE sizes), i.e. what `prune_minitron.py --prune_export_config` needs to cut the teacher to the
// student's shape on Megatron-Bridge. Taken from a pruning plan's `config_changes` (HF config keys)
// or, without a plan, from the differences between the teacher's and the student's config.json.
// ModelOpt ranks channels and layers with its own calibration, so the replay reproduces the
// architecture, not the exact kept indices — noted in `notes`.

import { HybridCompressError } from '../errors';
import type { RecipeData } from './data';

export interface ExportConfigResult {
  exportConfig: Record<string, number>;
  source: 'pruning_plan' | 'configs';
  /** Things the user should know (depth choice differs, values off ModelOpt's grid, ...). */
  notes: string[];
}

export const PLAN_FORMAT = 'hybrid-compress/plan@1';

export function modelTypeOf(config: Record<string, unknown>): string {
  const t = config['model_type'];
  return t === 'nemotron-h' || t === 'nemotronh' ? 'nemotron_h' : String(t);
}

function patternLength(v: unknown): number | undefined {
  if (typeof v === 'string' && v.length > 0) return v.length;
  if (Array.isArray(v) && v.length > 0) return v.length;
  return undefined;
}

function posInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/** Applies ModelOpt's manual-pruning grid rules and adds a note per value it would reject. */
function gridNotes(cfg: Record<string, number>, teacher: Record<string, unknown> | undefined, data: RecipeData, notes: string[]): void {
  const divisors = data.export_config.manual_divisors;
  const map = teacher ? data.export_config.hf_to_modelopt[modelTypeOf(teacher)] : undefined;
  const original = (hp: string): number | undefined => {
    if (!teacher || !map) return undefined;
    if (hp === 'num_layers') return posInt(teacher['num_hidden_layers']) ?? patternLength(teacher['hybrid_override_pattern']);
    const key = Object.keys(map).find((k) => map[k] === hp);
    return key ? posInt(teacher[key]) : undefined;
  };
  for (const [hp, value] of Object.entries(cfg)) {
    const div = divisors[hp];
    if (div !== undefined && div > 1 && value % div !== 0 && value !== original(hp)) {
      notes.push(`${hp}=${value} is not a multiple of ${div}: prune_minitron.py's manual search space only offers multiples of ${div} (and the original value), so the replay will be rejected unless you pick a nearby value such as ${Math.max(div, Math.round(value / div) * div)}`);
    }
  }
  const groups = teacher ? posInt(teacher['n_groups']) ?? posInt(teacher['mamba_n_groups']) : undefined;
  if (groups && cfg['mamba_num_heads'] !== undefined && cfg['mamba_num_heads'] % groups !== 0) {
    notes.push(`mamba_num_heads=${cfg['mamba_num_heads']} is not a multiple of n_groups=${groups}, which ModelOpt requires`);
  }
}

/** From a plan's `config_changes` (HF config keys of the pruned student). */
export function exportConfigFromChanges(
  changes: Record<string, unknown>,
  modelType: string,
  data: RecipeData,
  opts: { teacherConfig?: Record<string, unknown>; droppedLayers?: number[]; planFile?: string } = {},
): ExportConfigResult {
  const map = data.export_config.hf_to_modelopt[modelType];
  if (!map) {
    throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `no ModelOpt export_config mapping for model_type "${modelType}" (known: ${Object.keys(data.export_config.hf_to_modelopt).join(', ')})`, { file: opts.planFile });
  }
  const cfg: Record<string, number> = {};
  const notes: string[] = [];
  for (const [key, value] of Object.entries(changes)) {
    const hp = map[key];
    if (hp !== undefined) {
      const n = posInt(value);
      if (n === undefined) throw new HybridCompressError('CONFIG_INVALID', `${opts.planFile ?? 'pruning plan'}: config_changes.${key} must be a positive integer, got ${JSON.stringify(value)}`, { file: opts.planFile, option: key });
      cfg[hp] = n;
    } else if (data.export_config.pattern_keys.includes(key)) {
      const n = patternLength(value);
      if (n !== undefined && cfg['num_layers'] === undefined) cfg['num_layers'] = n;
    } else if (data.export_config.not_prunable.includes(key) && (!opts.teacherConfig || JSON.stringify(opts.teacherConfig[key]) !== JSON.stringify(value))) {
      // (A plan may pin an unchanged value, e.g. head_dim, so only a real change is worth a note.)
      notes.push(`config_changes.${key} cannot be expressed in a ModelOpt export_config (ModelOpt does not prune it); the replay will keep the teacher's value`);
    }
  }
  // A pattern change implies a depth change only if the layer count differs from the teacher's.
  if (opts.teacherConfig && cfg['num_layers'] !== undefined) {
    const t = posInt(opts.teacherConfig['num_hidden_layers']) ?? patternLength(opts.teacherConfig['hybrid_override_pattern']);
    if (t === cfg['num_layers']) delete cfg['num_layers'];
  }
  if (cfg['num_layers'] !== undefined) {
    notes.push(
      `num_layers=${cfg['num_layers']}: ModelOpt chooses which layers to drop by its own layer ranking` +
        (opts.droppedLayers && opts.droppedLayers.length > 0 ? `; this plan dropped source layers ${opts.droppedLayers.join(', ')}` : ''),
    );
  }
  gridNotes(cfg, opts.teacherConfig, data, notes);
  return { exportConfig: cfg, source: 'pruning_plan', notes };
}

/** From the differences between two HF configs of the same family. */
export function exportConfigFromConfigs(teacher: Record<string, unknown>, student: Record<string, unknown>, data: RecipeData): ExportConfigResult {
  const tType = modelTypeOf(teacher);
  const sType = modelTypeOf(student);
  if (tType !== sType) {
    throw new HybridCompressError('CONFIG_INVALID', `teacher is model_type "${tType}" but student is "${sType}": a pruned student has its teacher's architecture`, { option: 'student' });
  }
  const map = data.export_config.hf_to_modelopt[tType];
  if (!map) throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `no ModelOpt export_config mapping for model_type "${tType}" (known: ${Object.keys(data.export_config.hf_to_modelopt).join(', ')})`);
  const changes: Record<string, unknown> = {};
  for (const key of Object.keys(map)) if (student[key] !== undefined && JSON.stringify(student[key]) !== JSON.stringify(teacher[key])) changes[key] = student[key];
  for (const key of data.export_config.pattern_keys) if (student[key] !== undefined && JSON.stringify(student[key]) !== JSON.stringify(teacher[key])) changes[key] = student[key];
  for (const key of data.export_config.not_prunable) if (student[key] !== undefined && teacher[key] !== undefined && JSON.stringify(student[key]) !== JSON.stringify(teacher[key])) changes[key] = student[key];
  const r = exportConfigFromChanges(changes, tType, data, { teacherConfig: teacher });
  return { ...r, source: 'configs' };
}
