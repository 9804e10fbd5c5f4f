// The anchor of the compute benches: ORT's own fp32 MatMul throughput on this machine, measured in the
// same run as the figure it anchors.

import * as ort from 'onnxruntime-node';
import { GraphBuilder, serializeModel, type Value } from '../src/core/onnx/index';
import type { HybridModelSpec } from '../src/core/arch/spec';
import { Rng } from '../src/core/util/random';

/** ORT 1024³ fp32 MatMul with B a constant (pre-packed, like the model's weights): GFLOP/s of one run. */
export class MatmulProbe {
  private constructor(
    private readonly s: ort.InferenceSession,
    private readonly a: ort.Tensor,
  ) {}
  static async create(threads: number): Promise<MatmulProbe> {
    const n = 1024;
    const rng = new Rng(1);
    const g = new GraphBuilder('mm');
    const b = g.constant('float32', [n, n], Float32Array.from({ length: n * n }, () => rng.normal()), 'b');
    g.output(g.matmul(g.input('a', 'float32', [n, n]), b), 'c');
    const s = await ort.InferenceSession.create(serializeModel(g.build()), { intraOpNumThreads: threads, logSeverityLevel: 3 });
    const probe = new MatmulProbe(s, new ort.Tensor('float32', Float32Array.from({ length: n * n }, () => rng.normal()), [n, n]));
    for (let i = 0; i < 3; i++) await probe.once();
    return probe;
  }
  async once(): Promise<number> {
    const t0 = performance.now();
    await this.s.run({ a: this.a });
    return (2 * 1024 ** 3) / ((performance.now() - t0) / 1000) / 1e9;
  }
  release(): Promise<void> {
    return this.s.release();
  }
}

/**
 * The model's projection GEMMs alone (in_proj, out_proj, q/k/v/o, up/down, lm_head at their shapes, weights
 * constant and pre-packed like the model's), on `tokens` rows: the time no engine computing these
 * projections at ORT's GEMM rate can beat — the floor under a forward pass.
 */
export class ProjectionProbe {
  private constructor(
    private readonly s: ort.InferenceSession,
    private readonly feeds: Record<string, ort.Tensor>,
    /** FLOPs of one run. */
    readonly flops: number,
  ) {}
  static async create(spec: HybridModelSpec, tokens: number, threads: number): Promise<ProjectionProbe> {
    const D = spec.hiddenSize;
    const shapes: [number, number][] = []; // [in, out]
    for (const l of spec.layers) {
      if (l.kind === 'M') shapes.push([D, spec.mamba!.inProjSize], [spec.mamba!.innerSize, D]);
      else if (l.kind === '-') shapes.push([D, spec.mlp!.intermediateSize], [spec.mlp!.intermediateSize, D]);
      else if (l.kind === '*') {
        const a = spec.attention!;
        shapes.push([D, a.numHeads * a.headDim], [D, a.numKvHeads * a.headDim], [D, a.numKvHeads * a.headDim], [a.numHeads * a.headDim, D]);
      }
    }
    shapes.push([D, spec.vocabSize]);
    const rng = new Rng(1);
    const g = new GraphBuilder('projections');
    const inputs = new Map<number, Value>();
    const feeds: Record<string, ort.Tensor> = {};
    let flops = 0;
    shapes.forEach(([k, n], i) => {
      let x = inputs.get(k);
      if (!x) {
        inputs.set(k, (x = g.input(`x${k}`, 'float32', [tokens, k])));
        feeds[`x${k}`] = new ort.Tensor('float32', Float32Array.from({ length: tokens * k }, () => rng.normal()), [tokens, k]);
      }
      const w = g.constant('float32', [n, k], Float32Array.from({ length: n * k }, () => rng.normal() * 0.05), `w${i}`);
      // One element of each product is the output: the GEMM runs whole, nothing large is copied out.
      g.output(g.slice(g.gemm(x, w, null, { transB: true }), [0, 0], [1, 1], [0, 1]), `y${i}`);
      flops += 2 * tokens * k * n;
    });
    const s = await ort.InferenceSession.create(serializeModel(g.build()), { intraOpNumThreads: threads, logSeverityLevel: 3 });
    const probe = new ProjectionProbe(s, feeds, flops);
    await probe.once();
    return probe;
  }
  /** Milliseconds of one run. */
  async once(): Promise<number> {
    const t0 = performance.now();
    await this.s.run(this.feeds);
    return performance.now() - t0;
  }
  release(): Promise<void> {
    return this.s.release();
  }
}
