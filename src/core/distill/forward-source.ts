// LogitsSource over the ONNX forward runner: the teacher's logits, and the student's (with its current
// float32 parameters fed as inputs) for periodic evaluation.

import type { Checkpoint } from '../checkpoint/checkpoint';
import { ForwardRunner } from '../runtime/forward-runner';
import type { Device } from '../runtime/session';
import type { LogitsSource } from './train-types';

export async function forwardLogitsSource(ckpt: Checkpoint, o: { device: string; threads?: number; paramsAsInputs?: boolean }): Promise<LogitsSource> {
  // The teacher's runs alternate with the student's training step (another session, its own threads): no
  // spinning, or its idle threads would take the CPUs from the step.
  const runner = await ForwardRunner.create(ckpt, { mode: 'whole', device: o.device as Device, threads: o.threads, spinning: false, asInput: o.paramsAsInputs ? () => true : undefined });
  return {
    ep: runner.ep,
    async logits(ids, batch, seq, params) {
      return (await runner.run(ids, batch, seq, { weights: params })).logits;
    },
    release: () => runner.release(),
  };
}
