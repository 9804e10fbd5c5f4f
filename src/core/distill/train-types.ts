// The contracts around the training loop: the injected engines (a forward+backward step, a logits
// source), the loop's settings, hooks and result. Separate from trainer.ts so callers that only pass
// settings or read results (CLI, pipeline, search, job) do not pull in the loop.

import type { Checkpoint } from '../checkpoint/checkpoint';
import type { MetricPoint } from '../runs/metric-point';
import type { Packing } from '../data/index';
import type { LossKind } from './loss-graph';
import { HybridCompressError } from '../errors';
import { numel } from '../arch/spec';

export interface StepResult {
  loss: number;
  kdLoss?: number;
  ceLoss?: number;
  /** One gradient per parameter, in the order the step was created with. */
  grads: Float32Array[];
}

/**
 * Where a step's gradients land every step, written by ORT (pre-allocated outputs): the caller's buffers
 * (the optimizer's memory) or new ones allocated once (fresh model-sized arrays pay a page fault per 4 KiB).
 */
export function gradientBuffers(params: readonly { name: string; shape: number[] }[], given?: Float32Array[]): Float32Array[] {
  const grads = given ?? params.map((p) => new Float32Array(numel(p.shape)));
  params.forEach((p, i) => {
    if (grads[i]?.length !== numel(p.shape)) throw new HybridCompressError('RUNTIME_ERROR', `training: gradient buffer of "${p.name}" has ${grads[i]?.length ?? 0} elements, not ${numel(p.shape)}`, { tensor: p.name });
  });
  return grads;
}

/** Forward + backward of the student on one micro-batch. */
export interface TrainStep {
  run(params: readonly Float32Array[], ids: BigInt64Array, teacherLogits?: Float32Array): Promise<StepResult>;
  release(): Promise<void>;
}

export interface TrainStepOptions {
  batch: number;
  seq: number;
  loss: LossKind;
  alpha: number;
  temperature: number;
  device: string;
  threads?: number;
  /** 'layers': keep only the layers' inputs and recompute each layer in the backward pass (layer-train-step.ts); default 'none'. */
  recompute?: 'none' | 'layers';
  /** Buffers, one per parameter, that the step writes its gradients into (and returns as StepResult.grads); default: its own, allocated once. */
  gradients?: Float32Array[];
}

export type TrainStepFactory = (student: Checkpoint, params: readonly { name: string; shape: number[] }[], o: TrainStepOptions) => Promise<TrainStep>;

/** Logits of a model on a batch (teacher forward, student evaluation). */
export interface LogitsSource {
  logits(ids: BigInt64Array, batch: number, seq: number, params?: ReadonlyMap<string, Float32Array>): Promise<Float32Array>;
  readonly ep: string;
  release(): Promise<void>;
}

export interface Engines {
  step: TrainStepFactory;
  /** A forward runner over a checkpoint; `paramsAsInputs` makes every weight a run-time input (student eval). */
  forward: (ckpt: Checkpoint, o: { device: string; threads?: number; paramsAsInputs?: boolean }) => Promise<LogitsSource>;
}

export interface TrainSettings {
  student: string;
  teacher?: string;
  data: string;
  evalData?: string;
  out: string;
  steps: number;
  batch: number;
  seqLen: number;
  packing: Packing;
  shuffle: boolean;
  seed: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  gradAccum: number;
  clip: number;
  loss: LossKind;
  alpha: number;
  temperature: number;
  evalEvery: number;
  evalSamples: number;
  saveEvery: number;
  resume: boolean;
  device: string;
  threads?: number;
  /** Activation recomputation: 'auto' (default) picks 'layers' when the one-graph step would not fit in memory (distill/recompute-plan.ts). */
  recompute?: RecomputeMode;
}

export type RecomputeMode = 'auto' | 'none' | 'layers';
export const RECOMPUTE_MODES: readonly RecomputeMode[] = ['auto', 'none', 'layers'];

export interface TrainHooks {
  signal?: AbortSignal;
  log?: (line: string) => void;
  onMetric?: (p: MetricPoint) => void;
  onProgress?: (p: { step: number; steps: number; tokensPerS: number; loss: number }) => void;
  /** Test hook: called after each completed step (e.g. to kill the process at a given step). */
  afterStep?: (step: number) => void | Promise<void>;
}

export interface TrainResult {
  out: string;
  final: string;
  steps: number;
  resumedFrom?: number;
  firstLoss: number;
  lastLoss: number;
  lastValLoss?: number;
  tokens: number;
  seconds: number;
  tokensPerS: number;
  msPerStep: number;
  ep: string;
  params: number;
}
