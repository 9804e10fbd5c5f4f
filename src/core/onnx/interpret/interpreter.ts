// A float64 reference interpreter of the graph IR (tests only): one plain-TS evaluator per op, nodes
// run in graph order, only those the requested outputs depend on. It is the oracle that ties gradient
// checks to ORT: its forward values are compared with ORT float32, its analytic gradients with finite
// differences in float64 (ORT's float64 kernel coverage is patchy, e.g. no float64 Conv).

import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph, Initializer, Node } from '../types';
import type { Evaluator } from './evaluator';
import { ATTENTION } from './ops-attention';
import { ELEMENTWISE } from './ops-elementwise';
import { LINALG } from './ops-linalg';
import { REDUCE } from './ops-reduce';
import { SHAPE_OPS } from './ops-shape';
import { decodeBytes, type Tensor } from './tensor';

const EVALUATORS: Record<string, Evaluator> = { ...ELEMENTWISE, ...LINALG, ...REDUCE, ...SHAPE_OPS, ...ATTENTION };

/** Op types the interpreter evaluates (domain is not distinguished: com.microsoft ops are listed by name). */
export function interpretedOps(): string[] {
  return Object.keys(EVALUATORS).sort();
}

export interface InterpreterOptions {
  /** Folder external-data initializer locations are relative to. */
  modelDir?: string;
}

interface Plan {
  nodes: Node[];
  /** For each node index in `nodes`, the values whose last reader it is (freed after it runs). */
  frees: string[][];
}

export class Interpreter {
  private readonly inits = new Map<string, Initializer>();
  private readonly decoded = new Map<string, Tensor>();
  private readonly plans = new Map<string, Plan>();

  constructor(
    readonly graph: Graph,
    private readonly o: InterpreterOptions = {},
  ) {
    for (const i of graph.initializers) this.inits.set(i.name, i);
    for (const n of graph.nodes) if (!EVALUATORS[n.op]) throw new Error(`interpreter: no evaluator for op ${n.domain ? n.domain + ':' : ''}${n.op} (node ${n.name}); supported: ${interpretedOps().join(', ')}`);
  }

  /** Evaluates `outputs` (default: the graph outputs). Feeds override initializers of the same name. */
  run(feeds: Map<string, Tensor> | Record<string, Tensor>, outputs?: readonly string[]): Map<string, Tensor> {
    const want = outputs ?? this.graph.outputs.map((v) => v.name);
    const env = new Map<string, Tensor>(feeds instanceof Map ? feeds : Object.entries(feeds));
    for (const [name, t] of env) this.checkFeed(name, t);
    const plan = this.plan(want);
    const keep = new Set(want);
    plan.nodes.forEach((node, k) => {
      const ins = node.inputs.map((name) => (name === '' ? undefined : this.lookup(env, name, node)));
      const outs = EVALUATORS[node.op]!(ins, node);
      node.outputs.forEach((name, i) => {
        if (name === '' || !outs[i]) return;
        this.checkDeclared(name, outs[i]!, node);
        env.set(name, outs[i]!);
      });
      for (const f of plan.frees[k]!) if (!keep.has(f) && !(feeds instanceof Map ? feeds.has(f) : f in feeds)) env.delete(f);
    });
    const result = new Map<string, Tensor>();
    for (const name of want) result.set(name, this.lookup(env, name, undefined));
    return result;
  }

  private checkFeed(name: string, t: Tensor): void {
    const v = this.graph.values.get(name);
    if (!v) return;
    const ok = v.shape.length === t.shape.length && v.shape.every((d, i) => typeof d !== 'number' || d === t.shape[i]);
    if (!ok) throw new Error(`interpreter: feed "${name}" has shape [${t.shape}], the graph declares [${v.shape}]`);
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`interpreter: feed "${name}" has ${t.data.length} values for shape [${t.shape}]`);
  }

  /** A computed value must match the static dims its graph declares (symbolic dims match anything). */
  private checkDeclared(name: string, t: Tensor, node: Node): void {
    const v = this.graph.values.get(name);
    if (!v) return;
    const ok = v.shape.length === t.shape.length && v.shape.every((d, i) => typeof d !== 'number' || d === t.shape[i]);
    if (!ok) throw new Error(`interpreter: ${node.op} node ${node.name} computed "${name}" with shape [${t.shape}], the graph declares [${v.shape}]`);
  }

  private lookup(env: Map<string, Tensor>, name: string, node: Node | undefined): Tensor {
    const hit = env.get(name);
    if (hit) return hit;
    const init = this.inits.get(name);
    if (init) return this.initializer(init);
    throw new Error(`interpreter: value "${name}"${node ? ` (read by ${node.op} ${node.name})` : ''} is not fed, not an initializer and not computed`);
  }

  private initializer(init: Initializer): Tensor {
    let t = this.decoded.get(init.name);
    if (t) return t;
    let bytes: Uint8Array;
    if (init.data.kind === 'raw') bytes = init.data.bytes;
    else {
      if (!this.o.modelDir) throw new Error(`interpreter: initializer ${init.name} is external data; pass modelDir or feed it`);
      bytes = new Uint8Array(init.data.length);
      const fd = openSync(join(this.o.modelDir, init.data.location), 'r');
      try {
        readSync(fd, bytes, 0, init.data.length, init.data.offset);
      } finally {
        closeSync(fd);
      }
    }
    t = { dtype: init.dtype, shape: init.dims.slice(), data: decodeBytes(init.dtype, bytes) };
    this.decoded.set(init.name, t);
    return t;
  }

  private plan(want: readonly string[]): Plan {
    const key = want.join('\u0000');
    const cached = this.plans.get(key);
    if (cached) return cached;
    const needed = new Set(want);
    const nodes: Node[] = [];
    for (let k = this.graph.nodes.length - 1; k >= 0; k--) {
      const n = this.graph.nodes[k]!;
      if (!n.outputs.some((o) => needed.has(o))) continue;
      nodes.push(n);
      for (const i of n.inputs) if (i !== '') needed.add(i);
    }
    nodes.reverse();
    const last = new Map<string, number>();
    nodes.forEach((n, k) => n.inputs.forEach((i) => i !== '' && last.set(i, k)));
    const frees: string[][] = nodes.map(() => []);
    for (const [name, k] of last) frees[k]!.push(name);
    const plan = { nodes, frees };
    this.plans.set(key, plan);
    return plan;
  }
}

/** One-shot evaluation. */
export function interpret(graph: Graph, feeds: Map<string, Tensor> | Record<string, Tensor>, outputs?: readonly string[], o: InterpreterOptions = {}): Map<string, Tensor> {
  return new Interpreter(graph, o).run(feeds, outputs);
}
