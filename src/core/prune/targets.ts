// Pruning targets and their legality. Every check runs before any work and names the option, the rule
// and the legal values nearest to what was asked, so a user can fix the command in one go.

import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import { PRUNE_AXES, WIDTH_AXES, type PruneAxisKey, type WidthAxisKey } from './axes';

export interface PruneTargets {
  hiddenSize?: number;
  /** MLP width (`intermediate_size` in config.json, ModelOpt's ffn_hidden_size), the same in every MLP layer. */
  ffnHiddenSize?: number;
  mambaNumHeads?: number;
  mambaHeadDim?: number;
  numAttentionHeads?: number;
  /** Keep this many layers, dropping the lowest-scored ones. Exclusive with dropLayers. */
  numLayers?: number;
  /** Source layer indices to drop. */
  dropLayers?: number[];
}

export type PruneAxis = 'heads' | 'channels';

/** The CLI flag of each target (the axes table, axes.ts). */
export const TARGET_OPTIONS = Object.fromEntries(PRUNE_AXES.map((a) => [a.key, a.flag])) as Record<PruneAxisKey, string>;

/** Legal values of an axis: multiples of `step` in [min, max]. */
export interface AxisRange {
  min: number;
  max: number;
  step: number;
}

export function isLegal(v: number, r: AxisRange): boolean {
  return Number.isInteger(v) && v >= r.min && v <= r.max && v % r.step === 0;
}

/** Up to two legal values around `v` (below and above), for error messages. */
export function nearbyLegal(v: number, r: AxisRange): number[] {
  const below = Math.min(r.max, Math.floor(v / r.step) * r.step);
  const above = Math.max(r.min, Math.ceil(v / r.step) * r.step);
  const out = new Set<number>();
  for (const x of [below, above]) if (x >= r.min && x <= r.max && x !== v) out.add(x);
  if (out.size === 0) out.add(v < r.min ? r.min : r.max);
  return [...out].sort((a, b) => a - b);
}

/** Legal range of every width axis the model has (source size = max). */
export function axisRanges(spec: HybridModelSpec): Partial<Record<WidthAxisKey, AxisRange & { rule: string }>> {
  const out: ReturnType<typeof axisRanges> = {
    hiddenSize: { min: 1, max: spec.hiddenSize, step: 1, rule: `an integer between 1 and hidden_size=${spec.hiddenSize}` },
  };
  const kinds = new Set(spec.pattern);
  if (spec.mamba && kinds.has('M')) {
    const { numHeads: H, headDim: P, nGroups: G } = spec.mamba;
    out.mambaNumHeads = { min: G, max: H, step: G, rule: `a multiple of n_groups=${G} between ${G} and ${H} (the same number of heads is kept in every B/C group)` };
    out.mambaHeadDim = { min: 1, max: P, step: 1, rule: `an integer between 1 and mamba_head_dim=${P}` };
  }
  if (spec.mlp && kinds.has('-')) {
    const F = spec.mlp.intermediateSize;
    out.ffnHiddenSize = { min: 1, max: F, step: 1, rule: `an integer between 1 and intermediate_size=${F}` };
  }
  if (spec.attention && kinds.has('*')) {
    const { numHeads: Hq, numKvHeads: Hkv } = spec.attention;
    out.numAttentionHeads = { min: Hkv, max: Hq, step: Hkv, rule: `a multiple of num_key_value_heads=${Hkv} between ${Hkv} and ${Hq} (kept within KV groups)` };
  }
  return out;
}

function optionError(option: string, message: string, rule: string): HybridCompressError {
  return new HybridCompressError('OPTION_INVALID', `--${option} ${message}`, { option, rule });
}

/** Throws on the first illegal target; returns nothing when all are legal. */
export function checkTargets(spec: HybridModelSpec, t: PruneTargets): void {
  if (spec.pattern.includes('E') && t.hiddenSize !== undefined && t.hiddenSize !== spec.hiddenSize) {
    throw optionError('hidden-size', `cannot change hidden_size of a model with MoE (E) layers: expert pruning is not supported (keep ${spec.hiddenSize})`, 'moe');
  }
  const ranges = axisRanges(spec);
  for (const { key, flag: option, layers } of WIDTH_AXES) {
    const v = t[key];
    if (v === undefined) continue;
    const r = ranges[key];
    if (!r) throw optionError(option, `${v}: this ${spec.family} model has no ${layers} (pattern ${spec.pattern})`, 'axis-absent');
    if (!isLegal(v, r)) {
      throw optionError(option, `${v} is not legal: must be ${r.rule}; nearby legal values: ${nearbyLegal(v, r).join(', ')}`, 'legal-values');
    }
  }
  checkMamba2Expand(spec, t);
  const L = spec.numLayers;
  if (t.numLayers !== undefined && t.dropLayers !== undefined) throw optionError('num-layers', 'and --drop-layers are exclusive: give one of them', 'depth-exclusive');
  if (t.numLayers !== undefined && (!Number.isInteger(t.numLayers) || t.numLayers < 1 || t.numLayers > L)) {
    throw optionError('num-layers', `${t.numLayers} is not legal: must be an integer between 1 and num_hidden_layers=${L}`, 'legal-values');
  }
  if (t.dropLayers !== undefined) {
    const seen = new Set<number>();
    for (const i of t.dropLayers) {
      if (!Number.isInteger(i) || i < 0 || i >= L) throw optionError('drop-layers', `contains ${i}: layer indices run from 0 to ${L - 1}`, 'layer-index');
      if (seen.has(i)) throw optionError('drop-layers', `lists layer ${i} twice`, 'layer-index');
      seen.add(i);
    }
    if (seen.size >= L) throw optionError('drop-layers', `drops all ${L} layers; at least one must remain`, 'depth-empty');
  }
}

/**
 * transformers' Mamba2Config has no inner-size key: the model derives it as int(expand × hidden_size) with
 * `expand: int` (transformers/models/mamba2/configuration_mamba2.py), so a pruned pure-Mamba2 model must
 * keep mamba_num_heads × head_dim a whole multiple of hidden_size or its config.json cannot express it.
 */
export function mamba2ExpandOk(hidden: number, heads: number, headDim: number): boolean {
  return hidden > 0 && (heads * headDim) % hidden === 0;
}

function checkMamba2Expand(spec: HybridModelSpec, t: PruneTargets): void {
  const m = spec.mamba;
  if (spec.family !== 'mamba2' || !m) return;
  const D = t.hiddenSize ?? spec.hiddenSize;
  const H = t.mambaNumHeads ?? m.numHeads;
  const P = t.mambaHeadDim ?? m.headDim;
  if (mamba2ExpandOk(D, H, P)) return;
  const ranges = axisRanges(spec);
  // Name the option the user gave that the others constrain, with the values legal for it given the rest.
  const key = t.mambaNumHeads !== undefined && t.mambaNumHeads !== m.numHeads ? 'mambaNumHeads' : t.mambaHeadDim !== undefined && t.mambaHeadDim !== m.headDim ? 'mambaHeadDim' : 'hiddenSize';
  const r = ranges[key]!;
  const ok = (v: number) => (key === 'mambaNumHeads' ? mamba2ExpandOk(D, v, P) : key === 'mambaHeadDim' ? mamba2ExpandOk(D, H, v) : mamba2ExpandOk(v, H, P));
  const legal: number[] = [];
  for (let v = r.min; v <= r.max; v += r.step) if (ok(v)) legal.push(v);
  const v = key === 'mambaNumHeads' ? H : key === 'mambaHeadDim' ? P : D;
  const near = legal.sort((a, b) => Math.abs(a - v) - Math.abs(b - v) || a - b).slice(0, 4).sort((a, b) => a - b);
  throw optionError(
    TARGET_OPTIONS[key],
    `${v} is not legal for this mamba2 model: mamba_num_heads × head_dim = ${H} × ${P} = ${H * P} must be a whole multiple of hidden_size = ${D}, because transformers' Mamba2Config stores the inner size as an integer expand × hidden_size; ${near.length > 0 ? `legal values with the other targets as given: ${near.join(', ')}` : 'no value of this option is legal with the other targets as given; change them too'}`,
    'mamba2-integer-expand',
  );
}

/**
 * `--prune-axis`: re-expresses one Mamba width target on the chosen axis with (nearly) the same inner
 * size I = heads × head_dim, for the paper's "same cut by heads vs by head channels" comparison.
 * Returns the new targets and a one-line note of the conversion.
 */
export function applyPruneAxis(spec: HybridModelSpec, t: PruneTargets, axis: PruneAxis): { targets: PruneTargets; note: string } {
  const m = spec.mamba;
  if (!m || !spec.pattern.includes('M')) throw optionError('prune-axis', `needs Mamba (M) layers; this model's pattern is ${spec.pattern}`, 'axis-absent');
  const heads = t.mambaNumHeads ?? m.numHeads;
  const dim = t.mambaHeadDim ?? m.headDim;
  if (t.mambaNumHeads !== undefined && t.mambaHeadDim !== undefined && heads !== m.numHeads && dim !== m.headDim) {
    throw optionError('prune-axis', 'takes a single Mamba target (--mamba-num-heads or --mamba-head-dim), not both', 'prune-axis');
  }
  const inner = heads * dim;
  const G = m.nGroups;
  if (axis === 'heads') {
    // Keep all channels; choose the multiple of G whose H·P is nearest the requested inner size.
    const h = Math.min(m.numHeads, Math.max(G, Math.round(inner / m.headDim / G) * G));
    return {
      targets: { ...t, mambaNumHeads: h, mambaHeadDim: m.headDim },
      note: `--prune-axis heads: inner size ${inner} → mamba_num_heads ${h} × mamba_head_dim ${m.headDim} = ${h * m.headDim}`,
    };
  }
  const p = Math.min(m.headDim, Math.max(1, Math.round(inner / m.numHeads)));
  return {
    targets: { ...t, mambaNumHeads: m.numHeads, mambaHeadDim: p },
    note: `--prune-axis channels: inner size ${inner} → mamba_num_heads ${m.numHeads} × mamba_head_dim ${p} = ${m.numHeads * p}`,
  };
}

/** Parses `--target-params`: an absolute count (`4e9`, `4.5B`, `900M`) or a share of the source (`50%`). */
export function parseTargetParams(text: string, sourceParams: number): number {
  const s = text.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(s);
  let v: number;
  if (pct) v = (Number(pct[1]) / 100) * sourceParams;
  else {
    const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmMbBgGtT]?)$/.exec(s);
    if (!m) throw optionError('target-params', `must be a parameter count like 4e9, 4.5B, 900M or a share like 50%, got ${JSON.stringify(text)}`, 'format');
    const scale: Record<string, number> = { '': 1, k: 1e3, m: 1e6, b: 1e9, g: 1e9, t: 1e12 };
    v = Number(m[1]) * scale[m[2]!.toLowerCase()]!;
  }
  if (!(v > 0) || v > sourceParams) {
    throw optionError('target-params', `${text} (${Math.round(v).toLocaleString('en-US')}) must be above 0 and at most the model's ${sourceParams.toLocaleString('en-US')} parameters`, 'range');
  }
  return Math.round(v);
}
