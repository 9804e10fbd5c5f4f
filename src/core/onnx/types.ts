// The in-memory graph the builder produces and the serialiser writes: plain data (no protobuf objects),
// so later passes (reverse-mode autodiff, graph surgery) can walk and extend it. Nodes are kept in the
// order they were built, which is a topological order.

export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Readonly<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** safetensors dtype name → graph dtype (only those the engine computes with). */
export function dtypeFromSafetensors(st: string): DType | undefined {
  return ({ F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64', I64: 'int64', I32: 'int32', I8: 'int8', U8: 'uint8', BOOL: 'bool' } as Record<string, DType>)[st];
}

/**
 * A dimension: a number, or a symbol. Symbols are products of named factors written canonically
 * ("batch", "batch*seq", "4*batch"); names starting with "?" are unknown dims invented by shape
 * inference (they are never written into the model file).
 */
export type Dim = number | string;
export type Shape = Dim[];

/** A value flowing through the graph: a graph input, an initializer or a node output. */
export interface Value {
  readonly name: string;
  readonly dtype: DType;
  /** Static or symbolic shape; every op helper infers it (or takes it from the caller for dynamic reshapes). */
  readonly shape: Shape;
}

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: TensorValue };

/** A tensor-valued attribute (Constant.value, ConstantOfShape.value). */
export interface TensorValue {
  dtype: DType;
  dims: number[];
  bytes: Uint8Array;
}

export interface Node {
  /** Unique node name (also what ORT's profiler reports). */
  name: string;
  op: string;
  /** '' (ai.onnx) or 'com.microsoft'. */
  domain: string;
  /** Value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

/** Where an initializer's bytes are: inline, or a byte range of a file relative to the model folder. */
export type InitializerData =
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'external'; location: string; offset: number; length: number };

export interface Initializer {
  name: string;
  dtype: DType;
  dims: number[];
  data: InitializerData;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

/** Default opsets: ai.onnx 21 (IR 10) — Reduce* take axes as an input; com.microsoft 1 for ORT contrib ops. */
export const DEFAULT_OPSET = 21;
export const DEFAULT_IR_VERSION = 10;
export const MS_DOMAIN = 'com.microsoft';

export interface Graph {
  name: string;
  inputs: Value[];
  outputs: Value[];
  nodes: Node[];
  initializers: Initializer[];
  /** Every value's dtype and shape, by name (inputs, initializers and node outputs). */
  values: Map<string, Value>;
  opsets: OpsetImport[];
  /** Free-form key/value metadata written into the model (e.g. what the graph computes). */
  metadata: Record<string, string>;
}
