// The values a Compress-panel slider offers: the axis's own grid (multiples of step in [min, max]),
// narrowed for coupled axes by the other targets. Pure Mamba2 couples hidden size, heads and head
// channels (heads × head_dim must be a whole multiple of hidden_size, transformers' integer `expand`);
// the host re-checks every target with the pruner's own rules (src/core/prune/targets.ts).

import type { AxisVM, ModelVM, Targets } from '../protocol';

export function axisValues(a: AxisVM, targets: Targets, model: Pick<ModelVM, 'hiddenSize' | 'mamba'>): number[] {
  const out: number[] = [];
  const first = Math.ceil(a.min / a.step) * a.step;
  for (let v = first; v <= a.max; v += a.step) out.push(v);
  if (!a.coupled || !model.mamba) return out;
  const D = targets.hiddenSize ?? model.hiddenSize;
  const H = targets.mambaNumHeads ?? model.mamba.numHeads;
  const P = targets.mambaHeadDim ?? model.mamba.headDim;
  const ok = (d: number, h: number, p: number) => (h * p) % d === 0;
  if (a.key === 'hiddenSize') return out.filter((v) => ok(v, H, P));
  if (a.key === 'mambaNumHeads') return out.filter((v) => ok(D, v, P));
  if (a.key === 'mambaHeadDim') return out.filter((v) => ok(D, H, v));
  return out;
}
