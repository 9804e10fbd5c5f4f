// Rankings from importance scores (research/paper.md §2.2–3.3). Every ranking is deterministic: higher
// score first, ties broken by the lower index. Kept indices come back in ascending index order (the
// layout-preserving order a pruner slices with) unless `sortByImportance`.
//
// Mamba (the paper's nested, group-aware procedure), from the aggregated x scores s[H, P]:
//   channel score s_d = ‖s[:, d]‖₂ → one channel ranking shared by every head;
//   head score   f_h = ‖s[h, D_top]‖₂ over the kept channels;
//   heads ranked within their B/C group (h in group floor(h/(H/G))), the same count kept per group.

import { HybridCompressError } from '../errors';
import { checkDivides, checkLength, checkNoNaN, checkPositiveInt } from './checks';

export interface RankOptions {
  /** Return kept indices most important first instead of ascending. */
  sortByImportance?: boolean;
}

/** All indices, most important first; ties → lower index first. */
export function rankOrder(scores: ArrayLike<number>, what = 'scores'): number[] {
  checkNoNaN(what, scores);
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => (scores[b]! > scores[a]! ? 1 : scores[b]! < scores[a]! ? -1 : a - b));
}

function checkKeep(what: string, keep: number, available: number): void {
  if (!Number.isInteger(keep) || keep < 1 || keep > available) {
    throw new HybridCompressError('OPTION_INVALID', `${what} is ${keep}; choose an integer from 1 to ${available}`, { option: what });
  }
}

function finish(kept: number[], opts: RankOptions): number[] {
  return opts.sortByImportance ? kept : kept.slice().sort((a, b) => a - b);
}

/** The `keep` most important indices. */
export function topK(scores: ArrayLike<number>, keep: number, opts: RankOptions = {}, what = 'keep'): number[] {
  checkKeep(what, keep, scores.length);
  return finish(rankOrder(scores, what).slice(0, keep), opts);
}

/**
 * The `keepPerGroup` best indices of each of `nGroups` contiguous groups (index i is in group
 * floor(i / (n/nGroups))). Ascending order, or with sortByImportance: group by group, each group's
 * kept indices most important first (the paper's R = R_1[:k] ⊕ … ⊕ R_G[:k]).
 */
export function rankWithinGroups(scores: ArrayLike<number>, nGroups: number, keepPerGroup: number, opts: RankOptions = {}, what = 'keepPerGroup'): number[] {
  checkDivides(`${what}: groups`, scores.length, nGroups);
  const size = scores.length / nGroups;
  checkKeep(what, keepPerGroup, size);
  checkNoNaN(what, scores);
  const out: number[] = [];
  for (let g = 0; g < nGroups; g++) {
    const local = Array.from({ length: size }, (_, i) => scores[g * size + i]!);
    const kept = rankOrder(local, what).slice(0, keepPerGroup).map((i) => g * size + i);
    out.push(...finish(kept, opts));
  }
  return out;
}

/** Aggregated Mamba x-activation scores, [numHeads, headDim] row-major (channel h·P + p). */
export interface HeadChannelScores {
  numHeads: number;
  headDim: number;
  data: ArrayLike<number>;
}

function checkScores(s: HeadChannelScores): void {
  checkPositiveInt('numHeads', s.numHeads);
  checkPositiveInt('headDim', s.headDim);
  checkLength('mamba scores', s.data, s.numHeads * s.headDim, `[${s.numHeads}, ${s.headDim}]`);
}

/** s_d = ‖s[:, d]‖₂ (L2 over heads), one value per head channel. */
export function mambaChannelScores(s: HeadChannelScores): Float64Array {
  checkScores(s);
  const { numHeads: H, headDim: P } = s;
  const out = new Float64Array(P);
  for (let d = 0; d < P; d++) {
    let ss = 0;
    for (let h = 0; h < H; h++) ss += s.data[h * P + d]! ** 2;
    out[d] = Math.sqrt(ss);
  }
  return out;
}

/** f_h = ‖s[h, channels]‖₂; all channels when `channels` is omitted. */
export function mambaHeadScores(s: HeadChannelScores, channels?: readonly number[]): Float64Array {
  checkScores(s);
  const { numHeads: H, headDim: P } = s;
  const cs = channels ?? Array.from({ length: P }, (_, i) => i);
  for (const c of cs) {
    if (!Number.isInteger(c) || c < 0 || c >= P) throw new HybridCompressError('OPTION_INVALID', `channel index ${c} is outside [0, ${P})`, { option: 'channels' });
  }
  const out = new Float64Array(H);
  for (let h = 0; h < H; h++) {
    let ss = 0;
    for (const c of cs) ss += s.data[h * P + c]! ** 2;
    out[h] = Math.sqrt(ss);
  }
  return out;
}

/** The `keep` head channels (shared by every head) with the highest s_d. */
export function rankMambaChannels(s: HeadChannelScores, keep: number, opts: RankOptions = {}): number[] {
  return topK(mambaChannelScores(s), keep, opts, 'mamba head_dim (channels to keep)');
}

export type MambaHeadRanking = 'group' | 'global';

/**
 * Mamba heads to keep from head scores f [H]. 'group': the best keepPerGroup heads inside each B/C
 * group (the paper's group-aware ranking). 'global': the best keepPerGroup·G heads of the layer
 * regardless of group (the naive ablation); the pruner then packs them into groups in the returned
 * order, keepPerGroup per new group, which breaks the B/C pairing — the point of that ablation.
 */
export function rankMambaHeads(headScores: ArrayLike<number>, nGroups: number, keepPerGroup: number, mode: MambaHeadRanking, opts: RankOptions = {}): number[] {
  if (mode === 'group') return rankWithinGroups(headScores, nGroups, keepPerGroup, opts, 'mamba heads per group');
  if (mode !== 'global') throw new HybridCompressError('OPTION_INVALID', `mamba head ranking "${String(mode)}" is unknown; use "group" or "global"`, { option: 'mamba-head-ranking' });
  checkDivides('mamba heads per group: groups', headScores.length, nGroups);
  checkKeep('mamba heads per group', keepPerGroup, headScores.length / nGroups);
  return topK(headScores, keepPerGroup * nGroups, opts, 'mamba heads');
}

export interface MambaRankingTarget {
  nGroups: number;
  keepHeadsPerGroup: number;
  /** Head channels to keep; all (no head_dim pruning) when omitted. */
  keepChannels?: number;
  mode?: MambaHeadRanking;
  sortByImportance?: boolean;
}

export interface MambaRanking {
  heads: number[];
  channels: number[];
  channelScores: Float64Array;
  /** f_h over the kept channels. */
  headScores: Float64Array;
}

/** The paper's nested procedure: channels first, head scores on the kept channels, then heads. */
export function rankMamba(s: HeadChannelScores, target: MambaRankingTarget): MambaRanking {
  const channelScores = mambaChannelScores(s);
  const opts = { sortByImportance: target.sortByImportance };
  const channels = rankMambaChannels(s, target.keepChannels ?? s.headDim, opts);
  const headScores = mambaHeadScores(s, channels);
  const heads = rankMambaHeads(headScores, target.nGroups, target.keepHeadsPerGroup, target.mode ?? 'group', opts);
  return { heads, channels, channelScores, headScores };
}

/** Attention head score: L2 over each head's head_dim channels of the o_proj-input channel scores. */
export function attentionHeadScores(channelScores: ArrayLike<number>, numHeads: number, headDim: number): Float64Array {
  checkPositiveInt('numHeads', numHeads);
  checkPositiveInt('headDim', headDim);
  checkLength('attention channel scores', channelScores, numHeads * headDim, `[${numHeads}·${headDim}]`);
  const out = new Float64Array(numHeads);
  for (let h = 0; h < numHeads; h++) {
    let ss = 0;
    for (let c = 0; c < headDim; c++) ss += channelScores[h * headDim + c]! ** 2;
    out[h] = Math.sqrt(ss);
  }
  return out;
}

/** Query heads to keep, ranked within each KV group (query head i reads KV head floor(i/(Hq/Hkv))), same count per group. */
export function rankAttentionHeads(headScores: ArrayLike<number>, numKvHeads: number, keepPerGroup: number, opts: RankOptions = {}): number[] {
  return rankWithinGroups(headScores, numKvHeads, keepPerGroup, opts, 'attention heads per KV group');
}
