// ImportanceCollector: turns the engine's per-layer taps into every importance score the pruner needs
// (research/paper.md §2–3), with resumable float64 state. It is engine-agnostic: the caller
// feeds layer by layer (whole-model or layer-streamed runs alike) either the full taps (addLayer) or the
// per-row statistics the graph reduced them to (addLayerStats, much less to copy), and the weights FLAP needs.

import type { HybridModelSpec, TensorSpec } from '../arch/spec';
import { requireLayerTensor } from '../arch/spec';
import { HybridCompressError } from '../errors';
import { ActivationAccumulator, type ActivationAccumulatorState } from './activation-accumulator';
import { VarianceAccumulator, type VarianceAccumulatorState } from './variance-accumulator';
import { MeanAccumulator, cosineDistances, type MeanAccumulatorState } from './depth';
import { attentionHeadScores, mambaChannelScores, mambaHeadScores } from './ranking';
import { flapColumnNorms, flapFromNorms, flapHeadScores } from './flap';
import { blockImportanceStatName, tapStatName } from '../model/forward-graph-stats';
import type { FfnTap } from './settings';

/** Tap names (shared with the engine and the reference forward). */
export const tapName = {
  input: (n: number) => `layers.${n}.input`,
  norm: (n: number) => `layers.${n}.norm`,
  mambaX: (n: number) => `layers.${n}.mamba.x`,
  mambaOutProjInput: (n: number) => `layers.${n}.mamba.out_proj_input`,
  mlpUpProjOutput: (n: number) => `layers.${n}.mlp.up_proj_output`,
  mlpDownProjInput: (n: number) => `layers.${n}.mlp.down_proj_input`,
  attentionOProjInput: (n: number) => `layers.${n}.attention.o_proj_input`,
  output: (n: number) => `layers.${n}.output`,
};

export interface CollectorOptions {
  flap?: boolean;
  depth?: boolean;
  /** Where FFN neurons are scored (default 'post', the down_proj input; 'pre': the up_proj output). */
  ffnTap?: FfnTap;
}

/** The taps calibration needs from layer n. */
export function calibrationTaps(spec: HybridModelSpec, n: number, opts: CollectorOptions = {}): string[] {
  const taps = [tapName.norm(n)];
  const main = mainTapOf(spec, n, opts);
  if (main) taps.push(main);
  const vt = opts.flap !== false ? varianceTapOf(spec, n) : undefined;
  if (vt && vt !== main) taps.push(vt);
  if (opts.depth !== false) taps.push(tapName.input(n), tapName.output(n));
  return taps;
}

/** Names of the engine's per-row statistics of a tap (model/forward-graph-stats.ts). */
export const statName = {
  absmean: (tap: string) => tapStatName(tap, 'absmean'),
  mean: (tap: string) => tapStatName(tap, 'mean'),
  m2: (tap: string) => tapStatName(tap, 'm2'),
  blockImportance: (n: number) => blockImportanceStatName(n),
};

/** The tap whose mean |a| scores layer n's own width (Mamba x, MLP down_proj input or up_proj output, attention o_proj input). */
function mainTapOf(spec: HybridModelSpec, n: number, opts: CollectorOptions): string | undefined {
  const kind = spec.layers[n]!.kind;
  if (kind === '-') return opts.ffnTap === 'pre' ? tapName.mlpUpProjOutput(n) : tapName.mlpDownProjInput(n);
  return kind === 'M' ? tapName.mambaX(n) : kind === '*' ? tapName.attentionOProjInput(n) : undefined;
}

/** The tap whose variance FLAP needs (Mamba out_proj input, MLP down_proj input). */
function varianceTapOf(spec: HybridModelSpec, n: number): string | undefined {
  const kind = spec.layers[n]!.kind;
  return kind === 'M' ? tapName.mambaOutProjInput(n) : kind === '-' ? tapName.mlpDownProjInput(n) : undefined;
}

/**
 * The per-row statistics calibration needs from layer n — the same information as calibrationTaps,
 * reduced over tokens inside the graph ([batch, width] instead of [batch, seq, width]).
 */
export function calibrationStats(spec: HybridModelSpec, n: number, opts: CollectorOptions = {}): string[] {
  const out = [statName.absmean(tapName.norm(n))];
  const main = mainTapOf(spec, n, opts);
  if (main) out.push(statName.absmean(main));
  const vt = opts.flap !== false ? varianceTapOf(spec, n) : undefined;
  if (vt) out.push(statName.mean(vt), statName.m2(vt));
  if (opts.depth !== false) out.push(statName.blockImportance(n));
  return out;
}

interface LayerState {
  norm: ActivationAccumulatorState;
  main?: ActivationAccumulatorState;
  variance?: VarianceAccumulatorState;
  bi?: MeanAccumulatorState;
}

export interface CollectorState {
  format: 'hybrid-compress/importance-state@1';
  rows: number;
  tokens: number;
  layers: LayerState[];
}

interface LayerAccumulators {
  norm: ActivationAccumulator;
  /** Mamba x segment, MLP down_proj input (or up_proj output), or attention o_proj input. */
  main?: ActivationAccumulator;
  /** FLAP variance of the out_proj (Mamba) or down_proj (MLP) input. */
  variance?: VarianceAccumulator;
  bi?: MeanAccumulator;
}

export class ImportanceCollector {
  private readonly layers: LayerAccumulators[];
  /** ‖W[:, j]‖² of a layer's FLAP projection, when the caller had the weights at hand (streamed passes). */
  private readonly columnNorms = new Map<number, Float64Array>();
  rows = 0;
  tokens = 0;

  constructor(
    readonly spec: HybridModelSpec,
    readonly opts: CollectorOptions = {},
  ) {
    this.layers = spec.layers.map((l) => this.fresh(l.index));
  }

  private mainWidth(n: number): number | undefined {
    const kind = this.spec.layers[n]!.kind;
    if (kind === 'M') return this.spec.mamba!.innerSize;
    if (kind === '-') return this.spec.mlp!.intermediateSize;
    if (kind === '*') return this.spec.attention!.numHeads * this.spec.attention!.headDim;
    return undefined;
  }

  private fresh(n: number): LayerAccumulators {
    const kind = this.spec.layers[n]!.kind;
    const w = this.mainWidth(n);
    const flapWidth = this.opts.flap === false ? undefined : kind === 'M' ? this.spec.mamba!.innerSize : kind === '-' ? this.spec.mlp!.intermediateSize : undefined;
    return {
      norm: new ActivationAccumulator(this.spec.hiddenSize, tapName.norm(n)),
      main: w !== undefined ? new ActivationAccumulator(w, `layers.${n}.main`) : undefined,
      variance: flapWidth !== undefined ? new VarianceAccumulator(flapWidth, `layers.${n}.flap`) : undefined,
      bi: this.opts.depth === false ? undefined : new MeanAccumulator(`layers.${n}.block_importance`),
    };
  }

  /** Adds one layer's taps for a batch of `rows` × `seq` tokens (arrays laid out [rows, seq, width]). */
  addLayer(n: number, taps: ReadonlyMap<string, ArrayLike<number>>, rows: number, seq: number): void {
    const get = (name: string): ArrayLike<number> => {
      const t = taps.get(name);
      if (!t) throw new HybridCompressError('RUNTIME_ERROR', `calibration: the engine did not return tap "${name}"`, { tensor: name });
      return t;
    };
    const acc = this.layers[n]!;
    acc.norm.add(get(tapName.norm(n)), rows, seq, this.spec.hiddenSize);
    const mainTap = mainTapOf(this.spec, n, this.opts);
    if (mainTap && acc.main) acc.main.add(get(mainTap), rows, seq, acc.main.channels);
    const vt = varianceTapOf(this.spec, n);
    if (vt && acc.variance) acc.variance.add(get(vt), rows * seq, acc.variance.channels);
    if (acc.bi) acc.bi.addAll(cosineDistances(get(tapName.input(n)), get(tapName.output(n)), rows * seq, this.spec.hiddenSize));
  }

  /**
   * Adds one layer's per-row statistics (calibrationStats) for a batch of `rows` rows of `seq` tokens:
   * absmean [rows, width] per scored tap, mean / m2 [rows, width] of the FLAP tap, block-importance
   * sums [rows]. Gives the scores addLayer gives on the full taps, up to float32 rounding in the graph.
   */
  addLayerStats(n: number, stats: ReadonlyMap<string, ArrayLike<number>>, rows: number, seq: number): void {
    const get = (name: string): ArrayLike<number> => {
      const t = stats.get(name);
      if (!t) throw new HybridCompressError('RUNTIME_ERROR', `calibration: the engine did not return statistic "${name}"`, { tensor: name });
      return t;
    };
    const acc = this.layers[n]!;
    acc.norm.addRowMeans(get(statName.absmean(tapName.norm(n))), rows);
    const main = mainTapOf(this.spec, n, this.opts);
    if (main && acc.main) acc.main.addRowMeans(get(statName.absmean(main)), rows);
    const vt = varianceTapOf(this.spec, n);
    if (vt && acc.variance) acc.variance.addMoments(get(statName.mean(vt)), get(statName.m2(vt)), rows, seq);
    if (acc.bi) {
      const sums = get(statName.blockImportance(n));
      if (sums.length !== rows) throw new HybridCompressError('SHAPE_MISMATCH', `${statName.blockImportance(n)}: got ${sums.length} values for ${rows} rows`, { tensor: statName.blockImportance(n) });
      let total = 0;
      for (let r = 0; r < rows; r++) total += sums[r]!;
      acc.bi.addSum(total, rows * seq);
    }
  }

  /** The FLAP projection of layer n (out_proj / down_proj) or undefined for layers without one. */
  flapWeightOf(n: number): TensorSpec | undefined {
    const layer = this.spec.layers[n]!;
    if (this.opts.flap === false) return undefined;
    return layer.kind === 'M' ? requireLayerTensor(layer, 'out_proj') : layer.kind === '-' ? requireLayerTensor(layer, 'down_proj') : undefined;
  }

  /** Whether layer n has a FLAP projection whose column norms were not given yet. */
  needsFlapNorms(n: number): boolean {
    return this.flapWeightOf(n) !== undefined && !this.columnNorms.has(n);
  }

  /**
   * Hands over ‖W[:, j]‖² of layer n's FLAP projection (flapColumnNorms of the weight, computed while it
   * is in memory anyway), so scores() need not read the weight.
   */
  setFlapNorms(n: number, norm2: Float64Array): void {
    const t = this.flapWeightOf(n);
    if (!t) return;
    if (norm2.length !== t.shape[1]) throw new HybridCompressError('SHAPE_MISMATCH', `${t.name}: ${norm2.length} column norms for ${t.shape[1]} columns`, { tensor: t.name });
    this.columnNorms.set(n, norm2);
  }

  /** Marks a batch as fully added (every layer). */
  endBatch(rows: number, seq: number): void {
    this.rows += rows;
    this.tokens += rows * seq;
  }

  toState(): CollectorState {
    return {
      format: 'hybrid-compress/importance-state@1',
      rows: this.rows,
      tokens: this.tokens,
      layers: this.layers.map((l) => ({ norm: l.norm.toJSON(), main: l.main?.toJSON(), variance: l.variance?.toJSON(), bi: l.bi?.toJSON() })),
    };
  }

  static fromState(spec: HybridModelSpec, state: CollectorState, opts: CollectorOptions = {}): ImportanceCollector {
    if (state?.format !== 'hybrid-compress/importance-state@1' || state.layers?.length !== spec.numLayers) {
      throw new HybridCompressError('DATA_INVALID', `calibration state does not match this model (${state?.layers?.length ?? '?'} layers saved, model has ${spec.numLayers}); delete the run folder to start over`);
    }
    const c = new ImportanceCollector(spec, opts);
    c.rows = state.rows;
    c.tokens = state.tokens;
    state.layers.forEach((s, n) => {
      const l = c.layers[n]!;
      l.norm = ActivationAccumulator.fromJSON(s.norm, tapName.norm(n));
      if (l.main && s.main) l.main = ActivationAccumulator.fromJSON(s.main, `layers.${n}.main`);
      if (l.variance && s.variance) l.variance = VarianceAccumulator.fromJSON(s.variance, `layers.${n}.flap`);
      if (l.bi && s.bi) l.bi = MeanAccumulator.fromJSON(s.bi, `layers.${n}.block_importance`);
    });
    return c;
  }

  /**
   * Final scores with the names of the importance file (importance-file.ts). `readWeight` supplies the
   * out_proj / down_proj weights FLAP needs (float32, [out, in]).
   */
  async scores(readWeight: (name: string) => Promise<Float32Array>): Promise<Map<string, Float32Array>> {
    if (this.rows === 0) throw new HybridCompressError('DATA_INVALID', 'calibration saw no rows; check --data, --samples and --seq-len');
    const norms = async (n: number): Promise<Float64Array> => {
      const t = this.flapWeightOf(n)!;
      return this.columnNorms.get(n) ?? flapColumnNorms(await readWeight(t.name), t.shape[0]!, t.shape[1]!);
    };
    const out = new Map<string, Float32Array>();
    const emb = new Float64Array(this.spec.hiddenSize);
    const bi = new Float32Array(this.spec.numLayers);
    for (const layer of this.spec.layers) {
      const n = layer.index;
      const acc = this.layers[n]!;
      const ns = acc.norm.score();
      for (let c = 0; c < emb.length; c++) emb[c]! += ns[c]!;
      if (acc.bi) bi[n] = acc.bi.count > 0 ? acc.bi.mean() : 0;
      if (layer.kind === 'M' && acc.main) {
        const m = this.spec.mamba!;
        const s = acc.main.score();
        const hc = { numHeads: m.numHeads, headDim: m.headDim, data: s };
        out.set(`layers.${n}.mamba.activations`, Float32Array.from(s));
        out.set(`layers.${n}.mamba.channels`, Float32Array.from(mambaChannelScores(hc)));
        out.set(`layers.${n}.mamba.heads`, Float32Array.from(mambaHeadScores(hc)));
        if (acc.variance) {
          const cols = flapFromNorms(await norms(n), acc.variance.variance());
          out.set(`layers.${n}.mamba.flap`, Float32Array.from(flapHeadScores(cols, m.numHeads, m.headDim)));
        }
      } else if (layer.kind === '-' && acc.main) {
        out.set(`layers.${n}.mlp.neurons`, Float32Array.from(acc.main.score()));
        if (acc.variance) out.set(`layers.${n}.mlp.flap`, Float32Array.from(flapFromNorms(await norms(n), acc.variance.variance())));
      } else if (layer.kind === '*' && acc.main) {
        const a = this.spec.attention!;
        out.set(`layers.${n}.attention.heads`, Float32Array.from(attentionHeadScores(acc.main.score(), a.numHeads, a.headDim)));
      }
    }
    out.set('embedding.channels', Float32Array.from(emb));
    if (this.opts.depth !== false) out.set('depth.block_importance', bi);
    return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
