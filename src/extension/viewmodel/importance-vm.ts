// Importance view model: from a calibration run's importance.safetensors (src/core/calibrate/importance-file.ts) and the
// current targets, everything the Importance view draws — with the kept/cut decision taken by the
// pruner's own plan builder, so the picture shows exactly the cut `prune` would make. No vscode import.

import type { HybridModelSpec } from '../../core/arch/spec';
import { describeError } from '../../core/errors';
import { buildPlan, type PruningPlan } from '../../core/prune/plan';
import type { ImportanceScores } from '../../core/calibrate/importance-file';
import { toPruneTargets } from './model-vm';
import type { HeatCell, ImportanceState, LayerKindVM, Targets } from '../../../webview/protocol';

export interface RunInfo {
  id: string;
  dir: string;
  created: string;
  data?: string;
}

/** Histogram of `values` in `bins` equal-width bins over [min, max]. */
export function histogram(values: ArrayLike<number>, bins: number): { lo: number; hi: number; count: number }[] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return [];
  const width = max > min ? (max - min) / bins : 1;
  const out = Array.from({ length: bins }, (_, i) => ({ lo: min + i * width, hi: min + (i + 1) * width, count: 0 }));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    out[Math.min(bins - 1, Math.floor((v - min) / width))]!.count++;
  }
  return out;
}

/** The smallest kept score: the value of the kept/cut line on a distribution. */
export function thresholdOf(values: ArrayLike<number>, kept: readonly number[]): number {
  let t = Infinity;
  for (const i of kept) t = Math.min(t, values[i]!);
  return t === Infinity ? -Infinity : t;
}

/** Channels sorted by score (best first), thinned to about `limit` points but keeping both ends and the cut. */
export function sortedChannels(scores: ArrayLike<number>, keep: number, limit = 512): { rank: number; channel: number; score: number }[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const stride = Math.max(1, Math.ceil(order.length / limit));
  const ranks = new Set<number>();
  for (let r = 0; r < order.length; r += stride) ranks.add(r);
  for (const r of [order.length - 1, keep - 1, keep]) if (r >= 0 && r < order.length) ranks.add(r);
  return [...ranks].sort((a, b) => a - b).map((rank) => ({ rank, channel: order[rank]!, score: scores[order[rank]!]! }));
}


/**
 * Builds the view model. When the targets are illegal or the file lacks what they need, everything is
 * drawn as kept and `state.planError` says why (the view shows it instead of a cut line).
 */
export function importanceVM(spec: HybridModelSpec, scores: ImportanceScores, targets: Targets, run: RunInfo, modelDir: string): ImportanceState {
  let plan: PruningPlan | undefined;
  let planError: string | undefined;
  try {
    plan = buildPlan(spec, scores, toPruneTargets(targets), 'view');
  } catch (e) {
    planError = describeError(e);
  }
  const keptOf = (n: number) => plan?.layers.find((l) => l.source_index === n);
  const dropped = new Set(plan?.dropped_layers ?? []);
  const L = spec.numLayers;
  const block = scores.has('depth.block_importance') ? scores.optional('depth.block_importance', [L], 'depth strip') : undefined;
  const kl = scores.has('depth.kl') ? scores.optional('depth.kl', [L], 'depth strip') : undefined;
  const name = modelDir.split(/[\\/]/).filter(Boolean).pop() ?? modelDir;
  const state: ImportanceState = {
    model: { dir: modelDir, name, pattern: spec.pattern },
    run,
    layers: spec.layers.map((l) => ({
      index: l.index,
      kind: l.kind as LayerKindVM,
      ...(block ? { blockImportance: block[l.index]! } : {}),
      ...(kl ? { kl: kl[l.index]! } : {}),
      kept: !dropped.has(l.index),
    })),
    targets,
  };

  const m = spec.mamba;
  if (m && spec.pattern.includes('M')) {
    const rows: { layer: number; cells: HeatCell[] }[] = [];
    const perGroup = m.numHeads / m.nGroups;
    for (const l of spec.layers) {
      if (l.kind !== 'M') continue;
      const hs = scores.has(`layers.${l.index}.mamba.heads`) ? scores.require(`layers.${l.index}.mamba.heads`, [m.numHeads], 'heatmap') : undefined;
      if (!hs) continue;
      const pl = keptOf(l.index);
      const kept = new Set(pl && pl.kind === 'M' ? pl.mamba_heads : dropped.has(l.index) ? [] : Array.from({ length: m.numHeads }, (_, i) => i));
      rows.push({ layer: l.index, cells: Array.from(hs, (score, head) => ({ head, group: Math.floor(head / perGroup), score, kept: kept.has(head) })) });
    }
    if (rows.length > 0) state.mamba = { nGroups: m.nGroups, numHeads: m.numHeads, keepHeads: targets.mambaNumHeads ?? m.numHeads, rows };
  }

  const f = spec.mlp;
  if (f && spec.pattern.includes('-')) {
    const F = f.intermediateSize;
    const rows: NonNullable<ImportanceState['mlp']>['rows'] = [];
    for (const l of spec.layers) {
      if (l.kind !== '-' || !scores.has(`layers.${l.index}.mlp.neurons`)) continue;
      const s = scores.require(`layers.${l.index}.mlp.neurons`, [F], 'FFN distribution');
      const pl = keptOf(l.index);
      const kept = pl && pl.kind === '-' ? pl.mlp_neurons : [];
      let min = Infinity;
      let max = -Infinity;
      for (const v of s) if (Number.isFinite(v)) (min = Math.min(min, v)), (max = Math.max(max, v));
      rows.push({ layer: l.index, bins: histogram(s, 32), threshold: thresholdOf(s, kept), min, max });
    }
    if (rows.length > 0) state.mlp = { keep: targets.ffnHiddenSize ?? F, size: F, rows };
  }

  const a = spec.attention;
  if (a && spec.pattern.includes('*')) {
    const rows: NonNullable<ImportanceState['attention']>['rows'] = [];
    for (const l of spec.layers) {
      if (l.kind !== '*' || !scores.has(`layers.${l.index}.attention.heads`)) continue;
      const s = scores.require(`layers.${l.index}.attention.heads`, [a.numHeads], 'attention heads');
      const pl = keptOf(l.index);
      const kept = new Set(pl && pl.kind === '*' ? pl.attention_heads : []);
      rows.push({ layer: l.index, heads: Array.from(s, (score, head) => ({ head, score, kept: kept.has(head) })) });
    }
    if (rows.length > 0) state.attention = { keep: targets.numAttentionHeads ?? a.numHeads, numKvHeads: a.numKvHeads, rows };
  }

  if (scores.has('embedding.channels')) {
    const s = scores.require('embedding.channels', [spec.hiddenSize], 'embedding channels');
    const keep = targets.hiddenSize ?? spec.hiddenSize;
    state.embedding = { keep, size: spec.hiddenSize, sorted: sortedChannels(s, keep) };
  }
  if (planError !== undefined) state.planError = planError;
  return state;
}
