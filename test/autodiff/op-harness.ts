// One VJP rule check: build a small graph around the op, reduce it to a scalar with a random weighting
// (so every output direction is exercised), then
//  (a) forward values: interpreter (float64) vs ORT (float32);
//  (b) analytic gradients (backward graph on the interpreter) vs central finite differences, float64;
//  (c) the backward graph on ORT float32 vs the interpreter.

import assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/core/onnx/builder';
import { gradientCheck } from '../../src/core/onnx/autodiff/gradient-check';
import type { AutodiffOptions } from '../../src/core/onnx/autodiff/context';
import { interpret } from '../../src/core/onnx/interpret/interpreter';
import { specializeShapes } from '../../src/core/onnx/autodiff/specialize';
import type { Tensor } from '../../src/core/onnx/interpret/tensor';
import type { Value } from '../../src/core/onnx/types';
import { randn, relMaxDiff, Rng, runOrt } from './helpers';

export interface OpCase {
  name: string;
  /** Declares inputs (b.input) with their feeds and returns the op's output. */
  build: (b: GraphBuilder, rng: Rng, feed: (name: string, t: Tensor) => Value) => Value;
  /** Inputs to differentiate (default: every float input). */
  wrt?: string[];
  fdTol?: number;
  ortTol?: number;
  autodiff?: Partial<AutodiffOptions>;
  /** Skip the ORT comparison (ops ORT lacks a kernel for). */
  noOrt?: boolean;
}

export interface OpCheckReport {
  fdRelErr: number;
  ortForwardRel: number;
  ortGradRel: number;
  checked: number;
}

export async function checkOp(c: OpCase, seed = 1): Promise<OpCheckReport> {
  const rng = new Rng(seed);
  const b = new GraphBuilder(c.name);
  const feeds = new Map<string, Tensor>();
  const feed = (name: string, t: Tensor): Value => {
    feeds.set(name, t);
    return b.input(name, t.dtype, t.shape);
  };
  const y = c.build(b, rng, feed);
  b.output(y);
  const yShape = y.shape as number[];
  const r = randn(rng, yShape);
  const weight = b.constant('float32', yShape, r.data, 'loss_weight');
  const loss = b.reduceSum(b.mul(y, weight), yShape.map((_, i) => i), false, { name: 'loss' });
  b.output(loss);
  // Ops whose builder helpers leave some dims symbolic (GQA's present outputs) need static shapes first.
  const graph = specializeShapes(b.build(), {});
  const wrt = c.wrt ?? [...feeds].filter(([, t]) => t.dtype === 'float32').map(([n]) => n);

  const gc = gradientCheck(graph, { loss: 'loss', wrt, feeds, samples: 24, differentiate: { ...c.autodiff, keepOutputs: [y.name] } });
  const worst = gc.tensors.find((t) => t.maxRelErr === gc.maxRelErr)!;
  assert.ok(gc.maxRelErr <= (c.fdTol ?? 1e-6), `${c.name}: finite differences disagree on ${worst.name}[${worst.worst.index}]: analytic ${worst.worst.analytic}, numeric ${worst.worst.numeric} (rel ${gc.maxRelErr})`);

  let ortForwardRel = 0;
  let ortGradRel = 0;
  if (!c.noOrt) {
    const ref = interpret(graph, feeds, [y.name]).get(y.name)!;
    const outs = await runOrt(gc.graph, feeds);
    ortForwardRel = relMaxDiff(outs.get(y.name)!.data, ref.data);
    assert.ok(ortForwardRel <= (c.ortTol ?? 1e-4), `${c.name}: ORT forward differs from the interpreter (rel ${ortForwardRel})`);
    for (const w of wrt) {
      const gradOut = gc.graph.outputs.find((o) => o.name === `${w}.grad`)!.name;
      const rel = relMaxDiff(outs.get(gradOut)!.data, gc.gradients.get(w)!.data);
      ortGradRel = Math.max(ortGradRel, rel);
      assert.ok(rel <= (c.ortTol ?? 1e-4), `${c.name}: ORT backward for ${w} differs from the interpreter (rel ${rel})`);
    }
  }
  return { fdRelErr: gc.maxRelErr, ortForwardRel, ortGradRel, checked: gc.tensors.reduce((n, t) => n + t.checked, 0) };
}
