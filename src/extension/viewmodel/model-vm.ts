// Model and Compress-panel view models: what the Checkpoints tree and the Compress panel show about a
// checkpoint, computed in the host from the spec (headers only, no tensor data). No vscode import, so
// it is unit-tested under plain node.

import type { Checkpoint } from '../../core/checkpoint/checkpoint';
import type { HybridModelSpec } from '../../core/arch/spec';
import { axisRanges, checkTargets, type PruneTargets } from '../../core/prune/targets';
import { axis, PRUNE_AXIS_KEYS, WIDTH_AXES } from '../../core/prune/axes';
import { prunedParams, sourceDims, type PrunedDims } from '../../core/prune/config';
import { describeError } from '../../core/errors';
import type { AxisVM, EstimateVM, LayerKindVM, ModelVM, Targets } from '../../../webview/protocol';
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

const MAMBA2_COUPLING =
  "heads × head channels must stay a whole multiple of the hidden size: transformers' Mamba2Config stores the inner size as an integer expand × hidden_size";

/** The axes this model can be pruned on, with their legal values (from the pruner's own rules). */
export function compressAxes(spec: HybridModelSpec): AxisVM[] {
  const ranges = axisRanges(spec);
  const out: AxisVM[] = [];
  for (const { key, label, flag } of WIDTH_AXES) {
    const r = ranges[key];
    if (!r) continue;
    const coupled = spec.family === 'mamba2' && key !== 'ffnHiddenSize' && key !== 'numAttentionHeads' ? MAMBA2_COUPLING : undefined;
    out.push({ key, label, option: flag, min: r.min, max: r.max, step: r.step, rule: r.rule, ...(coupled ? { coupled } : {}) });
  }
  const depth = axis('numLayers');
  out.push({ key: depth.key, label: depth.label, option: depth.flag, min: 1, max: spec.numLayers, step: 1, rule: `an integer between 1 and ${spec.numLayers}` });
  return out;
}

/** The panel's targets are PruneTargets already (same axis names, axes.ts); this drops absent ones. */
export function toPruneTargets(t: Targets): PruneTargets {
  const out: PruneTargets = {};
  for (const k of PRUNE_AXIS_KEYS) if (t[k] !== undefined) out[k] = t[k];
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
    ...(base.intermediateSize !== undefined ? { intermediateSize: targets.ffnHiddenSize ?? base.intermediateSize } : {}),
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
