// Shared helpers for family adapters: tensor specs, layer specs and parameter totals.

import type { Component, HybridModelSpec, LayerKind, LayerSpec, TensorRole, TensorSpec } from './spec';
import { COMPONENTS, numel } from './spec';

export function tensor(name: string, shape: number[], role: TensorRole, component: Component, keys: string[]): TensorSpec {
  return { name, shape, role, component, keys };
}

export function layer(index: number, kind: LayerKind, prefix: string, tensors: TensorSpec[]): LayerSpec {
  return { index, kind, prefix, tensors, params: tensors.reduce((s, t) => s + numel(t.shape), 0) };
}

export function emptyByComponent(): Record<Component, number> {
  return Object.fromEntries(COMPONENTS.map((c) => [c, 0])) as Record<Component, number>;
}

/** Totals over every tensor of the spec; the tied lm_head counts zero (it is the embedding). */
export function countParams(spec: Pick<HybridModelSpec, 'embedding' | 'normF' | 'lmHead' | 'layers'>): HybridModelSpec['params'] {
  const by = emptyByComponent();
  const add = (t: TensorSpec) => {
    by[t.component] += numel(t.shape);
  };
  add(spec.embedding);
  for (const l of spec.layers) l.tensors.forEach(add);
  add(spec.normF);
  if (spec.lmHead) add(spec.lmHead);
  const total = Object.values(by).reduce((a, b) => a + b, 0);
  return { total, byComponent: by };
}

/** Picks the trunk prefix ("backbone." or "model.") and embedding leaf name from the tensor names present. */
export function detectNaming(names: ReadonlySet<string> | undefined, defaults: { prefix: string; embedding: string }): { prefix: string; embeddingName: string } {
  if (!names || names.size === 0) return { prefix: defaults.prefix, embeddingName: `${defaults.prefix}${defaults.embedding}.weight` };
  for (const prefix of ['backbone.', 'model.']) {
    for (const leaf of ['embeddings', 'embedding', 'embed_tokens']) {
      const n = `${prefix}${leaf}.weight`;
      if (names.has(n)) return { prefix, embeddingName: n };
    }
  }
  const prefix = [...names].some((n) => n.startsWith('model.')) ? 'model.' : defaults.prefix;
  return { prefix, embeddingName: `${prefix}${defaults.embedding}.weight` };
}
