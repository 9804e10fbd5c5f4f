// A synchronous garbage collection, for code that knows large buffers just became garbage. onnxruntime-node
// returns every output as a fresh copy; a loop that drops them run after run (the training steps, whose
// gradient outputs are a model's worth per step) otherwise keeps several runs' worth alive until V8
// decides to collect, and the process heap keeps that high-water mark. The `gc` function is the one
// `node --expose-gc` installs, made available at run time (V8 reads the flag when a new context is created).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = () => void;
let gc: Gc | null | undefined;

/** Runs a full collection; false when this runtime offers none (nothing happened). */
export function collectGarbage(): boolean {
  if (gc === undefined) {
    gc = (globalThis as { gc?: Gc }).gc ?? null;
    if (!gc) {
      try {
        setFlagsFromString('--expose-gc');
        gc = (runInNewContext('gc') as Gc | undefined) ?? null;
      } catch {
        gc = null;
      }
    }
  }
  gc?.();
  return gc !== null;
}

/**
 * Collects once `bytes` of dropped buffers have added up past `threshold` since the last collection
 * (default 64 MiB, what both training steps use).
 */
export class GarbageBudget {
  private pending = 0;
  constructor(
    private readonly threshold = 64 * 2 ** 20,
    private readonly collect: () => unknown = collectGarbage,
  ) {}
  dropped(bytes: number): void {
    this.pending += bytes;
    if (this.pending >= this.threshold) {
      this.pending = 0;
      this.collect();
    }
  }
}
