// The anchor of the compute benches: ORT's own fp32 MatMul throughput on this machine, measured in the
// same run as the figure it anchors.

import * as ort from 'onnxruntime-node';
import { GraphBuilder, serializeModel } from '../src/core/onnx/index';
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
