// Shared state while emitting a forward graph: the builder, the weights (bound on first use), the
// dynamic batch/sequence sizes, requested taps, and the small helpers every block uses (linear, RMSNorm,
// 2-D ↔ 3-D reshapes). Activations between blocks are 2-D [batch·seq, width] so projections are plain
// GEMMs; only the Mamba scan and attention look at the [batch, seq] structure.

import { HybridCompressError } from '../errors';
import type { HybridModelSpec, LayerSpec, TensorRole } from '../arch/spec';
import { GraphBuilder, type Value } from '../onnx/index';
import { rowRangeInputName, type WeightSource } from './forward-weights';
import { emitTapStats, wantsStatsOf } from './forward-graph-stats';
import type { DtClampMode } from './dt-clamp';

export interface ForwardGraphOptions {
  /** Intermediate tensors to return as extra outputs, by name (see listTaps). */
  taps?: readonly string[];
  /**
   * Per-row statistics of taps to return instead of (or besides) the full taps, by name
   * (`layers.N.stats.<tap>.absmean|mean|m2`, `layers.N.stats.block_importance.sum`; see forward-graph-stats.ts).
   */
  stats?: readonly string[];
  /** 'config': clamp dt to time_step_limit; 'transformers5': lower bound time_step_min (transformers ≥ 5 prefill). */
  dtClampMode?: DtClampMode;
  /** SSD chunk length (numerics only; 64 measured fastest on ORT CPU). */
  chunkSize?: number;
  /**
   * Use ORT contrib ops (FusedMatMul, SimplifiedLayerNormalization) — default true. False emits only
   * standard ai.onnx ops (portable to other runtimes; ORT fuses most of them back).
   */
  fused?: boolean;
  /** Emit logits (default true; calibration graphs that only need taps can skip the lm_head). */
  logits?: boolean;
  /**
   * Also take `labels` int64 [batch, seq] and output `nll` f32 [batch, seq] = −log softmax(logits)[label]
   * (next-token loss without copying [batch, seq, vocab] logits out of the session; labels must be valid ids).
   */
  nll?: boolean;
  /**
   * Logits of the last position only ([batch, 1, vocab]): greedy generation needs nothing else, and the
   * head's GEMM and the copy out shrink by the sequence length. Not with nll.
   */
  lastLogits?: boolean;
  /**
   * Weights bound as graph inputs whose rows the graph uses as separate ranges (the Mamba in_proj's z, xBC
   * and dt rows) become one input per range (forward-weights.ts rowRangeInputName), fed as views of the
   * caller's array: slicing an input in the graph copies it on every run (for an 8B in_proj, ~300 MB per
   * layer). Initializers are always sliced in the graph (ORT folds those slices once at load).
   */
  weightRowInputs?: boolean;
}

export const DEFAULT_CHUNK_SIZE = 64;

export class ForwardContext {
  readonly g: GraphBuilder;
  readonly fused: boolean;
  readonly chunkSize: number;
  readonly dtRange: [number, number];
  readonly tapSet: Set<string>;
  readonly statSet: Set<string>;
  private readonly weightValues = new Map<string, Value>();
  private readonly cache = new Map<string, Value>();
  /** int64 [2]: (batch, seq) of the current graph. */
  bt!: Value;
  /** int64 scalar: seq. */
  seq!: Value;

  constructor(
    readonly spec: HybridModelSpec,
    readonly weights: WeightSource,
    graphName: string,
    readonly opts: ForwardGraphOptions,
  ) {
    this.g = new GraphBuilder(graphName);
    this.fused = opts.fused ?? true;
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1) {
      throw new HybridCompressError('OPTION_INVALID', `chunk size ${this.chunkSize} is not valid; use a positive integer (e.g. 64)`, { option: 'chunkSize' });
    }
    const m = spec.mamba;
    this.dtRange = m ? (opts.dtClampMode === 'transformers5' ? [m.timeStepMin, m.timeStepLimit[1]] : [m.timeStepLimit[0], m.timeStepLimit[1]]) : [0, Infinity];
    this.tapSet = new Set(opts.taps ?? []);
    this.statSet = new Set(opts.stats ?? []);
  }

  /** Records the dynamic (batch, seq) from a value whose first two dims are batch and seq. */
  setBatchSeqFrom(v: Value): void {
    this.bt = this.g.shapeOf(v, { start: 0, end: 2, name: 'batch_seq' });
    this.seq = this.g.gather(this.bt, this.g.scalar(1, 'int64'), 0, { name: 'seq_len' });
  }

  /** The f32 value of a weight tensor, bound (initializer / input) and cast on first use. */
  weight(name: string): Value {
    const hit = this.weightValues.get(name);
    if (hit) return hit;
    const b = this.weights.get(name);
    let v: Value;
    if (b.kind === 'input') v = this.g.input(name, b.dtype, b.shape);
    else if (b.kind === 'external') v = this.g.initializer(name, b.dtype, b.shape, { kind: 'external', location: b.location, offset: b.offset, length: b.length });
    else v = this.g.initializer(name, b.dtype, b.shape, { kind: 'raw', bytes: b.bytes });
    // BF16 has no CPU MatMul kernel: compute in f32 (ORT folds the Cast of an initializer once at load).
    if (v.dtype !== 'float32') v = this.g.cast(v, 'float32', { name: `${name}:f32` });
    this.weightValues.set(name, v);
    return v;
  }

  /**
   * Rows [a, b) of a weight, per range: slices of the bound value, or (weightRowInputs, for a weight bound
   * as an input) one graph input per range, so no run copies the weight.
   */
  weightRows(name: string, ranges: readonly (readonly [number, number])[]): Value[] {
    const b = this.weights.get(name);
    if (b.kind !== 'input' || !this.opts.weightRowInputs) {
      const w = this.weight(name);
      return ranges.map(([a, e]) => this.g.slice(w, [a], [e], [0]));
    }
    return ranges.map(([a, e]) => {
      const v = this.g.input(rowRangeInputName(name, a, e), b.dtype, [e - a, ...b.shape.slice(1)]);
      return v.dtype === 'float32' ? v : this.g.cast(v, 'float32');
    });
  }

  /** Raw (un-cast) binding value — the embedding Gather reads rows before casting. */
  rawWeight(name: string): Value {
    const f32 = this.weight(name);
    return f32.name.endsWith(':f32') ? this.g.value(name) : f32;
  }

  roleName(layer: LayerSpec, role: TensorRole): string {
    const t = layer.tensors.find((x) => x.role === role);
    if (!t) throw new HybridCompressError('CHECKPOINT_INVALID', `forward graph: layer ${layer.index} (${layer.kind}) has no ${role} tensor`, { tensor: `${layer.prefix}.*` });
    return t.name;
  }

  optionalRole(layer: LayerSpec, role: TensorRole): string | undefined {
    return layer.tensors.find((x) => x.role === role)?.name;
  }

  optionalSuffix(layer: LayerSpec, suffix: string): string | undefined {
    return layer.tensors.find((x) => x.name.endsWith(suffix))?.name;
  }

  /** alpha · op(a) @ op(b) with transposes of the last two axes. */
  mm(a: Value, b: Value, o: { transA?: boolean; transB?: boolean; alpha?: number; name?: string } = {}): Value {
    if (this.fused && (o.transA || o.transB || (o.alpha !== undefined && o.alpha !== 1))) return this.g.fusedMatMul(a, b, o);
    return this.g.matmulT(a, b, o);
  }

  /**
   * x [rows, in] · Wᵀ (+ bias) with W stored [out, in] as PyTorch does. Fused graphs use Gemm(transB)
   * on 2-D activations: same MLAS kernel as MatMul, bias folded in, and ORT fuses a following Relu into
   * the GEMM (FusedGemm), which saves a pass over the MLP activations.
   */
  linear(x: Value, weightName: string, biasName?: string, name?: string): Value {
    const w = this.weight(weightName);
    const b = biasName ? this.weight(biasName) : null;
    if (this.fused && x.shape.length === 2) return this.g.gemm(x, w, b, { transB: true, name });
    const y = this.mm(x, w, { transB: true, name: b ? undefined : name });
    return b ? this.g.add(y, b, { name }) : y;
  }

  /** RMSNorm over the last axis; scale may be null (unit scale). */
  rmsNorm(x: Value, scale: Value | null, name?: string): Value {
    const eps = this.spec.normEps;
    const width = x.shape[x.shape.length - 1]!;
    if (this.fused) {
      const s = scale ?? this.g.constant('float32', [width as number], new Float32Array(width as number).fill(1));
      return this.g.rmsNorm(x, s, eps, { name });
    }
    const ms = this.g.reduceMean(this.g.mul(x, x), [-1], true);
    const inv = this.g.reciprocal(this.g.sqrt(this.g.add(ms, eps)));
    const n = this.g.mul(x, inv, scale ? {} : { name });
    return scale ? this.g.mul(n, scale, { name }) : n;
  }

  silu(x: Value, name?: string): Value {
    return this.g.mul(x, this.g.sigmoid(x), { name });
  }

  /** int64 shape [batch, seq, ...tail]. */
  dynShape(tail: readonly number[]): Value {
    const key = `shape:${tail.join(',')}`;
    let v = this.cache.get(key);
    if (!v) this.cache.set(key, (v = this.g.concat([this.bt, this.g.int64s(tail)], 0)));
    return v;
  }

  /** [batch·seq, ...tail] → [batch, seq, ...tail]. */
  to3d(x: Value, tail: readonly number[], name?: string): Value {
    return this.g.reshape(x, this.dynShape(tail), { name, shape: ['batch', 'seq', ...tail] });
  }

  /** Whether the full tap is requested (wantsStatsOf in forward-graph-stats.ts: any of its statistics). */
  wantsTap(name: string): boolean {
    return this.tapSet.has(name);
  }

  /**
   * Emits a tap output [batch, seq, width] from a 2-D [batch·seq, width] value, if requested, and the
   * requested per-row statistics of it.
   */
  tap(name: string, x2d: Value): void {
    const full = this.tapSet.has(name);
    const stats = wantsStatsOf(this, name);
    if (!full && !stats) return;
    const width = x2d.shape[x2d.shape.length - 1] as number;
    const x3 = this.to3d(x2d, [width], full ? name : undefined);
    if (full) this.g.output(x3);
    if (stats) emitTapStats(this, name, x3, 1);
  }

  /** Memoised per-graph value (masks and dynamic sizes shared by all layers). */
  memo(key: string, make: () => Value): Value {
    let v = this.cache.get(key);
    if (!v) this.cache.set(key, (v = make()));
    return v;
  }
}
