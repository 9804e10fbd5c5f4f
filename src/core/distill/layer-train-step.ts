// TrainStep that keeps only the hidden states between layers (activation recomputation at layer
// boundaries). The one-graph step (ort-train-step.ts) holds every layer's activations and, because the
// Node binding copies each output out of ORT, every gradient twice; at 100M+ parameters that is about
// half its peak memory. Here each step runs
//   forward:  embedding rows (a copy, in JS) → one session per layer kind, keeping each layer's input;
//   head:     final norm + LM head + loss and their gradients (appendHeadLoss, as the one-graph step);
//   backward: per layer, last to first, one session that recomputes the layer's forward from its
//             saved input and returns its weights' gradients and d input;
//   embedding: d rows scattered into the table's gradient (plus the head's, when tied).
// One layer's activations and gradient copies are alive at a time; ORT writes the gradients into buffers
// allocated once (the optimizer's memory, when the trainer passes it), in_proj's row by row range. The
// price is one more forward pass of the layers (about a third more FLOPs) and more runs. The maths is the
// one-graph step's (same forward builders, same autodiff rules); sums across the layer boundary and the
// in_proj row ranges are grouped differently, so gradients agree to float32 rounding.

import * as ort from 'onnxruntime-node';
import { HybridCompressError } from '../errors';
import type { LayerSpec } from '../arch/spec';
import { buildHeadGraph, buildLayerGraph, HIDDEN, HIDDEN_OUT, type ForwardGraphOptions } from '../model/forward-graph';
import { memoryWeights, parseRowRangeInput } from '../model/forward-weights';
import { GraphBuilder } from '../onnx/builder';
import type { Graph } from '../onnx/types';
import { differentiate } from '../onnx/autodiff/differentiate';
import { specializeShapes } from '../onnx/autodiff/specialize';
import { createSession, outputBytes, type Device } from '../runtime/session';
import { collectGarbage, GarbageBudget } from '../util/collect-garbage';
import { checkLossOptions, CE_LOSS, KD_LOSS, LOSS } from './loss-graph';
import { differentiateFusedHead, nextTokenTargets, NORM_F, TARGETS, TEACHER_LOGITS } from './training-graph';
import { gradientBuffers, type StepResult, type TrainStep, type TrainStepFactory } from './train-types';

const D_HIDDEN_OUT = 'd_hidden_out';
const gradOf = (name: string) => `${name}.grad`;

/** One graph input of a layer session: the layer's k-th tensor, whole or rows [start, end) of it. */
interface LayerInput {
  input: string;
  k: number;
  rows?: [number, number];
}

interface KindSessions {
  forward: ort.InferenceSession;
  backward: ort.InferenceSession;
  /** The backward session's weight inputs (the forward's are the same). */
  inputs: LayerInput[];
  /** Tensors (by k) the layer's graph does not use: their gradient is zero. */
  unused: number[];
}

/** The layers' shared structure: layers with equal keys run in the same sessions (inputs named after the template's tensors). */
function layerKey(layer: LayerSpec): string {
  return `${layer.kind}|${layer.tensors.map((t) => `${t.role}:${t.shape.join('x')}`).join(',')}`;
}

export const layerTrainStep: TrainStepFactory = async (student, params, o) => {
  const spec = student.spec;
  const [B, T, D, V] = [o.batch, o.seq, spec.hiddenSize, spec.vocabSize];
  const lo = checkLossOptions({ loss: o.loss, alpha: o.alpha, temperature: o.temperature });
  const index = new Map(params.map((p, i) => [p.name, i]));
  const at = (name: string): number => {
    const i = index.get(name);
    if (i === undefined) throw new HybridCompressError('RUNTIME_ERROR', `training: tensor "${name}" has no parameter`, { tensor: name });
    return i;
  };
  const weights = memoryWeights(spec, new Map(), { asInput: () => true });
  const fwdOpts: ForwardGraphOptions = { fused: false };
  const opened: ort.InferenceSession[] = [];
  // No ORT arenas: each session's arena would keep its own peak for good (seven sessions here); freed to
  // the process heap, one layer's temporaries are reused by the next layer's run, whatever its kind.
  const open = async (g: Graph) => {
    const s = (await createSession(g, { device: o.device as Device, threads: o.threads, cpuArena: false, spinning: false })).session;
    opened.push(s);
    return s;
  };

  try {
    const kinds = new Map<string, KindSessions>();
    for (const layer of spec.layers) {
      const key = layerKey(layer);
      if (kinds.has(key)) continue;
      // weightRowInputs: in_proj comes as one input per row range (z, xBC, dt), fed as views of the weight;
      // their gradients are written into the matching rows of the weight's gradient, so neither pass
      // slices the weight nor pads and sums the three parts back together.
      const graph = () => specializeShapes(buildLayerGraph(spec, weights, layer.index, { ...fwdOpts, weightRowInputs: true }), { [HIDDEN]: [B, T, D] });
      const forward = await open(graph());
      const g = graph();
      new GraphBuilder(g).input(D_HIDDEN_OUT, 'float32', [B, T, D]);
      const wrt = g.inputs.map((v) => v.name).filter((n) => n !== D_HIDDEN_OUT);
      const d = differentiate(g, { seeds: [{ value: HIDDEN_OUT, grad: D_HIDDEN_OUT }], wrt, gradName: gradOf });
      const position = new Map(layer.tensors.map((t, k) => [t.name, k]));
      const inputs: LayerInput[] = [];
      for (const name of wrt) {
        if (name === HIDDEN) continue;
        const r = parseRowRangeInput(name);
        const k = position.get(r ? r.tensor : name);
        if (k === undefined) throw new HybridCompressError('RUNTIME_ERROR', `layer ${layer.index}: graph input "${name}" is not one of the layer's tensors`);
        inputs.push(r ? { input: name, k, rows: [r.start, r.end] } : { input: name, k });
      }
      // Row ranges must tile their tensor: rows no input covers would keep a stale gradient.
      for (const k of new Set(inputs.filter((i) => i.rows).map((i) => i.k))) {
        const ranges = inputs.filter((i) => i.k === k).map((i) => i.rows!).sort((a, b) => a[0] - b[0]);
        const tiles = ranges.every((r, j) => r[0] === (j === 0 ? 0 : ranges[j - 1]![1])) && ranges[ranges.length - 1]![1] === layer.tensors[k]!.shape[0];
        if (!tiles) throw new HybridCompressError('RUNTIME_ERROR', `layer ${layer.index}: the row inputs of "${layer.tensors[k]!.name}" do not cover its ${layer.tensors[k]!.shape[0]} rows exactly`);
      }
      const used = new Set(inputs.map((i) => i.k));
      kinds.set(key, { forward, backward: await open(d.graph), inputs, unused: layer.tensors.map((_, k) => k).filter((k) => !used.has(k)) });
    }

    // Head: hidden → final norm → LM head + loss, with d hidden, d norm weight and d head weight.
    const headSpec = spec.lmHead ?? spec.embedding;
    const hb = new GraphBuilder(specializeShapes(buildHeadGraph(spec, weights, { ...fwdOpts, logits: false, taps: [NORM_F] }), { [HIDDEN]: [B, T, D] }));
    const teacherIn = lo.loss !== 'ce' ? hb.input(TEACHER_LOGITS, 'float32', [B, T, V]) : undefined;
    const targetsIn = lo.loss !== 'kd' ? hb.input(TARGETS, 'int64', [B, T]) : undefined;
    const { lv, d: hd } = differentiateFusedHead(hb, spec, B, T, lo, { teacherLogits: teacherIn, targets: targetsIn }, { wrt: [HIDDEN, spec.normF.name, headSpec.name], gradName: gradOf });
    const head = await open(hd.graph);

    const embIdx = at(spec.embedding.name);
    const tied = headSpec.name === spec.embedding.name;
    const grads = gradientBuffers(params, o.gradients);
    // The binding still returns a copy of each output; collected every 64 MiB so they do not pile up.
    const garbage = new GarbageBudget();
    const tensor = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
    /** Tensor k of the layer (or its rows) in `arrays` (values or gradients), as ORT tensors by input name. */
    const layerTensors = (layer: LayerSpec, k: KindSessions, arrays: readonly Float32Array[]): Record<string, ort.Tensor> => {
      const out: Record<string, ort.Tensor> = {};
      for (const i of k.inputs) {
        const t = layer.tensors[i.k]!;
        const a = arrays[at(t.name)]!;
        if (!i.rows) out[i.input] = tensor(a, t.shape);
        else {
          const cols = a.length / t.shape[0]!;
          out[i.input] = tensor(a.subarray(i.rows[0] * cols, i.rows[1] * cols), [i.rows[1] - i.rows[0], ...t.shape.slice(1)]);
        }
      }
      return out;
    };
    const kindOf = (layer: LayerSpec) => kinds.get(layerKey(layer))!;
    // The graphs built above and the checkpoint's read buffers are garbage now. Collected before the first
    // step, their space is not left scattered between the runs' temporaries in the process heap: at 123M
    // parameters, peak RSS 19.8–19.9 B/param in 3 of 3 runs with it, 20.8 in 2 of 3 without.
    collectGarbage();

    const step: TrainStep = {
      async run(values, ids, teacherLogits): Promise<StepResult> {
        if (ids.length !== B * T) throw new HybridCompressError('RUNTIME_ERROR', `training step: ${ids.length} ids for batch ${B} × seq ${T}`);
        // Forward, keeping each layer's input.
        const E = values[embIdx]!;
        const h0 = new Float32Array(B * T * D);
        for (let p = 0; p < B * T; p++) {
          const row = Number(ids[p]!);
          if (!(row >= 0 && row < V)) throw new HybridCompressError('DATA_INVALID', `token id ${row} is outside the vocabulary (0..${V - 1})`);
          h0.set(E.subarray(row * D, row * D + D), p * D);
        }
        const inputs: Float32Array[] = [h0];
        for (const layer of spec.layers) {
          const k = kindOf(layer);
          const out = await k.forward.run({ [HIDDEN]: tensor(inputs[inputs.length - 1]!, [B, T, D]), ...layerTensors(layer, k, values) });
          inputs.push(out[HIDDEN_OUT]!.data as Float32Array);
        }

        // Head and loss.
        const hf: Record<string, ort.Tensor> = {
          [HIDDEN]: tensor(inputs.pop()!, [B, T, D]),
          [spec.normF.name]: tensor(values[at(spec.normF.name)]!, spec.normF.shape),
          [headSpec.name]: tensor(values[at(headSpec.name)]!, headSpec.shape),
        };
        if (targetsIn) hf[TARGETS] = new ort.Tensor('int64', nextTokenTargets(ids, B, T), [B, T]);
        if (teacherIn) {
          if (!teacherLogits) throw new HybridCompressError('RUNTIME_ERROR', 'this training step needs teacher logits');
          hf[TEACHER_LOGITS] = tensor(teacherLogits, [B, T, V]);
        }
        const headFetches: Record<string, ort.Tensor | null> = { [LOSS]: null, [gradOf(HIDDEN)]: null, [gradOf(spec.normF.name)]: tensor(grads[at(spec.normF.name)]!, spec.normF.shape) };
        if (lv.kdLoss) headFetches[KD_LOSS] = null;
        if (lv.ceLoss) headFetches[CE_LOSS] = null;
        // A tied head's gradient is where the embedding rows' gradients are added below.
        headFetches[gradOf(headSpec.name)] = tensor(grads[at(headSpec.name)]!, headSpec.shape);
        const ho = await head.run(hf, headFetches as ort.InferenceSession.FetchesType);
        garbage.dropped(outputBytes(ho));
        const scalar = (name: string) => (ho[name] ? (ho[name].data as Float32Array)[0]! : undefined);
        let dh = ho[gradOf(HIDDEN)]!.data as Float32Array;

        // Backward, last layer first, each recomputing its forward from its saved input.
        for (let l = spec.layers.length - 1; l >= 0; l--) {
          const layer = spec.layers[l]!;
          const k = kindOf(layer);
          const feeds = { [HIDDEN]: tensor(inputs.pop()!, [B, T, D]), [D_HIDDEN_OUT]: tensor(dh, [B, T, D]), ...layerTensors(layer, k, values) };
          const fetches: Record<string, ort.Tensor | null> = { [gradOf(HIDDEN)]: null };
          for (const [name, t] of Object.entries(layerTensors(layer, k, grads))) fetches[gradOf(name)] = t;
          for (const u of k.unused) grads[at(layer.tensors[u]!.name)]!.fill(0);
          const out = await k.backward.run(feeds, fetches as ort.InferenceSession.FetchesType);
          garbage.dropped(outputBytes(out));
          dh = out[gradOf(HIDDEN)]!.data as Float32Array;
        }

        // Embedding rows: d rows added into the table's gradient in position order (as ScatterND's add).
        const gE = grads[embIdx]!;
        if (!tied) gE.fill(0);
        for (let p = 0; p < B * T; p++) {
          const base = Number(ids[p]!) * D;
          for (let j = 0; j < D; j++) gE[base + j]! += dh[p * D + j]!;
        }
        return { loss: scalar(LOSS)!, kdLoss: scalar(KD_LOSS), ceLoss: scalar(CE_LOSS), grads };
      },
      async release() {
        for (const s of opened) await s.release();
      },
    };
    return step;
  } catch (e) {
    for (const s of opened) await s.release().catch(() => undefined);
    throw e;
  }
};
