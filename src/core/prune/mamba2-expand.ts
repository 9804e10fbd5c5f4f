// The pure Mamba2 family's extra pruning rule. transformers' Mamba2Config declares `expand: int` and
// its validate_architecture requires hidden_size × expand == num_heads × head_dim (configuration_mamba2.py);
// the mixer sizes its projections by int(expand × hidden_size) (modeling_mamba2.py, Mamba2Mixer).
// So a pruned mamba2 model is expressible only when num_heads × head_dim is a whole multiple of
// hidden_size. This module says which targets satisfy that, and completes a partial choice.

import type { HybridModelSpec } from '../arch/spec';

export const MAMBA2_EXPAND_RULE =
  "num_heads × head_dim must be a whole multiple of hidden_size: transformers' Mamba2Config has an integer expand (hidden_size × expand = num_heads × head_dim)";

export interface Mamba2Widths {
  hiddenSize: number;
  mambaNumHeads: number;
  mambaHeadDim: number;
}

export type Mamba2Axis = keyof Mamba2Widths;

export function mamba2ExpandOk(w: Mamba2Widths): boolean {
  return (w.mambaNumHeads * w.mambaHeadDim) % w.hiddenSize === 0;
}

/** The rule applies to pure Mamba2 checkpoints only (nemotron_h sizes its mixer by heads × head_dim). */
export function hasExpandRule(spec: HybridModelSpec): boolean {
  return spec.family === 'mamba2' && spec.mamba !== undefined;
}

/** Every value each axis may take on its own (range and step rules, before the expand rule). */
function axisGrid(spec: HybridModelSpec, axis: Mamba2Axis): number[] {
  const m = spec.mamba!;
  const out: number[] = [];
  if (axis === 'hiddenSize') for (let v = 1; v <= spec.hiddenSize; v++) out.push(v);
  else if (axis === 'mambaNumHeads') for (let v = m.nGroups; v <= m.numHeads; v += m.nGroups) out.push(v);
  else for (let v = 1; v <= m.headDim; v++) out.push(v);
  return out;
}

/** Values of `axis` that satisfy the rule with the other two axes as given (ascending). */
export function legalWithOthers(spec: HybridModelSpec, axis: Mamba2Axis, w: Mamba2Widths): number[] {
  return axisGrid(spec, axis).filter((v) => mamba2ExpandOk({ ...w, [axis]: v }));
}

const AXES: readonly Mamba2Axis[] = ['hiddenSize', 'mambaNumHeads', 'mambaHeadDim'];

/**
 * The legal widths nearest `w` that keep `fixed` (and, when a Mamba axis is fixed, the hidden size):
 * the other Mamba axis moves first, then both; the hidden size moves only when it is not held. Nearest
 * means smallest change of the inner size heads × head_dim, then of the moved axes. Undefined when
 * no legal completion exists.
 */
export function completeMamba2(spec: HybridModelSpec, w: Mamba2Widths, fixed: Mamba2Axis): Mamba2Widths | undefined {
  if (mamba2ExpandOk(w)) return w;
  const inner = w.mambaNumHeads * w.mambaHeadDim;
  const cost = (x: Mamba2Widths) => Math.abs(x.mambaNumHeads * x.mambaHeadDim - inner) * 1e6 + AXES.reduce((s, a) => s + Math.abs(x[a] - w[a]), 0);
  const best = (cands: Mamba2Widths[]) => cands.filter(mamba2ExpandOk).sort((a, b) => cost(a) - cost(b))[0];
  const heads = axisGrid(spec, 'mambaNumHeads');
  const dims = axisGrid(spec, 'mambaHeadDim');
  const other: Mamba2Axis | undefined = fixed === 'mambaNumHeads' ? 'mambaHeadDim' : fixed === 'mambaHeadDim' ? 'mambaNumHeads' : undefined;
  if (other) {
    const one = best(axisGrid(spec, other).map((v) => ({ ...w, [other]: v })));
    if (one) return one;
  }
  const both: Mamba2Widths[] = [];
  for (const h of fixed === 'mambaNumHeads' ? [w.mambaNumHeads] : heads) for (const p of fixed === 'mambaHeadDim' ? [w.mambaHeadDim] : dims) both.push({ ...w, mambaNumHeads: h, mambaHeadDim: p });
  return best(both);
}

/** Values of `axis` for which some legal completion exists (holding the hidden size when a Mamba axis moves). */
export function reachableValues(spec: HybridModelSpec, axis: Mamba2Axis, w: Mamba2Widths): number[] {
  if (axis !== 'hiddenSize') {
    // With the hidden size held, heads h is reachable when some head_dim p makes h·p a multiple of it (and vice versa).
    const other: Mamba2Axis = axis === 'mambaNumHeads' ? 'mambaHeadDim' : 'mambaNumHeads';
    const others = axisGrid(spec, other);
    return axisGrid(spec, axis).filter((v) => others.some((o) => (v * o) % w.hiddenSize === 0));
  }
  // A hidden size d is reachable when it divides some heads × head_dim.
  const inners = new Set<number>();
  for (const h of axisGrid(spec, 'mambaNumHeads')) for (const p of axisGrid(spec, 'mambaHeadDim')) inners.add(h * p);
  const divides = new Set<number>();
  for (const i of inners) {
    for (let d = 1; d * d <= i; d++) {
      if (i % d === 0) divides.add(d).add(i / d);
    }
  }
  return axisGrid(spec, 'hiddenSize').filter((d) => divides.has(d));
}
