// StreamedModel: the model run layer by layer with bounded memory, for checkpoints that do not fit as one
// session (runtime/execution-plan.ts decides). Memory ≈ one layer's float32 weights + the next layer's raw
// bytes being read + the hidden states the caller keeps, independent of the number of layers.
//
//   const m = await StreamedModel.create(ckpt, { layerOutputs: (n) => ({ stats: [...] }), head: { nll: true } });
//   let h = await m.embed(ids);                        // [rows·seq·D], rows gathered from the file
//   for await (const step of m.pass({ head: true })) { // layers 0..L−1, then the vocabulary slices
//     if (step.kind === 'layer') h = (await step.run(h, rows, seq)).hidden;   // any number of runs per step
//     else { const { lse, labelLogit } = await step.run(h, rows, seq, localLabels); … }
//   }
//
// How: the weights are graph *inputs*, so one ORT session per layer kind (Mamba, attention, MLP) serves
// every layer of that kind (built once, from the first such layer, with tensor and output names mapped);
// each step's weights are read from the .safetensors and upcast to float32 in JS (weight-reader.ts), the
// next step's read ahead while this one computes. No session ever holds the whole model, and nothing is
// constant-folded or pre-packed per layer (that would cost a session build per layer per pass). The layer
// subgraph is the one the whole-model graph uses (forward-graph.ts emitLayer), so both paths compute the
// same function; the embedding rows are read exactly (gather, then the same dtype → f32 conversion), and
// the head runs over slices of the vocabulary (model/forward-graph-head.ts).

import * as ort from 'onnxruntime-node';
import { HybridCompressError } from '../errors';
import type { HybridModelSpec, LayerSpec, TensorRole } from '../arch/spec';
import type { Checkpoint } from '../checkpoint/checkpoint';
import { serializeModel } from '../onnx/index';
import { buildLayerGraph, checkRunnable, HIDDEN, HIDDEN_OUT, LOGITS } from '../model/forward-graph';
import type { DtClampMode } from '../model/dt-clamp';
import { buildHeadChunkGraph, CHUNK_LSE, HEAD_WEIGHT, LABEL_LOGIT, LOCAL_LABELS } from '../model/forward-graph-head';
import { memoryWeights, parseRowRangeInput } from '../model/forward-weights';
import { createSession, type Device, type ExecutionProvider } from './session';
import { DEFAULT_HEAD_ROWS } from './execution-plan';
import { WeightReader, type WeightPart } from './weight-reader';
import { DTYPE_BYTES } from '../safetensors/dtype';

export interface LayerOutputs {
  /** Full taps [rows, seq, width] of this layer (listTaps names). */
  taps?: readonly string[];
  /** Per-row statistics of this layer (listTapStats names). */
  stats?: readonly string[];
}

export interface StreamedModelOptions {
  device?: Device;
  /** Intra-op threads (0 = ORT default). */
  threads?: number;
  chunkSize?: number;
  dtClampMode?: DtClampMode;
  fused?: boolean;
  /** Extra outputs of layer n. */
  layerOutputs?: (n: number) => LayerOutputs;
  /** Roles of layer n whose column squares (LayerStep.columnSquares) will be asked for: taken while upcasting. */
  columnSquares?: (n: number) => readonly TensorRole[];
  /** What the head steps compute: the slice's logits and/or the pieces of the next-token loss. */
  head?: { logits?: boolean; nll?: boolean };
  /** Vocabulary rows per head step (default DEFAULT_HEAD_ROWS). */
  headRows?: number;
  log?: (line: string) => void;
}

export interface LayerStep {
  kind: 'layer';
  index: number;
  /** Runs this layer on hidden [rows, seq, D] (a view is fine); returns the next hidden state and the layer's outputs. */
  run(hidden: Float32Array, rows: number, seq: number): Promise<{ hidden: Float32Array; outputs: Map<string, Float32Array> }>;
  /** The layer's float32 weight of a role, valid until the next step (e.g. for statistics that need the weights). */
  weight(role: TensorRole): Float32Array | undefined;
  /**
   * ‖W[:, j]‖² in float64 of a 2-D weight [out, in] of this layer, summed over rows in order (the same
   * numbers as a plain loop) by a SIMD kernel; undefined when the weights are not in the arena.
   */
  columnSquares(role: TensorRole): Float64Array | undefined;
}

export interface HeadStep {
  kind: 'head';
  chunk: number;
  /** First vocabulary row of this slice, and its number of rows. */
  v0: number;
  rows: number;
  /** Final norm + this slice of the LM head on hidden [rows, seq, D]; localLabels (nll) = label − v0 clamped into [0, rows). */
  run(hidden: Float32Array, rows: number, seq: number, localLabels?: BigInt64Array): Promise<{ logits?: Float32Array; lse?: Float32Array; labelLogit?: Float32Array }>;
}

export type PassStep = LayerStep | HeadStep;

/** Bytes of embedding rows read per batch of reads. */
const EMBED_READ_BYTES = 16 << 20;

interface LayerSession {
  session: ort.InferenceSession;
  /** The layer the graph was built from: its tensor and output names are the session's. */
  template: LayerSpec;
}

/** Output names of layer n with its index replaced, so layers of one kind share a session. */
function canonical(names: readonly string[], n: number): string[] {
  const p = `layers.${n}.`;
  return names.map((x) => (x.startsWith(p) ? `layers.#.${x.slice(p.length)}` : x));
}

export class StreamedModel {
  private readonly layerSessions = new Map<string, LayerSession>();
  private headSession: ort.InferenceSession | undefined;
  private readonly reader: WeightReader;
  private released = false;
  private runMs = 0;

  private constructor(
    readonly checkpoint: Checkpoint,
    readonly spec: HybridModelSpec,
    private readonly opts: StreamedModelOptions,
    /** The execution provider the sessions run on (settled by the first session). */
    public ep: ExecutionProvider,
  ) {
    this.reader = new WeightReader(checkpoint, { arenaBytes: this.arenaBytes() });
  }

  /**
   * WebAssembly arena for the weights (weight-arena.ts): the largest step's raw bytes and float32 copy
   * (both exist while it is upcast) plus the next step's raw bytes being read, plus embedding reads.
   */
  private arenaBytes(): number {
    const groups = [...this.spec.layers.map((l) => this.layerParts(l)), ...Array.from({ length: this.headChunks }, (_, c) => this.headParts(c))];
    let need = 0;
    let raw = 0;
    for (const parts of groups) {
      let n = 0;
      let r = 0;
      for (const p of parts) {
        const t = this.checkpoint.tensor(p.tensor);
        const bytes = (p.byteEnd ?? t.byteLength) - (p.byteStart ?? 0);
        const f32 = (bytes / (DTYPE_BYTES[t.dtype] ?? 4)) * 4;
        n += t.dtype === 'BF16' ? bytes + f32 : f32;
        r += t.dtype === 'BF16' || t.dtype === 'F32' ? bytes : 0;
      }
      need = Math.max(need, n);
      raw = Math.max(raw, r);
    }
    // + room for one set of column sums (columnSquares) of the widest 2-D weight.
    const cols = Math.max(0, ...this.spec.layers.flatMap((l) => l.tensors.map((t) => (t.shape.length === 2 ? t.shape[1]! : 0))));
    return need + raw + 2 * EMBED_READ_BYTES + groups.length * 1024 + 8 * cols;
  }

  static async create(checkpoint: Checkpoint, o: StreamedModelOptions = {}): Promise<StreamedModel> {
    checkRunnable(checkpoint.spec);
    const rows = o.headRows ?? DEFAULT_HEAD_ROWS;
    if (!Number.isInteger(rows) || rows < 1) throw new HybridCompressError('OPTION_INVALID', `headRows ${rows} is not valid; use a positive integer`, { option: 'headRows' });
    const m = new StreamedModel(checkpoint, checkpoint.spec, o, 'cpu');
    try {
      // The first layer's session settles the device (and fails early on a bad option).
      const first = checkpoint.spec.layers[0];
      if (first) m.ep = (await m.openLayerSession(first, o.device)).ep;
    } catch (e) {
      await m.release();
      throw e;
    }
    return m;
  }

  /** Vocabulary rows per head step. */
  get headRows(): number {
    return Math.min(this.spec.vocabSize, this.opts.headRows ?? DEFAULT_HEAD_ROWS);
  }

  get headChunks(): number {
    return Math.ceil(this.spec.vocabSize / this.headRows);
  }

  private outputsOf(n: number): string[] {
    const o = this.opts.layerOutputs?.(n) ?? {};
    return [...(o.taps ?? []), ...(o.stats ?? [])];
  }

  private layerKey(layer: LayerSpec): string {
    return [layer.kind, layer.tensors.map((t) => `${t.role}:${t.shape.join('x')}`).join(','), canonical(this.outputsOf(layer.index), layer.index).join(',')].join('|');
  }

  private async openLayerSession(layer: LayerSpec, device: Device | undefined): Promise<{ s: LayerSession; ep: ExecutionProvider }> {
    const key = this.layerKey(layer);
    const hit = this.layerSessions.get(key);
    if (hit) return { s: hit, ep: this.ep };
    const o = this.opts;
    const out = o.layerOutputs?.(layer.index) ?? {};
    const graph = buildLayerGraph(this.spec, memoryWeights(this.spec, new Map(), { asInput: () => true }), layer.index, {
      chunkSize: o.chunkSize,
      dtClampMode: o.dtClampMode,
      fused: o.fused,
      taps: out.taps,
      stats: out.stats,
      weightRowInputs: true,
    });
    let created;
    try {
      created = await createSession(serializeModel(graph), { device, threads: o.threads, log: o.log });
    } catch (e) {
      if (e instanceof HybridCompressError) throw new HybridCompressError(e.code, `layer ${layer.index}: ${e.message}`, e.context);
      throw e;
    }
    const s = { session: created.session, template: layer };
    this.layerSessions.set(key, s);
    return { s, ep: created.ep };
  }

  private async openHeadSession(): Promise<ort.InferenceSession> {
    if (!this.headSession) {
      const h = this.opts.head ?? { logits: true };
      if (!h.logits && !h.nll) throw new HybridCompressError('OPTION_INVALID', 'the head computes nothing: ask for logits and/or nll', { option: 'head' });
      this.headSession = (await createSession(serializeModel(buildHeadChunkGraph(this.spec, { fused: this.opts.fused, logits: h.logits !== false, nll: h.nll })), { device: this.ep, threads: this.opts.threads, log: this.opts.log })).session;
    }
    return this.headSession;
  }

  /** ids [rows·seq] → hidden [rows·seq·D]: the embedding rows, read from the file and converted exactly. */
  async embed(ids: BigInt64Array): Promise<Float32Array> {
    this.check();
    const V = this.spec.vocabSize;
    const D = this.spec.hiddenSize;
    const E = this.checkpoint.tensor(this.spec.embedding.name);
    const rowBytes = D * (DTYPE_BYTES[E.dtype] ?? 4);
    const wanted = new Set<number>();
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i]!;
      if (t < 0n || t >= BigInt(V)) throw new HybridCompressError('OPTION_INVALID', `token id ${t} at position ${i} is outside the vocabulary [0, ${V})`, { option: 'ids' });
      wanted.add(Number(t));
    }
    // Neighbouring rows are read together (up to EMBED_READ_BYTES a read); far apart ones separately.
    const sorted = [...wanted].sort((a, b) => a - b);
    const maxRows = Math.max(1, Math.floor(EMBED_READ_BYTES / rowBytes));
    const ranges: [number, number][] = [];
    for (const r of sorted) {
      const last = ranges[ranges.length - 1];
      if (last && r - last[1] <= 16 && r + 1 - last[0] <= maxRows) last[1] = r + 1;
      else ranges.push([r, r + 1]);
    }
    const rowAt = new Map<number, Float32Array>();
    const parts: WeightPart[] = ranges.map(([a, b], i) => ({ key: String(i), tensor: E.name, byteStart: a * rowBytes, byteEnd: b * rowBytes }));
    // A few reads at a time (at most EMBED_READ_BYTES): enough to keep the disk busy, bounded memory.
    for (let i = 0; i < parts.length; ) {
      const group: WeightPart[] = [];
      let bytes = 0;
      while (i < parts.length && (group.length === 0 || bytes + parts[i]!.byteEnd! - parts[i]!.byteStart! <= EMBED_READ_BYTES)) {
        bytes += parts[i]!.byteEnd! - parts[i]!.byteStart!;
        group.push(parts[i++]!);
      }
      const got = await this.reader.take(`embedding:${i}`, group);
      for (const p of group) {
        const [a, b] = ranges[Number(p.key)]!;
        const block = got.get(p.key)!;
        for (let r = a; r < b; r++) if (wanted.has(r)) rowAt.set(r, block.slice((r - a) * D, (r - a + 1) * D));
      }
      this.reader.recycle(got.values());
    }
    const out = new Float32Array(ids.length * D);
    for (let i = 0; i < ids.length; i++) out.set(rowAt.get(Number(ids[i]!))!, i * D);
    return out;
  }

  private layerParts(layer: LayerSpec): WeightPart[] {
    const squares = this.opts.columnSquares?.(layer.index) ?? [];
    return layer.tensors.map((t) => ({ key: t.role, tensor: t.name, ...(squares.includes(t.role) ? { columnSquares: true } : {}) }));
  }

  private headParts(c: number): WeightPart[] {
    const D = this.spec.hiddenSize;
    const W = this.checkpoint.tensor((this.spec.lmHead ?? this.spec.embedding).name);
    const rowBytes = D * (DTYPE_BYTES[W.dtype] ?? 4);
    const v0 = c * this.headRows;
    const v1 = Math.min(this.spec.vocabSize, v0 + this.headRows);
    return [
      { key: HEAD_WEIGHT, tensor: W.name, byteStart: v0 * rowBytes, byteEnd: v1 * rowBytes },
      { key: 'norm_f', tensor: this.spec.normF.name },
    ];
  }

  /**
   * One pass over the model: each layer in order, then (head) each vocabulary slice. A step's weights are
   * valid until the consumer asks for the next step; the next step's are read meanwhile. `more`: another
   * pass follows, so layer 0 is read ahead at the end of this one.
   */
  async *pass(o: { head?: boolean; more?: boolean } = {}): AsyncGenerator<PassStep> {
    this.check();
    type Slot = { key: string; parts: WeightPart[]; layer?: LayerSpec; chunk?: number };
    const slots: Slot[] = this.spec.layers.map((l) => ({ key: `layer:${l.index}`, parts: this.layerParts(l), layer: l }));
    if (o.head) for (let c = 0; c < this.headChunks; c++) slots.push({ key: `head:${c}`, parts: this.headParts(c), chunk: c });
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const w = await this.reader.take(slot.key, slot.parts);
      const next = slots[i + 1] ?? (o.more ? slots[0] : undefined);
      if (next) this.reader.prefetch(next.key, next.parts);
      try {
        if (slot.layer) yield await this.layerStep(slot.layer, w);
        else yield await this.headStep(slot.chunk!, w);
      } finally {
        this.reader.recycle(w.values());
      }
    }
  }

  private async layerStep(layer: LayerSpec, w: Map<string, Float32Array>): Promise<LayerStep> {
    const { s } = await this.openLayerSession(layer, this.ep);
    const D = this.spec.hiddenSize;
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of s.session.inputNames) {
      if (name === HIDDEN) continue;
      // A row range of a weight (the Mamba in_proj) is fed as a view of this layer's array: no copy.
      const range = parseRowRangeInput(name);
      const role = s.template.tensors.find((t) => t.name === (range?.tensor ?? name))?.role;
      const mine = layer.tensors.find((x) => x.role === role);
      if (!role || !mine) throw new HybridCompressError('RUNTIME_ERROR', `layer ${layer.index}: the layer graph's input "${name}" has no counterpart in this layer`, { tensor: name });
      const values = w.get(role)!;
      if (!range) feeds[name] = new ort.Tensor('float32', values, mine.shape);
      else {
        const cols = mine.shape.slice(1).reduce((a, b) => a * b, 1);
        feeds[name] = new ort.Tensor('float32', values.subarray(range.start * cols, range.end * cols), [range.end - range.start, ...mine.shape.slice(1)]);
      }
    }
    const from = `layers.${s.template.index}.`;
    const to = `layers.${layer.index}.`;
    return {
      kind: 'layer',
      index: layer.index,
      weight: (role) => w.get(role),
      columnSquares: (role) => {
        const t = layer.tensors.find((x) => x.role === role);
        const v = w.get(role);
        return t && v && t.shape.length === 2 ? this.reader.columnSquares(v, t.shape[0]!, t.shape[1]!) : undefined;
      },
      run: async (hidden, rows, seq) => {
        const out = await this.runSession(`layer ${layer.index}`, s.session, { ...feeds, [HIDDEN]: new ort.Tensor('float32', hidden, [rows, seq, D]) });
        const outputs = new Map<string, Float32Array>();
        for (const [k, v] of Object.entries(out)) if (k !== HIDDEN_OUT) outputs.set(k.startsWith(from) ? to + k.slice(from.length) : k, v.data as Float32Array);
        return { hidden: out[HIDDEN_OUT]!.data as Float32Array, outputs };
      },
    };
  }

  private async headStep(c: number, w: Map<string, Float32Array>): Promise<HeadStep> {
    const session = await this.openHeadSession();
    const D = this.spec.hiddenSize;
    const v0 = c * this.headRows;
    const rowsHere = Math.min(this.spec.vocabSize, v0 + this.headRows) - v0;
    const feeds: Record<string, ort.Tensor> = {
      [HEAD_WEIGHT]: new ort.Tensor('float32', w.get(HEAD_WEIGHT)!, [rowsHere, D]),
      [this.spec.normF.name]: new ort.Tensor('float32', w.get('norm_f')!, [D]),
    };
    const nll = this.opts.head?.nll === true;
    return {
      kind: 'head',
      chunk: c,
      v0,
      rows: rowsHere,
      run: async (hidden, rows, seq, localLabels) => {
        const f: Record<string, ort.Tensor> = { ...feeds, [HIDDEN]: new ort.Tensor('float32', hidden, [rows, seq, D]) };
        if (nll) {
          if (!localLabels || localLabels.length !== rows * seq) throw new HybridCompressError('OPTION_INVALID', `head step: give localLabels for ${rows * seq} positions`, { option: 'labels' });
          f[LOCAL_LABELS] = new ort.Tensor('int64', localLabels, [rows, seq]);
        }
        const out = await this.runSession(`head slice ${c}`, session, f);
        return { logits: out[LOGITS]?.data as Float32Array | undefined, lse: out[CHUNK_LSE]?.data as Float32Array | undefined, labelLogit: out[LABEL_LOGIT]?.data as Float32Array | undefined };
      },
    };
  }

  /** Time and bytes so far: ORT runs, waiting for weight reads, upcasting weights (ms). */
  get stats(): { runMs: number; waitMs: number; decodeMs: number; bytesRead: number; outsideArena: number } {
    const r = this.reader.stats;
    return { runMs: this.runMs, waitMs: r.waitMs, decodeMs: r.decodeMs, bytesRead: r.bytes, outsideArena: r.outsideArena };
  }

  private async runSession(what: string, session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
    const t0 = performance.now();
    try {
      return await session.run(feeds);
    } catch (e) {
      throw new HybridCompressError('RUNTIME_ERROR', `${what}: ONNX Runtime failed: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      this.runMs += performance.now() - t0;
    }
  }

  private check(): void {
    if (this.released) throw new HybridCompressError('OPTION_INVALID', 'this StreamedModel was released; create a new one');
  }

  /** Releases the sessions and closes the weight files (not the checkpoint). Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    for (const s of this.layerSessions.values()) await s.session.release();
    this.layerSessions.clear();
    await this.headSession?.release();
    this.headSession = undefined;
    await this.reader.close();
  }
}

/** labels − v0 clamped into [0, rows): the head step's local label of every position. */
export function localLabels(labels: BigInt64Array, v0: number, rows: number, out = new BigInt64Array(labels.length)): BigInt64Array {
  const lo = BigInt(v0);
  const hi = BigInt(rows - 1);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]! - lo;
    out[i] = l < 0n ? 0n : l > hi ? hi : l;
  }
  return out;
}
