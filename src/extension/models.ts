// Reads checkpoints for the trees and panels: config.json and the safetensors headers only (no tensor
// data), cached per folder until the discovery watcher reports a change. Safe in untrusted workspaces:
// nothing here executes workspace content.

import type { HybridModelSpec } from '../core/arch/spec';
import { openCheckpoint } from '../core/checkpoint/checkpoint';
import { describeCheckpoint, type InspectReport } from '../core/checkpoint/describe';
import { describeError } from '../core/errors';
import type { ModelVM } from '../../webview/protocol';
import { modelVM } from './viewmodel/model-vm';

export interface LoadedModel {
  vm: ModelVM;
  spec: HybridModelSpec;
  report: InspectReport;
}

export type ModelResult = { ok: true; model: LoadedModel } | { ok: false; dir: string; error: string };

export class ModelCache {
  readonly #cache = new Map<string, Promise<ModelResult>>();

  get(dir: string): Promise<ModelResult> {
    let p = this.#cache.get(dir);
    if (!p) {
      p = load(dir);
      this.#cache.set(dir, p);
    }
    return p;
  }

  invalidate(): void {
    this.#cache.clear();
  }
}

async function load(dir: string): Promise<ModelResult> {
  try {
    const ckpt = await openCheckpoint(dir);
    try {
      return { ok: true, model: { vm: modelVM(ckpt), spec: ckpt.spec, report: describeCheckpoint(ckpt) } };
    } finally {
      await ckpt.close();
    }
  } catch (e) {
    return { ok: false, dir, error: describeError(e) };
  }
}
