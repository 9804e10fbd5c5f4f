// How each weight tensor enters a forward graph: as an initializer whose bytes stay in the user's
// .safetensors (external data), as an inline initializer (in-memory weights: tests, pruned candidates),
// or as a graph input fed at run time (training: parameters in, gradients out). Chosen per tensor.

import { HybridCompressError } from '../errors';
import { allTensorSpecs, numel, type HybridModelSpec } from '../arch/spec';
import { dtypeFromSafetensors, encodeValues, type DType } from '../onnx/index';
import type { CheckpointTensor } from '../checkpoint/checkpoint';

export type WeightBinding =
  | { kind: 'external'; dtype: DType; shape: number[]; location: string; offset: number; length: number }
  | { kind: 'data'; dtype: DType; shape: number[]; bytes: Uint8Array }
  | { kind: 'input'; dtype: DType; shape: number[] };

/** Resolves a tensor name (as in the spec) to its binding. */
export interface WeightSource {
  get(name: string): WeightBinding;
}

/**
 * Name of the graph input that carries rows [start, end) of a weight bound as an input, for graphs built
 * with `weightRowInputs` (forward-graph-context.ts): the caller feeds a view of those rows, nothing is copied.
 */
export function rowRangeInputName(tensor: string, start: number, end: number): string {
  return `${tensor}#rows${start}:${end}`;
}

/** The tensor and row range of a rowRangeInputName, or undefined for any other input name. */
export function parseRowRangeInput(input: string): { tensor: string; start: number; end: number } | undefined {
  const m = /^(.*)#rows(\d+):(\d+)$/.exec(input);
  return m ? { tensor: m[1]!, start: Number(m[2]), end: Number(m[3]) } : undefined;
}

/** A tensor's place in a checkpoint file. */
export type TensorLocation = CheckpointTensor;

export interface CheckpointWeightsOptions {
  /** Absolute weight-file path → external-data location relative to the session's model folder. */
  locations: ReadonlyMap<string, string>;
  /** Tensors to make graph inputs instead (fed as float32 unless inputDtype says otherwise). */
  asInput?: (name: string) => boolean;
  inputDtype?: DType;
}

/** Weights read in place from a checkpoint's .safetensors files. */
export function checkpointWeights(tensors: ReadonlyMap<string, TensorLocation>, o: CheckpointWeightsOptions): WeightSource {
  return {
    get(name) {
      const t = tensors.get(name);
      if (!t) throw new HybridCompressError('CHECKPOINT_INVALID', `forward graph: tensor "${name}" is not in the checkpoint`, { tensor: name });
      if (o.asInput?.(name)) return { kind: 'input', dtype: o.inputDtype ?? 'float32', shape: t.shape.slice() };
      const dtype = dtypeFromSafetensors(t.dtype);
      if (!dtype || !['float32', 'float16', 'bfloat16'].includes(dtype)) {
        throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `${t.file}: tensor "${name}" has dtype ${t.dtype}; the engine computes with F32, F16 or BF16 weights`, { file: t.file, tensor: name });
      }
      const location = o.locations.get(t.file);
      if (location === undefined) throw new Error(`no external-data location for ${t.file}`);
      return { kind: 'external', dtype, shape: t.shape.slice(), location, offset: t.fileOffset, length: t.byteLength };
    },
  };
}

export interface MemoryWeightsOptions {
  asInput?: (name: string) => boolean;
  /** Storage dtype of inline weights (default float32; float16/bfloat16 round like a checkpoint would). */
  dtype?: DType;
}

/** In-memory weights (Float32Array or Float64Array, rounded to f32), shapes taken from the spec. */
export function memoryWeights(spec: HybridModelSpec, values: ReadonlyMap<string, ArrayLike<number>>, o: MemoryWeightsOptions = {}): WeightSource {
  const shapes = new Map(allTensorSpecs(spec).map((t) => [t.name, t.shape]));
  return {
    get(name) {
      const shape = shapes.get(name);
      if (!shape) throw new HybridCompressError('CHECKPOINT_INVALID', `forward graph: tensor "${name}" is not part of the model spec`, { tensor: name });
      if (o.asInput?.(name)) return { kind: 'input', dtype: 'float32', shape: shape.slice() };
      const v = values.get(name);
      if (!v) throw new HybridCompressError('CHECKPOINT_INVALID', `forward graph: no values for tensor "${name}" (shape [${shape.join(', ')}])`, { tensor: name });
      if (v.length !== numel(shape)) throw new HybridCompressError('SHAPE_MISMATCH', `forward graph: tensor "${name}" has ${v.length} values; shape [${shape.join(', ')}] needs ${numel(shape)}`, { tensor: name });
      const dtype = o.dtype ?? 'float32';
      return { kind: 'data', dtype, shape: shape.slice(), bytes: encodeValues(dtype, v) };
    },
  };
}
