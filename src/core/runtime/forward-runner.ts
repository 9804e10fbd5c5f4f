// ForwardRunner: the model's forward pass on ONNX Runtime, from a checkpoint folder, whole or streamed.
//
//   const r = await ForwardRunner.create(ckptDir, { mode: 'whole', taps: ['layers.0.mamba.x'], device: 'auto' });
//   const { logits, taps } = await r.run(ids /* BigInt64Array [batch·seq] */, batch, seq, { onLayer });
//   await r.release();
//
// 'whole'    one session for the whole model (fastest for models that fit in memory).
// 'streamed' an embedding session, one session per layer and a head session; hidden states pass
//            between them in JS. With `resident: false` only one layer's session exists at a time
//            (weights mmapped, pre-packed copy dropped after the layer), so memory stays bounded by the
//            largest layer plus activations; progress is reported per layer.
// Both shapes run the same per-layer subgraph, so they give the same logits.

import * as ort from 'onnxruntime-node';
import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import { openCheckpoint, type Checkpoint } from '../checkpoint/checkpoint';
import type { Graph } from '../onnx/index';
import { buildEmbeddingGraph, buildForwardGraph, buildHeadGraph, buildLayerGraph, checkRunnable, HIDDEN, HIDDEN_OUT, INPUT_IDS, LABELS, LOGITS, NLL, type ForwardGraphOptions } from '../model/forward-graph';
import { checkpointWeights, type WeightSource } from '../model/forward-weights';
import { createSession, type Device, type ExecutionProvider } from './session';
import { resolveWeightsFolder, type WeightsFolder } from './weights-folder';

export interface ForwardRunnerOptions extends Omit<ForwardGraphOptions, 'taps' | 'stats'> {
  mode?: 'whole' | 'streamed';
  taps?: readonly string[];
  /** Per-row tap statistics (layers.N.stats.…, see model/forward-graph-stats.ts); returned in `taps` under their names. */
  stats?: readonly string[];
  device?: Device;
  /** Intra-op threads (0 = ORT default). */
  threads?: number;
  /** MLAS weight pre-packing (default true; see session.ts). */
  prepacking?: boolean;
  /** Idle intra-op threads spin-wait (default true; false when other sessions run in turn, see session.ts). */
  spinning?: boolean;
  /** Streamed only: keep every layer session alive between runs (default true). */
  resident?: boolean;
  /** Weights to feed at run time instead of reading from the files (training). */
  asInput?: (name: string) => boolean;
  /** Cache folder for the rare symlinked-weights fallback (see weights-folder.ts). */
  cacheRoot?: string;
  profilePrefix?: string;
  log?: (line: string) => void;
}

export interface RunOptions {
  /** Called after each streamed stage with (layers done, total layers); whole mode calls it once at the end. */
  onLayer?: (done: number, total: number) => void;
  /** Values for weights declared as inputs (asInput), by tensor name. */
  weights?: ReadonlyMap<string, Float32Array>;
  /** Target ids [batch·seq] for runners created with nll: true (each in [0, vocab)). */
  labels?: BigInt64Array;
}

export interface RunResult {
  /** [batch, seq, vocab] ([batch, 1, vocab] with lastLogits; empty when the runner was created with logits: false). */
  logits: Float32Array;
  /** Requested taps, each [batch, seq, width], and requested statistics ([batch, width] or [batch]). */
  taps: Map<string, Float32Array>;
  /** −log p(label) per position [batch, seq], when created with nll: true. */
  nll?: Float32Array;
}

interface Stage {
  name: string;
  build: () => Graph;
  session?: ort.InferenceSession;
}

export class ForwardRunner {
  private released = false;

  private constructor(
    readonly spec: HybridModelSpec,
    readonly mode: 'whole' | 'streamed',
    /** The execution provider the sessions run on. */
    readonly ep: ExecutionProvider,
    /** The concrete device of the first session (later sessions use it: e.g. webgpu-f16, not just webgpu). */
    private readonly device: Device,
    readonly weightsFolder: WeightsFolder,
    private readonly stages: Stage[],
    private readonly opts: ForwardRunnerOptions,
    private readonly ownedCheckpoint: Checkpoint | undefined,
  ) {}

  static async create(checkpoint: Checkpoint | string, opts: ForwardRunnerOptions = {}): Promise<ForwardRunner> {
    const owned = typeof checkpoint === 'string' ? await openCheckpoint(checkpoint) : undefined;
    const ckpt = owned ?? (checkpoint as Checkpoint);
    let runner: ForwardRunner | undefined;
    try {
      const spec = ckpt.spec;
      checkRunnable(spec);
      const mode = opts.mode ?? 'whole';
      if (mode !== 'whole' && mode !== 'streamed') throw new HybridCompressError('OPTION_INVALID', `mode "${String(mode)}" is not valid; use whole or streamed`, { option: 'mode' });
      const folder = resolveWeightsFolder(ckpt.dir, ckpt.weightFiles.map((f) => f.path), { cacheRoot: opts.cacheRoot });
      if (folder.message) (opts.log ?? ((l: string) => process.stderr.write(l + '\n')))(folder.message);
      const weights = checkpointWeights(ckpt.tensors, { locations: folder.locations, asInput: opts.asInput });
      const stages = ForwardRunner.plan(spec, weights, mode, opts);
      // The first session settles the device; later ones use the provider it got.
      const first = await createSession(stages[0]!.build(), { ...sessionOpts(opts, folder), device: opts.device });
      stages[0]!.session = first.session;
      runner = new ForwardRunner(spec, mode, first.ep, first.device, folder, stages, opts, owned);
      if (mode === 'streamed' && opts.resident !== false) for (const s of stages.slice(1)) s.session = await runner.open(s);
      return runner;
    } catch (e) {
      if (runner) await runner.release(); // releases the sessions made so far and an owned checkpoint
      else await owned?.close();
      throw e;
    }
  }

  private static plan(spec: HybridModelSpec, weights: WeightSource, mode: 'whole' | 'streamed', o: ForwardRunnerOptions): Stage[] {
    const g: ForwardGraphOptions = { dtClampMode: o.dtClampMode, chunkSize: o.chunkSize, fused: o.fused, logits: o.logits, nll: o.nll, lastLogits: o.lastLogits };
    const taps = o.taps ?? [];
    const stats = o.stats ?? [];
    if (mode === 'whole') return [{ name: 'model', build: () => buildForwardGraph(spec, weights, { ...g, taps, stats }) }];
    const layerOf = (name: string) => /^layers\.(\d+)\./.exec(name)?.[1];
    const badStats = stats.filter((t) => layerOf(t) === undefined || Number(layerOf(t)) >= spec.numLayers);
    if (badStats.length > 0) buildForwardGraph(spec, weights, { ...g, stats: badStats }); // throws the typed error naming valid statistics
    const unknown = taps.filter((t) => t !== 'norm_f' && !/^layers\.\d+\./.test(t));
    if (unknown.length > 0) buildForwardGraph(spec, weights, { ...g, taps: unknown }); // throws the typed error naming valid taps
    const stages: Stage[] = [
      { name: 'embedding', build: () => buildEmbeddingGraph(spec, weights, g) },
      ...spec.layers.map((l) => ({ name: `layer ${l.index}`, build: () => buildLayerGraph(spec, weights, l.index, { ...g, taps: taps.filter((t) => t.startsWith(`layers.${l.index}.`)), stats: stats.filter((t) => layerOf(t) === String(l.index)) }) })),
    ];
    // A taps-only run without norm_f needs no head stage.
    if (o.logits !== false || o.nll || taps.includes('norm_f')) stages.push({ name: 'head', build: () => buildHeadGraph(spec, weights, { ...g, taps: taps.filter((t) => t === 'norm_f') }) });
    return stages;
  }

  private async open(stage: Stage): Promise<ort.InferenceSession> {
    if (this.released) throw new HybridCompressError('OPTION_INVALID', 'this ForwardRunner was released; create a new one');
    try {
      return (await createSession(stage.build(), { ...sessionOpts(this.opts, this.weightsFolder), device: this.device })).session;
    } catch (e) {
      if (e instanceof HybridCompressError) throw new HybridCompressError(e.code, `${stage.name}: ${e.message}`, e.context);
      throw e;
    }
  }

  get numStages(): number {
    return this.stages.length;
  }

  async run(ids: BigInt64Array, batch: number, seq: number, o: RunOptions = {}): Promise<RunResult> {
    if (!Number.isInteger(batch) || !Number.isInteger(seq) || batch < 1 || seq < 1 || ids.length !== batch * seq) {
      throw new HybridCompressError('OPTION_INVALID', `ids has ${ids.length} tokens but batch ${batch} × seq ${seq} = ${batch * seq}; give batch·seq token ids`, { option: 'ids' });
    }
    const V = this.spec.vocabSize;
    const bigV = BigInt(V);
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i]!;
      if (t < 0n || t >= bigV) throw new HybridCompressError('OPTION_INVALID', `token id ${t} at position ${i} is outside the vocabulary [0, ${V})`, { option: 'ids' });
    }
    if (this.opts.nll) {
      const labels = o.labels;
      if (!labels || labels.length !== ids.length) throw new HybridCompressError('OPTION_INVALID', `this runner computes nll: give labels with batch·seq = ${ids.length} ids (got ${labels?.length ?? 'none'})`, { option: 'labels' });
      for (let i = 0; i < labels.length; i++) {
        if (labels[i]! < 0n || labels[i]! >= bigV) throw new HybridCompressError('OPTION_INVALID', `label ${labels[i]} at position ${i} is outside the vocabulary [0, ${V})`, { option: 'labels' });
      }
    }
    const taps = new Map<string, Float32Array>();
    const idsTensor = new ort.Tensor('int64', ids, [batch, seq]);
    const total = this.spec.numLayers;
    const extra: Record<string, ort.Tensor> = o.labels && this.opts.nll ? { [LABELS]: new ort.Tensor('int64', o.labels, [batch, seq]) } : {};
    if (this.mode === 'whole') {
      const out = await this.runStage(this.stages[0]!, { [INPUT_IDS]: idsTensor, ...extra }, o, taps);
      o.onLayer?.(total, total);
      return result(out, taps);
    }
    let hidden = (await this.runStage(this.stages[0]!, { [INPUT_IDS]: idsTensor }, o, taps))[HIDDEN]!;
    for (let n = 0; n < total; n++) {
      const out = await this.runStage(this.stages[n + 1]!, { [HIDDEN]: hidden }, o, taps);
      hidden = out[HIDDEN_OUT]!;
      o.onLayer?.(n + 1, total);
    }
    const head = this.stages[total + 1];
    if (!head) return { logits: new Float32Array(0), taps };
    return result(await this.runStage(head, { [HIDDEN]: hidden, ...extra }, o, taps), taps);
  }

  private async runStage(stage: Stage, feeds: Record<string, ort.Tensor>, o: RunOptions, taps: Map<string, Float32Array>): Promise<ort.InferenceSession.ReturnType> {
    const transient = !stage.session;
    const session = stage.session ?? (await this.open(stage));
    try {
      const all: Record<string, ort.Tensor> = { ...feeds };
      for (const name of session.inputNames) {
        if (all[name]) continue;
        const w = o.weights?.get(name);
        if (!w) throw new HybridCompressError('OPTION_INVALID', `${stage.name}: weight "${name}" is a graph input (asInput) but run() got no value for it`, { tensor: name });
        const shape = this.spec.layers.flatMap((l) => l.tensors).concat([this.spec.embedding, this.spec.normF, ...(this.spec.lmHead ? [this.spec.lmHead] : [])]).find((t) => t.name === name)!.shape;
        all[name] = new ort.Tensor('float32', w, shape);
      }
      let out: ort.InferenceSession.ReturnType;
      try {
        out = await session.run(all);
      } catch (e) {
        throw new HybridCompressError('RUNTIME_ERROR', `${stage.name}: ONNX Runtime failed: ${(e as Error).message.split('\n')[0]}`);
      }
      for (const [k, v] of Object.entries(out)) if (k !== LOGITS && k !== HIDDEN && k !== HIDDEN_OUT && k !== NLL) taps.set(k, v.data as Float32Array);
      return out;
    } finally {
      if (transient) await session.release();
    }
  }

  // ---- streamed building blocks, for callers that schedule layer-major over many batches ----------

  /** Streamed mode: ids → hidden [batch, seq, D]. */
  async embed(ids: BigInt64Array, batch: number, seq: number, o: RunOptions = {}): Promise<ort.Tensor> {
    this.requireStreamed('embed');
    return (await this.runStage(this.stages[0]!, { [INPUT_IDS]: new ort.Tensor('int64', ids, [batch, seq]) }, o, new Map()))[HIDDEN]!;
  }

  /** Streamed mode: layer n on hidden [batch, seq, D] → {hidden, taps of layer n}. */
  async runLayer(n: number, hidden: ort.Tensor, o: RunOptions = {}): Promise<{ hidden: ort.Tensor; taps: Map<string, Float32Array> }> {
    this.requireStreamed('runLayer');
    const stage = this.stages[n + 1];
    if (!stage || n < 0 || n >= this.spec.numLayers) throw new HybridCompressError('OPTION_INVALID', `layer ${n} does not exist; the model has layers 0..${this.spec.numLayers - 1}`, { option: 'layer' });
    const taps = new Map<string, Float32Array>();
    const out = await this.runStage(stage, { [HIDDEN]: hidden }, o, taps);
    return { hidden: out[HIDDEN_OUT]!, taps };
  }

  /** Streamed mode: hidden → logits [batch, seq, vocab] (+ norm_f tap, + nll with o.labels). */
  async head(hidden: ort.Tensor, o: RunOptions = {}): Promise<RunResult> {
    this.requireStreamed('head');
    const taps = new Map<string, Float32Array>();
    const stage = this.stages[this.spec.numLayers + 1];
    if (!stage) return { logits: new Float32Array(0), taps };
    const extra: Record<string, ort.Tensor> = o.labels && this.opts.nll ? { [LABELS]: new ort.Tensor('int64', o.labels, hidden.dims.slice(0, 2) as number[]) } : {};
    return result(await this.runStage(stage, { [HIDDEN]: hidden, ...extra }, o, taps), taps);
  }

  private requireStreamed(what: string): void {
    if (this.mode !== 'streamed') throw new HybridCompressError('OPTION_INVALID', `${what}() needs a runner created with mode: 'streamed'`, { option: 'mode' });
  }

  /** Releases every session (and a checkpoint the runner opened itself). Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    for (const s of this.stages) {
      await s.session?.release();
      s.session = undefined;
    }
    await this.ownedCheckpoint?.close();
  }
}

function result(out: ort.InferenceSession.ReturnType, taps: Map<string, Float32Array>): RunResult {
  const r: RunResult = { logits: (out[LOGITS]?.data as Float32Array | undefined) ?? new Float32Array(0), taps };
  if (out[NLL]) r.nll = out[NLL].data as Float32Array;
  return r;
}

/** One-shot convenience: open, run once, release. Prefer a ForwardRunner for repeated runs. */
export async function runForward(checkpoint: Checkpoint | string, ids: BigInt64Array, batch: number, seq: number, opts: ForwardRunnerOptions & RunOptions = {}): Promise<RunResult & { ep: ExecutionProvider }> {
  const runner = await ForwardRunner.create(checkpoint, opts);
  try {
    return { ...(await runner.run(ids, batch, seq, opts)), ep: runner.ep };
  } finally {
    await runner.release();
  }
}

function sessionOpts(o: ForwardRunnerOptions, folder: WeightsFolder) {
  return { modelDir: folder.folder, threads: o.threads, prepacking: o.prepacking, spinning: o.spinning, profilePrefix: o.profilePrefix, log: o.log };
}
