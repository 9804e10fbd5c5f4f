// The pruning plan: from importance scores and targets, the kept indices of every axis of every layer,
// all referring to the source model. Written as pruning_plan.json (plan-check.ts parses it back) and applied by apply.ts.
//
// Mamba (paper §2.2): one head-channel set per layer shared by all heads (ranked by ‖s[:, d]‖ over heads);
// heads ranked within their B/C group on the kept channels, the same count per group ('group'), or the
// naive whole-layer ranking ('global' ablation). MLP neurons per layer; attention query heads within KV
// groups; hidden channels one global set. Layers dropped by --drop-layers, or the lowest by depth.kl
// (else depth.block_importance) for --num-layers.

import { HybridCompressError } from '../errors';
import type { HybridModelSpec, LayerKind } from '../arch/spec';
import { configChanges, type PrunedDims } from './config';
import type { ImportanceScores } from '../calibrate/importance-file';
import { mambaChannelScores, mambaHeadScores, rankAttentionHeads, rankMambaHeads, topK, type MambaHeadRanking } from '../calibrate/index';
import { checkTargets, type PruneTargets } from './targets';

export const PLAN_FORMAT = 'hybrid-compress/plan@1';
export { PLAN_FILE } from '../runs/layout';

export type PlanLayer =
  | { source_index: number; kind: 'M'; mamba_heads: number[]; mamba_head_channels: number[] }
  | { source_index: number; kind: '-'; mlp_neurons: number[] }
  | { source_index: number; kind: '*'; attention_heads: number[] }
  | { source_index: number; kind: 'E' };

export interface PruningPlan {
  format: typeof PLAN_FORMAT;
  /** Fingerprint id of the source checkpoint (checkpointFingerprint().id). */
  source: string;
  hidden_size: number[];
  /** Surviving layers in output order. */
  layers: PlanLayer[];
  dropped_layers: number[];
  config_changes: Record<string, unknown>;
}

export type ImportanceMetric = 'activation' | 'flap';

export interface PlanOptions {
  mambaHeadRanking?: MambaHeadRanking;
  metric?: ImportanceMetric;
  /** Kept indices best-first within each group instead of ascending. */
  sortByImportance?: boolean;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Layers to keep for a depth target (ascending source indices), and which depth score decided. */
export function selectLayers(spec: HybridModelSpec, t: PruneTargets, scores: ImportanceScores): { kept: number[]; metric?: string } {
  const L = spec.numLayers;
  if (t.dropLayers) {
    const drop = new Set(t.dropLayers);
    return { kept: range(L).filter((i) => !drop.has(i)) };
  }
  if (t.numLayers === undefined || t.numLayers === L) return { kept: range(L) };
  const kl = scores.optional('depth.kl', [L], '--num-layers');
  const metric = kl ? 'depth.kl' : 'depth.block_importance';
  const s = kl ?? scores.require('depth.block_importance', [L], '--num-layers (layer scores: depth.kl or depth.block_importance)');
  return { kept: topK(s, t.numLayers, {}, 'num-layers'), metric };
}

function mambaPlan(spec: HybridModelSpec, n: number, scores: ImportanceScores, heads: number, dim: number, o: Required<PlanOptions>): { heads: number[]; channels: number[] } {
  const { numHeads: H, headDim: P, nGroups: G } = spec.mamba!;
  const p = `layers.${n}.mamba`;
  const sort = { sortByImportance: o.sortByImportance };
  const cutChannels = dim !== P;
  const cutHeads = heads !== H;
  // Scores a cut needs are required; those only used to reorder (--sort-by-importance) are optional.
  const score = (name: string, shape: number[], needed: boolean, why: string) => (needed ? scores.require(name, shape, why) : scores.optional(name, shape, why));
  const act = scores.optional(`${p}.activations`, [H, P], 'Mamba ranking');
  let channels = range(P);
  if (cutChannels || o.sortByImportance) {
    const cs = act ? mambaChannelScores({ numHeads: H, headDim: P, data: act }) : score(`${p}.channels`, [P], cutChannels, `--mamba-head-dim for layer ${n}`);
    if (cs) channels = topK(cs, dim, sort, 'mamba-head-dim');
  }
  let kept = range(H);
  if (cutHeads || o.sortByImportance) {
    let hs: ArrayLike<number> | undefined;
    if (o.metric === 'flap') hs = score(`${p}.flap`, [H], cutHeads, `--metric flap for layer ${n}`);
    // Head scores over the kept channels (paper Eq. 22), from the raw scores.
    else if (act) hs = mambaHeadScores({ numHeads: H, headDim: P, data: act }, channels);
    else if (cutHeads && cutChannels) {
      // The recorded head scores cover all channels: cutting both axes needs the raw scores.
      scores.require(`${p}.activations`, [H, P], `--mamba-num-heads with --mamba-head-dim for layer ${n}`);
    } else hs = score(`${p}.heads`, [H], cutHeads, `--mamba-num-heads for layer ${n}`);
    if (hs) kept = rankMambaHeads(hs, G, heads / G, o.mambaHeadRanking, sort);
  }
  return { heads: kept, channels };
}

/** Builds the plan. Throws on illegal targets before reading any score. */
export function buildPlan(spec: HybridModelSpec, scores: ImportanceScores, targets: PruneTargets, fingerprint: string, options: PlanOptions = {}): PruningPlan {
  if (!spec.runnable && spec.family !== 'nemotron_h') {
    throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `${spec.family} models can be inspected but not pruned (supported: nemotron_h, mamba2)`);
  }
  checkTargets(spec, targets);
  const o: Required<PlanOptions> = { mambaHeadRanking: options.mambaHeadRanking ?? 'group', metric: options.metric ?? 'activation', sortByImportance: options.sortByImportance ?? false };
  const D = spec.hiddenSize;
  const hiddenTarget = targets.hiddenSize ?? D;
  let hidden = range(D);
  if (hiddenTarget !== D || o.sortByImportance) {
    const s = hiddenTarget !== D ? scores.require('embedding.channels', [D], '--hidden-size') : scores.optional('embedding.channels', [D], 'channel order');
    if (s) hidden = topK(s, hiddenTarget, { sortByImportance: o.sortByImportance }, 'hidden-size');
  }
  const { kept } = selectLayers(spec, targets, scores);
  const keptSet = new Set(kept);
  const layers: PlanLayer[] = [];
  for (const n of kept) {
    const kind = spec.layers[n]!.kind as LayerKind;
    if (kind === 'M') {
      const m = spec.mamba!;
      const r = mambaPlan(spec, n, scores, targets.mambaNumHeads ?? m.numHeads, targets.mambaHeadDim ?? m.headDim, o);
      layers.push({ source_index: n, kind, mamba_heads: r.heads, mamba_head_channels: r.channels });
    } else if (kind === '-') {
      const F = spec.mlp!.intermediateSize;
      const keep = targets.ffnHiddenSize ?? F;
      let neurons = range(F);
      if (keep !== F || o.sortByImportance) {
        const name = o.metric === 'flap' ? `layers.${n}.mlp.flap` : `layers.${n}.mlp.neurons`;
        const s = keep !== F ? scores.require(name, [F], `--ffn-hidden-size for layer ${n}`) : scores.optional(name, [F], 'neuron order');
        if (s) neurons = topK(s, keep, { sortByImportance: o.sortByImportance }, 'ffn-hidden-size');
      }
      layers.push({ source_index: n, kind, mlp_neurons: neurons });
    } else if (kind === '*') {
      const a = spec.attention!;
      const keep = targets.numAttentionHeads ?? a.numHeads;
      let heads = range(a.numHeads);
      if (keep !== a.numHeads || o.sortByImportance) {
        const name = `layers.${n}.attention.heads`;
        const s = keep !== a.numHeads ? scores.require(name, [a.numHeads], `--num-attention-heads for layer ${n}`) : scores.optional(name, [a.numHeads], 'head order');
        if (s) heads = rankAttentionHeads(s, a.numKvHeads, keep / a.numKvHeads, { sortByImportance: o.sortByImportance });
      }
      layers.push({ source_index: n, kind, attention_heads: heads });
    } else layers.push({ source_index: n, kind: 'E' });
  }
  const plan: PruningPlan = {
    format: PLAN_FORMAT,
    source: fingerprint,
    hidden_size: hidden,
    layers,
    dropped_layers: range(spec.numLayers).filter((i) => !keptSet.has(i)),
    config_changes: {},
  };
  plan.config_changes = configChanges(spec, planDims(spec, plan));
  return plan;
}

/** The pruned model's dimensions implied by a plan. */
export function planDims(spec: HybridModelSpec, plan: PruningPlan): PrunedDims {
  const first = <K extends PlanLayer['kind']>(kind: K) => plan.layers.find((l) => l.kind === kind) as Extract<PlanLayer, { kind: K }> | undefined;
  const m = first('M');
  const f = first('-');
  const a = first('*');
  return {
    hiddenSize: plan.hidden_size.length,
    intermediateSize: spec.mlp ? (f ? f.mlp_neurons.length : spec.mlp.intermediateSize) : undefined,
    mambaNumHeads: spec.mamba ? (m ? m.mamba_heads.length : spec.mamba.numHeads) : undefined,
    mambaHeadDim: spec.mamba ? (m ? m.mamba_head_channels.length : spec.mamba.headDim) : undefined,
    numAttentionHeads: spec.attention ? (a ? a.attention_heads.length : spec.attention.numHeads) : undefined,
    keptLayers: plan.layers.map((l) => l.source_index),
  };
}

/** pruning_plan.json text: one line per index list, so even an 8B plan stays small and diffable. */
export function formatPlan(plan: PruningPlan): string {
  const lines = [
    '{',
    `  "format": ${JSON.stringify(plan.format)},`,
    `  "source": ${JSON.stringify(plan.source)},`,
    `  "hidden_size": ${JSON.stringify(plan.hidden_size)},`,
    '  "layers": [',
    plan.layers.map((l) => `    ${JSON.stringify(l)}`).join(',\n'),
    '  ],',
    `  "dropped_layers": ${JSON.stringify(plan.dropped_layers)},`,
    `  "config_changes": ${JSON.stringify(plan.config_changes)}`,
    '}',
  ];
  return lines.join('\n') + '\n';
}
