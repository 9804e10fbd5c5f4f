// What a pruning plan did to the Mamba B/C grouping: the pruned model puts its k-th kept head in group
// floor(k / (kept/G)), while the teacher had source head h in group floor(h / (H/G)). Group-aware plans
// never move a head to another group; the naive 'global' ranking can (paper Eq. 16–17, Fig. 3).

import type { HybridModelSpec } from '../../src/core/arch/spec';
import type { PruningPlan } from '../../src/core/prune/plan';

export function misgroupedHeads(spec: HybridModelSpec, plan: PruningPlan): { misgrouped: number; kept: number } {
  let misgrouped = 0;
  let kept = 0;
  if (!spec.mamba) return { misgrouped, kept };
  const { numHeads: H, nGroups: G } = spec.mamba;
  for (const l of plan.layers) {
    if (l.kind !== 'M') continue;
    const perNew = l.mamba_heads.length / G;
    l.mamba_heads.forEach((h, k) => {
      if (Math.floor(k / perNew) !== Math.floor(h / (H / G))) misgrouped++;
    });
    kept += l.mamba_heads.length;
  }
  return { misgrouped, kept };
}
