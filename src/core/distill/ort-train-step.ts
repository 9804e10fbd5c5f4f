// TrainStep on ONNX Runtime: one session of the training graph (forward + loss + backward) with every
// parameter fed as an input and one gradient output per parameter, written by ORT into the caller's
// gradient buffers (pre-allocated outputs: KD step 2–3% faster than copying them out, bench/train.ts); or,
// with recompute 'layers', the layer-by-layer step of layer-train-step.ts (a fraction of the memory, about
// a third more compute).

import * as ort from 'onnxruntime-node';
import { HybridCompressError } from '../errors';
import type { Checkpoint } from '../checkpoint/checkpoint';
import { createSession, outputBytes, type Device } from '../runtime/session';
import { GarbageBudget } from '../util/collect-garbage';
import { buildTrainingGraph, nextTokenTargets } from './training-graph';
import { layerTrainStep } from './layer-train-step';
import { gradientBuffers, type StepResult, type TrainStep, type TrainStepFactory } from './train-types';

export const ortTrainStep: TrainStepFactory = async (student: Checkpoint, params, o) => {
  if (o.recompute === 'layers') return layerTrainStep(student, params, o);
  const spec = student.spec;
  // The standard-op forward trains faster than the fused one (the GroupQueryAttention backward recomputes probabilities).
  const tg = buildTrainingGraph(spec, { batch: o.batch, seq: o.seq, loss: o.loss, alpha: o.alpha, temperature: o.temperature, trainable: params.map((p) => p.name), forward: { fused: false } });
  const order = tg.inputs.params;
  const byName = new Map(params.map((p, i) => [p.name, i]));
  for (const n of order) if (!byName.has(n)) throw new HybridCompressError('RUNTIME_ERROR', `training graph input "${n}" has no parameter`);
  // The step's threads spin (ORT's default); the teacher's forward session, which takes turns with it, does
  // not (forward-source.ts). Both off: KD step 574/558/639/625 ms; the step's on: 515/521/582/521 ms
  // (bench/train.ts, four A/B pairs on a shared machine).
  const { session } = await createSession(tg.graph, { device: o.device as Device, threads: o.threads });
  const V = spec.vocabSize;
  const grads = gradientBuffers(params, o.gradients);
  const fetches: Record<string, ort.Tensor | null> = {};
  for (const name of [tg.outputs.loss, tg.outputs.kdLoss, tg.outputs.ceLoss]) if (name) fetches[name] = null;
  // A parameter the loss does not depend on (never the case for these models) keeps a zero gradient.
  params.forEach((p, i) => {
    const g = tg.outputs.grads.get(p.name);
    if (g) fetches[g] = new ort.Tensor('float32', grads[i]!, p.shape);
    else grads[i]!.fill(0);
  });
  // The binding still returns a copy of each output: a model's worth of garbage per step, collected at once.
  const garbage = new GarbageBudget();
  const step: TrainStep = {
    async run(values, ids, teacherLogits): Promise<StepResult> {
      const feeds: Record<string, ort.Tensor> = { [tg.inputs.ids]: new ort.Tensor('int64', ids, [o.batch, o.seq]) };
      if (tg.inputs.targets) feeds[tg.inputs.targets] = new ort.Tensor('int64', nextTokenTargets(ids, o.batch, o.seq), [o.batch, o.seq]);
      if (tg.inputs.teacherLogits) {
        if (!teacherLogits) throw new HybridCompressError('RUNTIME_ERROR', 'this training step needs teacher logits');
        feeds[tg.inputs.teacherLogits] = new ort.Tensor('float32', teacherLogits, [o.batch, o.seq, V]);
      }
      for (const n of order) {
        const i = byName.get(n)!;
        feeds[n] = new ort.Tensor('float32', values[i]!, params[i]!.shape);
      }
      const out = await session.run(feeds, fetches as ort.InferenceSession.FetchesType);
      garbage.dropped(outputBytes(out));
      const scalar = (name?: string) => (name ? (out[name]!.data as Float32Array)[0]! : undefined);
      return { loss: scalar(tg.outputs.loss)!, kdLoss: scalar(tg.outputs.kdLoss), ceLoss: scalar(tg.outputs.ceLoss), grads };
    },
    release: () => session.release(),
  };
  return step;
};
