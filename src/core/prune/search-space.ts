// The architecture search space (Minitron-SSM §4, paper.md "Search space"): every value of each axis
// that is legal for the model (Mamba heads in multiples of n_groups, attention heads in multiples of
// the KV heads, the Mamba2 integer-expand rule, any head_dim) on a per-axis grid step, bounded by the
// largest cut allowed per width axis and for depth; the candidates are the combinations whose parameter
// count lies within the tolerance of the budget.
//
// Defaults are the paper's. Its 4B search ranged over embedding 3072–4096, FFN 9984–21504, Mamba heads
// 64–128, head channels 32–64 and 4–26 of 52 layers removed, attention untouched: as cuts of Nemotron-H
// 8B, hidden 25 %, FFN 54 %, heads 50 %, head channels 50 %, depth 50 %. Its Table 1 values are
// multiples of 256 (embedding) and 128 (FFN) and any head_dim, so the default steps are hidden/16 and
// FFN/168 (256 and 128 at 8B), every legal head count, every head_dim and every layer count. The paper
// gives no budget tolerance; Minitron (2407.14679) kept candidates within ±5 %, and every 4B candidate of
// Table 1 lies within −3.6 % … +2.2 % of Nemotron-H-4B's 4,489,223,040 parameters.
// ModelOpt's NAS (research/modelopt.md §2.1–2.2) instead uses one 40 % width / 20 % depth limit and
// divisors 256 / 512 / 8 / 2 (hidden / FFN / head_dim / layers), which cannot reach the paper's 4B.

import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import type { ImportanceScores } from '../calibrate/importance-file';
import { PRUNE_AXES, WIDTH_AXES, axis, type PruneAxisKey, type WidthAxisKey } from './axes';
import type { PrunedDims } from './config';
import { layerCounts, paramsFor } from './param-count';
import { selectLayers } from './plan';
import { mamba2ExpandOk, type PruneTargets } from './targets';

/** Largest relative cut of each width axis (0.25: keep at least 75 %). */
export type WidthLimits = Record<WidthAxisKey, number>;
export type GridSteps = Partial<Record<PruneAxisKey, number>>;

export const PAPER_WIDTH_LIMITS: Readonly<WidthLimits> = { hiddenSize: 0.25, ffnHiddenSize: 0.54, mambaNumHeads: 0.5, mambaHeadDim: 0.5, numAttentionHeads: 0 };
export const PAPER_DEPTH_LIMIT = 0.5;
export const SEARCH_TOLERANCE = 0.05;

const pctText = (f: number) => `${Number((f * 100).toFixed(4))}%`;

/** `--max-width-pruning` text of per-axis limits (its default is PAPER_WIDTH_LIMITS). */
export function formatWidthLimits(l: Readonly<WidthLimits>): string {
  return WIDTH_AXES.map((a) => `${a.flag}=${pctText(l[a.key])}`).join(',');
}

function optionError(option: string, message: string): HybridCompressError {
  return new HybridCompressError('OPTION_INVALID', `--${option} ${message}`, { option });
}

function parseFraction(text: string, option: string, entry: string): number {
  const t = text.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(t);
  const v = pct ? Number(pct[1]) / 100 : /^\d*\.?\d+(?:e-?\d+)?$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(v) || v < 0 || v >= 1) throw optionError(option, `${JSON.stringify(entry)}: a cut must be a fraction like 0.25 or 25%, from 0 up to (not including) 1`);
  return v;
}

/**
 * `--max-width-pruning`: one fraction for every width axis (ModelOpt's max_width_pruning), or per-axis
 * `axis=fraction` entries (axis = the target's flag, e.g. hidden-size=25%), or a fraction followed by
 * per-axis overrides. Axes an axis-only list leaves out are not pruned.
 */
export function parseWidthLimits(text: string, option = 'max-width-pruning'): WidthLimits {
  const out: WidthLimits = { hiddenSize: 0, ffnHiddenSize: 0, mambaNumHeads: 0, mambaHeadDim: 0, numAttentionHeads: 0 };
  const entries = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (entries.length === 0) throw optionError(option, 'is empty; give a fraction like 0.4 or entries like hidden-size=25%');
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const eq = e.indexOf('=');
    if (eq < 0) {
      if (i !== 0) throw optionError(option, `${JSON.stringify(e)}: a bare fraction (every width axis) may only come first`);
      const v = parseFraction(e, option, e);
      for (const a of WIDTH_AXES) out[a.key] = v;
      return;
    }
    const name = e.slice(0, eq).trim();
    const a = WIDTH_AXES.find((x) => x.flag === name);
    if (!a) throw optionError(option, `${JSON.stringify(e)}: unknown axis "${name}"; axes are ${WIDTH_AXES.map((x) => x.flag).join(', ')}`);
    if (seen.has(name)) throw optionError(option, `names ${name} twice`);
    seen.add(name);
    out[a.key] = parseFraction(e.slice(eq + 1), option, e);
  });
  return out;
}

/** `--grid-steps`: per-axis `axis=step` entries (axis = the target's flag, plus num-layers). */
export function parseGridSteps(text: string, option = 'grid-steps'): GridSteps {
  const out: GridSteps = {};
  for (const e of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = e.indexOf('=');
    const name = eq < 0 ? e : e.slice(0, eq).trim();
    const a = PRUNE_AXES.find((x) => x.flag === name);
    if (!a) throw optionError(option, `${JSON.stringify(e)}: expected axis=step with axis one of ${PRUNE_AXES.map((x) => x.flag).join(', ')}`);
    const raw = eq < 0 ? '' : e.slice(eq + 1).trim();
    if (!/^\d+$/.test(raw) || Number(raw) < 1) throw optionError(option, `${JSON.stringify(e)}: the step must be an integer ≥ 1`);
    if (out[a.key] !== undefined) throw optionError(option, `names ${name} twice`);
    out[a.key] = Number(raw);
  }
  return out;
}

/** The default grid step of every axis the model has (see the header for where each comes from). */
export function defaultGridSteps(spec: HybridModelSpec): Required<GridSteps> {
  return {
    hiddenSize: Math.max(1, Math.round(spec.hiddenSize / 16)),
    ffnHiddenSize: Math.max(1, Math.round((spec.mlp?.intermediateSize ?? 1) / 168)),
    mambaNumHeads: spec.mamba?.nGroups ?? 1,
    mambaHeadDim: 1,
    numAttentionHeads: spec.attention?.numKvHeads ?? 1,
    numLayers: 1,
  };
}

export interface SearchBounds {
  targetParams: number;
  /** Relative: 0.05 keeps candidates within ±5 % of the target. */
  tolerance: number;
  widthLimits: Readonly<WidthLimits>;
  /** Largest share of layers dropped. */
  depthLimit: number;
  /** Overrides of the default grid steps. */
  steps?: GridSteps;
}

/** The values of every searched axis, source size first, then descending. Axes the model lacks are absent. */
export type SearchGrid = Partial<Record<PruneAxisKey, number[]>> & { hiddenSize: number[]; numLayers: number[] };

/** The source size, then the multiples of `step` below it down to (1 − maxCut)·size, descending. */
export function axisChoices(size: number, step: number, maxCut: number, min = 1): number[] {
  const floor = Math.max(min, Math.ceil((1 - maxCut) * size - 1e-9));
  const out = [size];
  for (let v = Math.floor((size - 1) / step) * step; v >= floor; v -= step) if (v > 0) out.push(v);
  return out;
}

/** The source size of each axis the model has (width axes only where their layers exist). */
export function axisSizes(spec: HybridModelSpec): Partial<Record<PruneAxisKey, number>> {
  const kinds = new Set(spec.pattern);
  const out: Partial<Record<PruneAxisKey, number>> = { hiddenSize: spec.hiddenSize, numLayers: spec.numLayers };
  if (spec.mlp && kinds.has('-')) out.ffnHiddenSize = spec.mlp.intermediateSize;
  if (spec.mamba && kinds.has('M')) {
    out.mambaNumHeads = spec.mamba.numHeads;
    out.mambaHeadDim = spec.mamba.headDim;
  }
  if (spec.attention && kinds.has('*')) out.numAttentionHeads = spec.attention.numHeads;
  return out;
}

export function searchGrid(spec: HybridModelSpec, b: Pick<SearchBounds, 'widthLimits' | 'depthLimit' | 'steps'>): SearchGrid {
  const steps = { ...defaultGridSteps(spec), ...b.steps };
  const sizes = axisSizes(spec);
  // Heads stay legal whatever the step: multiples of n_groups (Mamba) and of the KV heads (attention).
  const multipleOf: Partial<Record<PruneAxisKey, { of: number; rule: string }>> = {};
  if (spec.mamba) multipleOf.mambaNumHeads = { of: spec.mamba.nGroups, rule: `n_groups=${spec.mamba.nGroups}` };
  if (spec.attention) multipleOf.numAttentionHeads = { of: spec.attention.numKvHeads, rule: `num_key_value_heads=${spec.attention.numKvHeads}` };
  // MoE layers fix the hidden size (expert pruning is not supported).
  const frozen = new Set<PruneAxisKey>(spec.pattern.includes('E') ? ['hiddenSize'] : []);
  const grid = {} as SearchGrid;
  for (const a of PRUNE_AXES) {
    const size = sizes[a.key];
    if (size === undefined) continue;
    const step = steps[a.key];
    const m = multipleOf[a.key];
    if (m && step % m.of !== 0) throw optionError('grid-steps', `${a.flag}=${step}: must be a multiple of ${m.rule}, so the same number of heads stays in every group`);
    const cut = frozen.has(a.key) ? 0 : a.key === 'numLayers' ? b.depthLimit : b.widthLimits[a.key as WidthAxisKey];
    grid[a.key] = axisChoices(size, step, cut, m?.of ?? 1);
  }
  return grid;
}

export interface Candidate {
  id: number;
  targets: PruneTargets;
  dims: PrunedDims;
  params: number;
}

export interface Enumeration {
  grid: SearchGrid;
  /** Size of the full Cartesian product. */
  gridSize: number;
  /** Candidates within the tolerance, closest to the target first. */
  candidates: Candidate[];
  /** Smallest and largest parameter count on the grid (for "nothing within the tolerance" messages). */
  range: { min: number; max: number };
  notes: string[];
}

const hasDepthScores = (spec: HybridModelSpec, scores: ImportanceScores) => ['depth.kl', 'depth.block_importance'].some((n) => scores.optional(n, [spec.numLayers], 'the depth axis') !== undefined);

/**
 * Every grid combination within the tolerance. Parameter counts are closed-form (param-count.ts); the
 * layers a depth candidate keeps are the highest-scored ones (selectLayers), so its count is exact.
 */
export function enumerateCandidates(spec: HybridModelSpec, scores: ImportanceScores, b: SearchBounds): Enumeration {
  const notes: string[] = [];
  const grid = searchGrid(spec, b);
  if (grid.numLayers.length > 1 && !hasDepthScores(spec, scores)) {
    notes.push(`${scores.source} has no layer scores (calibrate with --depth kl or bi), so the search keeps all ${spec.numLayers} layers`);
    grid.numLayers = [spec.numLayers];
  }
  const depth = grid.numLayers.map((n) => {
    const kept = selectLayers(spec, { numLayers: n }, scores).kept;
    return { n, kept, counts: layerCounts(spec, kept) };
  });
  const one = [undefined];
  const ffn = grid.ffnHiddenSize ?? one;
  const heads = grid.mambaNumHeads ?? one;
  const hdim = grid.mambaHeadDim ?? one;
  const attn = grid.numAttentionHeads ?? one;
  // A hair of slack, so a count exactly at the edge of the window is not lost to rounding.
  const slack = 1e-9 * b.targetParams;
  const lo = b.targetParams * (1 - b.tolerance) - slack;
  const hi = b.targetParams * (1 + b.tolerance) + slack;
  const mamba2 = spec.family === 'mamba2' ? spec.mamba : undefined;
  const out: Candidate[] = [];
  const range = { min: Infinity, max: -Infinity };
  let gridSize = 0;
  for (const hidden of grid.hiddenSize)
    for (const f of ffn)
      for (const h of heads)
        for (const p of hdim) {
          if (mamba2 && !mamba2ExpandOk(hidden, h ?? mamba2.numHeads, p ?? mamba2.headDim)) {
            gridSize += attn.length * depth.length;
            continue;
          }
          for (const q of attn) {
            const width = { hiddenSize: hidden, intermediateSize: f ?? spec.mlp?.intermediateSize, mambaNumHeads: h ?? spec.mamba?.numHeads, mambaHeadDim: p ?? spec.mamba?.headDim, numAttentionHeads: q ?? spec.attention?.numHeads };
            for (const d of depth) {
              gridSize++;
              const params = paramsFor(spec, width, d.counts);
              if (params < range.min) range.min = params;
              if (params > range.max) range.max = params;
              if (params < lo || params > hi) continue;
              const targets: PruneTargets = { hiddenSize: hidden, numLayers: d.n };
              if (f !== undefined) targets.ffnHiddenSize = f;
              if (h !== undefined) targets.mambaNumHeads = h;
              if (p !== undefined) targets.mambaHeadDim = p;
              if (q !== undefined) targets.numAttentionHeads = q;
              out.push({ id: 0, targets, dims: { ...width, keptLayers: d.kept }, params });
            }
          }
        }
  out.sort((x, y) => Math.abs(x.params - b.targetParams) - Math.abs(y.params - b.targetParams) || y.params - x.params);
  out.forEach((c, i) => (c.id = i + 1));
  return { grid, gridSize, candidates: out, range, notes };
}

/** The grid as search.json names it (ModelOpt's hparam names). */
export function gridReport(grid: SearchGrid): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const a of PRUNE_AXES) if (grid[a.key]) out[axis(a.key).modelopt] = grid[a.key]!;
  return out;
}
