// Model and Compress-panel view models: what the Checkpoints tree and the Compress panel show about a
// checkpoint, computed in the host from the spec (headers only, no tensor data). No vscode import, so
// it is unit-tested under plain node.

import type { Checkpoint } from '../../core/checkpoint/checkpoint';
import type { HybridModelSpec } from '../../core/arch/spec';
import { axisRanges, checkTargets, type PruneTargets } from '../../core/prune/targets';
import { prunedParams, sourceDims, type PrunedDims } from '../../core/prune/config';
import { completeMamba2, hasExpandRule, reachableValues, type Mamba2Axis, type Mamba2Widths } from '../../core/prune/mamba2-expand';
import { describeError } from '../../core/errors';
import type { AxisKey, AxisVM, EstimateVM, LayerKindVM, ModelVM, Targets } from '../../../webview/protocol';
import { basename } from 'node:path';

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, BF16: 2, F16: 2, F8_E4M3: 1, F8_E5M2: 1, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Mean bytes per parameter over the checkpoint's tensors (2 for an all-bf16 model). */
export function bytesPerParam(dtypeCounts: Record<string, number>): number {
  let params = 0;
  let bytes = 0;
  for (const [dt, n] of Object.entries(dtypeCounts)) {
    params += n;
    bytes += n * (DTYPE_BYTES[dt] ?? 4);
  }
  return params > 0 ? bytes / params : 4;
}

export function modelVMFromSpec(dir: string, spec: HybridModelSpec, bytesOnDisk: number, bpp: number): ModelVM {
  return {
    dir,
    name: basename(dir),
    family: spec.family,
    modelType: spec.modelType,
    runnable: spec.runnable,
    ...(spec.unsupportedReason !== undefined ? { unsupportedReason: spec.unsupportedReason } : {}),
    pattern: spec.pattern,
    numLayers: spec.numLayers,
    hiddenSize: spec.hiddenSize,
    vocabSize: spec.vocabSize,
    params: spec.params.total,
    bytesOnDisk,
    bytesPerParam: bpp,
    ...(spec.mamba ? { mamba: { numHeads: spec.mamba.numHeads, headDim: spec.mamba.headDim, nGroups: spec.mamba.nGroups, stateSize: spec.mamba.stateSize } } : {}),
    ...(spec.attention ? { attention: { numHeads: spec.attention.numHeads, numKvHeads: spec.attention.numKvHeads, headDim: spec.attention.headDim } } : {}),
    ...(spec.mlp ? { mlp: { intermediateSize: spec.mlp.intermediateSize } } : {}),
    layers: spec.layers.map((l) => ({ index: l.index, kind: l.kind as LayerKindVM, params: l.params })),
  };
}

export function modelVM(ckpt: Checkpoint): ModelVM {
  return modelVMFromSpec(ckpt.dir, ckpt.spec, ckpt.bytesOnDisk, bytesPerParam(ckpt.dtypeCounts()));
}

const LABELS: Record<AxisKey, string> = {
  hiddenSize: 'Hidden size (embedding channels)',
  intermediateSize: 'FFN neurons per MLP layer',
  mambaNumHeads: 'Mamba heads per layer',
  mambaHeadDim: 'Mamba head channels',
  numAttentionHeads: 'Attention heads per layer',
  numLayers: 'Layers',
};
const OPTIONS: Record<AxisKey, string> = {
  hiddenSize: 'hidden-size',
  intermediateSize: 'ffn-hidden-size',
  mambaNumHeads: 'mamba-num-heads',
  mambaHeadDim: 'mamba-head-dim',
  numAttentionHeads: 'num-attention-heads',
  numLayers: 'num-layers',
};

const MAMBA2_AXES: readonly Mamba2Axis[] = ['hiddenSize', 'mambaNumHeads', 'mambaHeadDim'];

function mamba2Widths(spec: HybridModelSpec, t: Targets): Mamba2Widths {
  return { hiddenSize: t.hiddenSize ?? spec.hiddenSize, mambaNumHeads: t.mambaNumHeads ?? spec.mamba!.numHeads, mambaHeadDim: t.mambaHeadDim ?? spec.mamba!.headDim };
}

/**
 * The axes this model can be pruned on, with their legal values (from the pruner's own rules). For
 * pure Mamba2 the hidden size, heads and head dim depend on each other (integer expand): each of them
 * lists the values that some legal choice of the others allows, given the current `targets` (moving
 * heads or head dim holds the hidden size); `normalizeTargets` then adjusts the others.
 */
export function compressAxes(spec: HybridModelSpec, targets: Targets = {}): AxisVM[] {
  const ranges = axisRanges(spec);
  const out: AxisVM[] = [];
  const expand = hasExpandRule(spec);
  for (const key of ['hiddenSize', 'intermediateSize', 'mambaNumHeads', 'mambaHeadDim', 'numAttentionHeads'] as const) {
    const r = ranges[key];
    if (!r) continue;
    const axis: AxisVM = { key, label: LABELS[key], option: OPTIONS[key], min: r.min, max: r.max, step: r.step, rule: r.rule };
    if (expand && (MAMBA2_AXES as readonly string[]).includes(key)) axis.values = reachableValues(spec, key as Mamba2Axis, mamba2Widths(spec, targets));
    out.push(axis);
  }
  out.push({ key: 'numLayers', label: LABELS.numLayers, option: OPTIONS.numLayers, min: 1, max: spec.numLayers, step: 1, rule: `an integer between 1 and ${spec.numLayers}` });
  return out;
}

/**
 * Targets after the user moved one axis: for pure Mamba2, the other width axes are moved to the
 * nearest values that keep heads × head_dim a multiple of hidden_size (see mamba2-expand.ts), and
 * `note` says what changed and why. Other models' targets come back as they are.
 */
export function normalizeTargets(spec: HybridModelSpec, previous: Targets, next: Targets): { targets: Targets; note?: string } {
  if (!hasExpandRule(spec)) return { targets: next };
  const w = mamba2Widths(spec, next);
  const before = mamba2Widths(spec, previous);
  const moved = MAMBA2_AXES.find((a) => w[a] !== before[a]) ?? 'hiddenSize';
  // Targets saved before the rule (or edited elsewhere) may need both Mamba axes moved.
  const fixed = completeMamba2(spec, w, moved) ?? completeMamba2(spec, w, 'hiddenSize');
  if (!fixed || fixed === w) return { targets: next };
  const sourceOf: Record<Mamba2Axis, number> = { hiddenSize: spec.hiddenSize, mambaNumHeads: spec.mamba!.numHeads, mambaHeadDim: spec.mamba!.headDim };
  const targets: Targets = { ...next };
  const changed: string[] = [];
  for (const a of MAMBA2_AXES) {
    if (fixed[a] !== w[a]) changed.push(`${LABELS[a].toLowerCase()} ${w[a]} → ${fixed[a]}`);
    if (fixed[a] === sourceOf[a]) delete targets[a];
    else targets[a] = fixed[a];
  }
  const note = `${changed.join(', ')}: heads × head channels (${fixed.mambaNumHeads} × ${fixed.mambaHeadDim} = ${fixed.mambaNumHeads * fixed.mambaHeadDim}) must be a whole multiple of the hidden size ${fixed.hiddenSize}, because transformers' Mamba2Config has an integer expand`;
  return { targets, note };
}

/** Snaps a requested value to the nearest legal value of the axis: a multiple of step within [min, max]. */
export function snapToAxis(v: number, axis: Pick<AxisVM, 'min' | 'max' | 'step'>): number {
  const lo = Math.ceil(axis.min / axis.step) * axis.step;
  const hi = Math.floor(axis.max / axis.step) * axis.step;
  if (!Number.isFinite(v)) return hi;
  return Math.min(hi, Math.max(lo, Math.round(v / axis.step) * axis.step));
}

/** Every legal value of an axis, largest first, thinned to at most `limit` entries (always keeps min and max). */
export function legalValues(axis: Pick<AxisVM, 'min' | 'max' | 'step'>, limit = 512): number[] {
  const n = Math.floor((axis.max - axis.min) / axis.step) + 1;
  const stride = Math.max(1, Math.ceil(n / limit));
  const out: number[] = [];
  for (let i = 0; i < n; i += stride) out.push(axis.max - i * axis.step);
  if (out[out.length - 1] !== axis.min && axis.min <= axis.max) out.push(axis.min);
  return out;
}

function toPruneTargets(t: Targets): PruneTargets {
  const out: PruneTargets = {};
  for (const k of ['hiddenSize', 'intermediateSize', 'mambaNumHeads', 'mambaHeadDim', 'numAttentionHeads', 'numLayers'] as const) if (t[k] !== undefined) out[k] = t[k];
  return out;
}

/**
 * Parameter count and size of the model the targets would produce. Depth targets count the layers
 * with the smallest parameter counts as dropped when no importance is at hand (the estimate is then
 * an upper bound; the pruner chooses by depth importance).
 */
export function estimateTargets(spec: HybridModelSpec, targets: Targets, bpp: number): EstimateVM {
  const src = spec.params.total;
  try {
    checkTargets(spec, toPruneTargets(targets));
  } catch (e) {
    return { targets, params: src, bytes: src * bpp, ratio: 1, error: describeError(e) };
  }
  const base = sourceDims(spec);
  const dims: PrunedDims = {
    ...base,
    hiddenSize: targets.hiddenSize ?? base.hiddenSize,
    ...(base.intermediateSize !== undefined ? { intermediateSize: targets.intermediateSize ?? base.intermediateSize } : {}),
    ...(base.mambaNumHeads !== undefined ? { mambaNumHeads: targets.mambaNumHeads ?? base.mambaNumHeads } : {}),
    ...(base.mambaHeadDim !== undefined ? { mambaHeadDim: targets.mambaHeadDim ?? base.mambaHeadDim } : {}),
    ...(base.numAttentionHeads !== undefined ? { numAttentionHeads: targets.numAttentionHeads ?? base.numAttentionHeads } : {}),
  };
  const keepLayers = targets.numLayers ?? spec.numLayers;
  if (keepLayers < spec.numLayers) {
    // Drop the cheapest layers: the count is then an upper bound of what the importance-chosen cut gives.
    const bySize = [...spec.layers].sort((a, b) => a.params - b.params || b.index - a.index);
    const drop = new Set(bySize.slice(0, spec.numLayers - keepLayers).map((l) => l.index));
    dims.keptLayers = base.keptLayers.filter((i) => !drop.has(i));
  }
  let params: number;
  try {
    params = prunedParams(spec, dims);
  } catch (e) {
    return { targets, params: src, bytes: src * bpp, ratio: 1, error: describeError(e) };
  }
  return { targets, params, bytes: Math.round(params * bpp), ratio: params / src };
}

/** Human parameter count (8.10B, 345.2M, 12.3K) and size: the webviews' formatters, so host and panels agree. */
export { formatCount as formatParams, formatBytesShort as formatBytes } from '../../../webview/shared/format';
