// The importance file the calibrate stage writes and the pruner, the search and the Importance view read:
// `importance.safetensors` of a calibration run (tensor names, shapes and `__metadata__` below are that
// format, docs in README), or seeded random scores of the same layout (`--importance random`, the random
// baseline and the only choice for shape-only checkpoints).

import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HybridCompressError } from '../errors';
import { numel, type HybridModelSpec } from '../arch/spec';
import { SafetensorsFile } from '../safetensors/reader';
import { Rng } from '../util/random';
import type { Fingerprint } from '../checkpoint/fingerprint';

export const IMPORTANCE_FORMAT = 'hybrid-compress/importance@1';
import { IMPORTANCE_FILE } from '../runs/layout';

export { IMPORTANCE_FILE };

export class ImportanceScores {
  constructor(
    /** Where the scores come from: a file path, or `random(seed=S)`. */
    readonly source: string,
    readonly metadata: Readonly<Record<string, string>>,
    private readonly tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>,
  ) {}

  get isRandom(): boolean {
    return this.source.startsWith('random(');
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  /** The scores of `name`, checked against the expected shape; `why` says what needs them (for the error). */
  require(name: string, shape: readonly number[], why: string): Float32Array {
    const t = this.tensors.get(name);
    if (!t) {
      throw new HybridCompressError('DATA_INVALID', `${this.source}: no importance tensor "${name}" [${shape.join(', ')}], needed for ${why}; re-run calibrate on this model, or use --importance random`, {
        file: this.source,
        tensor: name,
      });
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new HybridCompressError(
        'SHAPE_MISMATCH',
        `${this.source}: importance tensor "${name}" has shape [${t.shape.join(', ')}] but the model needs [${shape.join(', ')}] (were the scores computed for another model?)`,
        { file: this.source, tensor: name },
      );
    }
    const bad = t.data.findIndex((x) => Number.isNaN(x));
    if (bad >= 0) {
      throw new HybridCompressError('NON_FINITE', `${this.source}: importance tensor "${name}" has NaN at index ${bad} (did the calibration pass diverge?); re-run calibrate`, { file: this.source, tensor: name });
    }
    return t.data;
  }

  optional(name: string, shape: readonly number[], why: string): Float32Array | undefined {
    return this.tensors.has(name) ? this.require(name, shape, why) : undefined;
  }
}

/** The importance tensors a model has, with their shapes, in model order. */
export function importanceLayout(spec: HybridModelSpec): { name: string; shape: number[] }[] {
  const out: { name: string; shape: number[] }[] = [{ name: 'embedding.channels', shape: [spec.hiddenSize] }];
  for (const l of spec.layers) {
    const p = `layers.${l.index}`;
    if (l.kind === 'M' && spec.mamba) {
      const { numHeads: H, headDim: P } = spec.mamba;
      out.push(
        { name: `${p}.mamba.activations`, shape: [H, P] },
        { name: `${p}.mamba.channels`, shape: [P] },
        { name: `${p}.mamba.heads`, shape: [H] },
        { name: `${p}.mamba.flap`, shape: [H] },
      );
    } else if (l.kind === '-' && spec.mlp) {
      out.push({ name: `${p}.mlp.neurons`, shape: [spec.mlp.intermediateSize] }, { name: `${p}.mlp.flap`, shape: [spec.mlp.intermediateSize] });
    } else if (l.kind === '*' && spec.attention) {
      out.push({ name: `${p}.attention.heads`, shape: [spec.attention.numHeads] });
    }
  }
  out.push({ name: 'depth.block_importance', shape: [spec.numLayers] }, { name: 'depth.kl', shape: [spec.numLayers] });
  return out;
}

/** Seeded uniform scores for every tensor of the layout (drawn in layout order, so the seed fixes all). */
export function randomImportance(spec: HybridModelSpec, seed: number): ImportanceScores {
  const rng = new Rng(seed);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const { name, shape } of importanceLayout(spec)) {
    const data = new Float32Array(numel(shape));
    for (let i = 0; i < data.length; i++) data[i] = rng.next();
    tensors.set(name, { shape, data });
  }
  return new ImportanceScores(`random(seed=${seed})`, { format: IMPORTANCE_FORMAT, random_seed: String(seed) }, tensors);
}

/** A calibration run folder (holding importance.safetensors) or the file itself. */
export function resolveImportancePath(pathOrDir: string): string {
  const abs = resolve(pathOrDir);
  if (!existsSync(abs)) throw new HybridCompressError('OPTION_INVALID', `--importance: ${abs} does not exist (give a calibrate run folder, its ${IMPORTANCE_FILE}, or "random")`, { option: 'importance', file: abs });
  if (statSync(abs).isDirectory()) {
    const f = join(abs, IMPORTANCE_FILE);
    if (!existsSync(f)) throw new HybridCompressError('OPTION_INVALID', `--importance: ${abs} has no ${IMPORTANCE_FILE} (is it a finished calibrate run?)`, { option: 'importance', file: f });
    return f;
  }
  return abs;
}

export async function loadImportance(pathOrDir: string): Promise<ImportanceScores> {
  const path = resolveImportancePath(pathOrDir);
  const st = SafetensorsFile.open(path);
  try {
    const format = st.metadata['format'];
    if (format !== IMPORTANCE_FORMAT) {
      throw new HybridCompressError('DATA_INVALID', `${path}: __metadata__.format is ${JSON.stringify(format)}; expected "${IMPORTANCE_FORMAT}" (an importance file written by calibrate)`, { file: path });
    }
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const t of st.header.tensors) tensors.set(t.name, { shape: t.shape, data: await st.readFloat32(t.name) });
    return new ImportanceScores(path, st.metadata, tensors);
  } finally {
    await st.close();
  }
}

/** The model fingerprint recorded in an importance file's metadata, if any. */
export function recordedFingerprint(scores: ImportanceScores): string | undefined {
  const m = scores.metadata;
  return m['fingerprint'] ?? m['model_fingerprint'] ?? m['source'];
}

function fingerprintMatches(recorded: string, fp: Fingerprint): boolean {
  return recorded === fp.id || recorded === `${fp.config}-${fp.tensors}` || recorded === fp.tensors;
}

/** Refuses scores computed for another model unless `allowMismatch` (the override flag). */
export function checkImportanceFingerprint(scores: ImportanceScores, fp: Fingerprint, allowMismatch: boolean): string | undefined {
  if (scores.isRandom) return undefined;
  const recorded = recordedFingerprint(scores);
  if (recorded === undefined) return `${scores.source} records no model fingerprint; cannot check that it belongs to this model`;
  if (fingerprintMatches(recorded, fp)) return undefined;
  const msg = `${scores.source} was computed for model ${recorded}, but this model is ${fp.id}`;
  if (!allowMismatch) {
    throw new HybridCompressError('DATA_INVALID', `${msg}; re-run calibrate on this model, or pass --allow-fingerprint-mismatch to use the scores anyway`, {
      file: scores.source,
      option: 'importance',
    });
  }
  return msg;
}
