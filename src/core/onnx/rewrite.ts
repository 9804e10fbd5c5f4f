// Node-by-node graph rewriting: a rule may replace a node by a subgraph it emits with a GraphBuilder.
// The result is a new Graph (the input is not modified); the replacement nodes take the replaced node's
// place in the node list, so the list stays in topological order, and its outputs keep their names, so
// consumers and graph outputs need no change.

import { GraphBuilder } from './builder';
import { consumers } from './walk';
import type { Graph, Node, Value } from './types';

/**
 * Returns undefined to keep `node`, or one Value per output of `node` (undefined for an output nothing
 * reads). `input(i)` is the node's i-th input (undefined when omitted).
 */
export type RewriteRule = (node: Node, b: GraphBuilder, input: (i: number) => Value | undefined) => (Value | undefined)[] | undefined;

export function rewriteNodes(graph: Graph, rule: RewriteRule): Graph {
  const out: Graph = {
    ...graph,
    inputs: graph.inputs.slice(),
    outputs: graph.outputs.slice(),
    nodes: graph.nodes.slice(),
    initializers: graph.initializers.slice(),
    values: new Map(graph.values),
    opsets: graph.opsets.map((o) => ({ ...o })),
    metadata: { ...graph.metadata },
  };
  // The builder sees every existing name, so what it emits never collides; it appends to out.nodes,
  // from where each replacement is moved to its place.
  const b = new GraphBuilder(out);
  const start = out.nodes.length;
  const readers = consumers(graph);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const input = (node: Node) => (i: number) => (node.inputs[i] ? out.values.get(node.inputs[i]!) : undefined);
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    const repl = rule(node, b, input(node));
    if (!repl) {
      nodes.push(node);
      continue;
    }
    const emitted = out.nodes.splice(start);
    const rename = new Map<string, string>();
    node.outputs.forEach((name, i) => {
      const v = repl[i];
      if (!v) {
        if (name !== '' && (readers.has(name) || graphOutputs.has(name))) throw new Error(`rewrite of ${node.name} (${node.op}): output "${name}" is used but the rule gave no value for it`);
        out.values.delete(name);
        return;
      }
      if (!emitted.some((n) => n.outputs.includes(v.name))) throw new Error(`rewrite of ${node.name} (${node.op}): output ${i} must be computed by the replacement nodes`);
      rename.set(v.name, name);
      out.values.delete(v.name);
    });
    for (const n of emitted) {
      n.inputs = n.inputs.map((x) => rename.get(x) ?? x);
      const i = n.outputs.findIndex((x) => rename.has(x));
      if (i < 0) continue;
      n.outputs = n.outputs.map((x) => rename.get(x) ?? x);
      // The node named after a value it no longer outputs would make later builders' names collide:
      // it takes the replaced node's (now free, unique) name.
      const k = node.outputs.indexOf(n.outputs[i]!);
      n.name = k === 0 ? node.name : `${node.name}/${k}`;
    }
    nodes.push(...emitted);
  }
  out.nodes = nodes;
  return out;
}
