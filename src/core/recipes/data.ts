// The recipe data file (megatron-bridge.json): container, entry points, flag names, defaults and
// ModelOpt export_config keys, each with the upstream commit it was read at. The bundled copy is
// used unless a user file is given (`--recipe-data`), which is checked against the same shape so
// a typo names the key instead of producing a broken script.

import { readFileSync } from 'node:fs';
import { HybridCompressError } from '../errors';
import { parseJson } from '../util/json';
import bundled from './megatron-bridge.json';

export interface RecipeData {
  format: 'hybrid-compress/recipe-data@1';
  taken_from: Record<string, { repo: string; commit: string; files: string[] }>;
  container: {
    image: string;
    note: string;
    modelopt_dir: string;
    /** [sub-path of the Model-Optimizer checkout ('' = the checkout), mount point in the container]. */
    modelopt_mounts: [string, string][];
    docker_flags: string[];
    env_check: string;
  };
  distill: {
    entry_point: string;
    flags: Record<DistillFlag, string>;
    defaults: Record<DistillDefault, number>;
    schedule: string;
    outputs: { checkpoints: string; tensorboard: string };
    resume: string;
    data_format: string;
  };
  prune: {
    entry_point: string;
    flags: Record<'model' | 'trust_remote_code' | 'pp' | 'export_config' | 'output_hf' | 'seq_length' | 'calib_dataset' | 'calib_samples', string>;
    world_size_rule: string;
    calibration_default: string;
  };
  export_config: {
    supported_hparams: string[];
    hf_to_modelopt: Record<string, Record<string, string>>;
    pattern_keys: string[];
    not_prunable: string[];
    manual_divisors: Record<string, number>;
    note: string;
  };
  trust_remote_code_model_types: string[];
  slurm: { launcher: string; pyxis_flags: { image: string; mounts: string; workdir: string }; default_time: string; master_port: number };
  recommendations: { source: string; text: string };
}

export const DISTILL_FLAGS = [
  'teacher', 'student', 'trust_remote_code', 'tp', 'pp', 'data_paths', 'data_cache', 'mock_data', 'output_dir', 'seq_length',
  'micro_batch', 'global_batch', 'train_iters', 'lr', 'min_lr', 'warmup', 'eval_interval', 'eval_iters', 'log_interval',
  'kd_loss_scale', 'no_skip_lm_loss', 'seed', 'hf_export',
] as const;
export type DistillFlag = (typeof DISTILL_FLAGS)[number];
export const DISTILL_DEFAULTS = ['tp', 'pp', 'seq_length', 'micro_batch', 'global_batch', 'lr', 'min_lr', 'warmup', 'eval_interval', 'eval_iters', 'log_interval', 'kd_loss_scale', 'seed'] as const;
export type DistillDefault = (typeof DISTILL_DEFAULTS)[number];
const PRUNE_FLAGS = ['model', 'trust_remote_code', 'pp', 'export_config', 'output_hf', 'seq_length', 'calib_dataset', 'calib_samples'] as const;

/** Checks the shape of a recipe data object; errors name the key path and what it should be. */
export function validateRecipeData(v: unknown, file: string): RecipeData {
  const bad = (path: string, want: string): never => {
    throw new HybridCompressError('CONFIG_INVALID', `${file}: "${path}" must be ${want}`, { file, option: path });
  };
  const obj = (x: unknown, path: string): Record<string, unknown> => (x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : bad(path, 'an object'));
  const str = (o: Record<string, unknown>, k: string, path: string): string => (typeof o[k] === 'string' && (o[k] as string).length > 0 ? (o[k] as string) : bad(`${path}.${k}`, 'a non-empty string'));
  const flag = (o: Record<string, unknown>, k: string, path: string): string => {
    const s = str(o, k, path);
    return /^--[A-Za-z0-9][A-Za-z0-9_-]*$/.test(s) ? s : bad(`${path}.${k}`, 'a command-line flag like "--name" (letters, digits, _ and -)');
  };
  const strList = (x: unknown, path: string): string[] => (Array.isArray(x) && x.every((s) => typeof s === 'string') ? (x as string[]) : bad(path, 'a list of strings'));
  const root = obj(v, '(root)');
  if (root['format'] !== 'hybrid-compress/recipe-data@1') bad('format', '"hybrid-compress/recipe-data@1"');
  const taken = obj(root['taken_from'], 'taken_from');
  for (const [k, t] of Object.entries(taken)) {
    const o = obj(t, `taken_from.${k}`);
    str(o, 'repo', `taken_from.${k}`);
    if (!/^[0-9a-f]{7,40}$/.test(String(o['commit']))) bad(`taken_from.${k}.commit`, 'a git commit hash');
    strList(o['files'], `taken_from.${k}.files`);
  }
  const c = obj(root['container'], 'container');
  for (const k of ['image', 'note', 'modelopt_dir', 'env_check']) str(c, k, 'container');
  const mounts = c['modelopt_mounts'];
  if (!Array.isArray(mounts) || !mounts.every((m) => Array.isArray(m) && m.length === 2 && m.every((s) => typeof s === 'string') && String(m[1]).startsWith('/'))) {
    bad('container.modelopt_mounts', 'a list of [sub-path, absolute container path] pairs');
  }
  strList(c['docker_flags'], 'container.docker_flags');
  const d = obj(root['distill'], 'distill');
  for (const k of ['entry_point', 'schedule', 'resume', 'data_format']) str(d, k, 'distill');
  const df = obj(d['flags'], 'distill.flags');
  for (const k of DISTILL_FLAGS) flag(df, k, 'distill.flags');
  const dd = obj(d['defaults'], 'distill.defaults');
  for (const k of DISTILL_DEFAULTS) if (typeof dd[k] !== 'number' || !Number.isFinite(dd[k]) || (dd[k] as number) < 0) bad(`distill.defaults.${k}`, 'a non-negative number');
  const out = obj(d['outputs'], 'distill.outputs');
  str(out, 'checkpoints', 'distill.outputs');
  str(out, 'tensorboard', 'distill.outputs');
  const p = obj(root['prune'], 'prune');
  str(p, 'entry_point', 'prune');
  const pf = obj(p['flags'], 'prune.flags');
  for (const k of PRUNE_FLAGS) flag(pf, k, 'prune.flags');
  const e = obj(root['export_config'], 'export_config');
  strList(e['supported_hparams'], 'export_config.supported_hparams');
  const h2m = obj(e['hf_to_modelopt'], 'export_config.hf_to_modelopt');
  for (const [fam, m] of Object.entries(h2m)) for (const [k, x] of Object.entries(obj(m, `export_config.hf_to_modelopt.${fam}`))) if (typeof x !== 'string') bad(`export_config.hf_to_modelopt.${fam}.${k}`, 'a string');
  strList(e['pattern_keys'], 'export_config.pattern_keys');
  strList(e['not_prunable'], 'export_config.not_prunable');
  for (const [k, x] of Object.entries(obj(e['manual_divisors'], 'export_config.manual_divisors'))) if (typeof x !== 'number' || !Number.isInteger(x) || x < 1) bad(`export_config.manual_divisors.${k}`, 'a positive integer');
  strList(root['trust_remote_code_model_types'], 'trust_remote_code_model_types');
  const s = obj(root['slurm'], 'slurm');
  str(s, 'default_time', 'slurm');
  if (typeof s['master_port'] !== 'number') bad('slurm.master_port', 'a port number');
  const px = obj(s['pyxis_flags'], 'slurm.pyxis_flags');
  for (const k of ['image', 'mounts', 'workdir']) flag(px, k, 'slurm.pyxis_flags');
  return root as unknown as RecipeData;
}

/** The bundled data, or a user's edited copy. */
export function loadRecipeData(file?: string): RecipeData {
  if (file === undefined) return validateRecipeData(bundled, 'megatron-bridge.json (bundled)');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new HybridCompressError('IO_ERROR', `cannot read recipe data ${file}: ${(e as Error).message}`, { file });
  }
  let v: unknown;
  try {
    v = parseJson(text);
  } catch (e) {
    throw new HybridCompressError('CONFIG_INVALID', `${file}: not valid JSON (${(e as Error).message})`, { file });
  }
  return validateRecipeData(v, file);
}
