// Graph traversal helpers for passes over built graphs (autodiff, pruning of unused nodes, statistics).

import type { Graph, Node } from './types';

/** value name → the node producing it (graph inputs and initializers have none). */
export function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) m.set(o, n);
  return m;
}

/** value name → the nodes reading it, in graph order. */
export function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i === '') continue;
      let list = m.get(i);
      if (!list) m.set(i, (list = []));
      if (!list.includes(n)) list.push(n);
    }
  }
  return m;
}

/** Removes nodes (and initializers) that no graph output depends on. Returns how many nodes were removed. */
export function pruneUnused(g: Graph): number {
  const needed = new Set(g.outputs.map((o) => o.name));
  const keep: Node[] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (n.outputs.some((o) => needed.has(o))) {
      keep.push(n);
      for (const i of n.inputs) if (i !== '') needed.add(i);
    }
  }
  const removed = g.nodes.length - keep.length;
  g.nodes = keep.reverse();
  g.initializers = g.initializers.filter((i) => needed.has(i.name));
  for (const name of [...g.values.keys()]) if (!needed.has(name) && !g.inputs.some((v) => v.name === name)) g.values.delete(name);
  return removed;
}

/** Node count per op type (for reports and tests). */
export function opHistogram(g: Graph): Record<string, number> {
  const h: Record<string, number> = {};
  for (const n of g.nodes) {
    const k = n.domain ? `${n.domain}:${n.op}` : n.op;
    h[k] = (h[k] ?? 0) + 1;
  }
  return h;
}
