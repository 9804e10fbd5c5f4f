// Graph → ONNX ModelProto bytes (onnx-proto's static protobufjs code). Deterministic: the same Graph
// gives the same bytes (nodes in build order, attributes and metadata sorted by name, no timestamps),
// so serialised models can be hashed and cached on disk.

import onnxProto from 'onnx-proto';
import { DEFAULT_IR_VERSION, ONNX_DTYPE, type Attr, type Dim, type Graph, type Initializer, type TensorValue, type Value } from './types';
import { isUnknownDim } from './dims';

const { onnx } = onnxProto;

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;
const utf8 = new TextEncoder();

export interface SerializeOptions {
  irVersion?: number;
  producerVersion?: string;
}

function dimProto(d: Dim): Record<string, unknown> {
  if (typeof d === 'number') return { dimValue: d };
  // Only plain symbols are written; products and unknowns stay anonymous (ORT infers them).
  if (isUnknownDim(d) || d.includes('*')) return {};
  return { dimParam: d };
}

function valueInfo(v: Value): Record<string, unknown> {
  return { name: v.name, type: { tensorType: { elemType: ONNX_DTYPE[v.dtype], shape: { dim: v.shape.map(dimProto) } } } };
}

function tensorValueProto(t: TensorValue): Record<string, unknown> {
  return { dims: t.dims, dataType: ONNX_DTYPE[t.dtype], rawData: t.bytes };
}

function attrProto(name: string, a: Attr): Record<string, unknown> {
  const base = { name, type: ATTR_TYPE[a.kind] };
  switch (a.kind) {
    case 'int':
      return { ...base, i: a.value };
    case 'float':
      return { ...base, f: a.value };
    case 'string':
      return { ...base, s: utf8.encode(a.value) };
    case 'ints':
      return { ...base, ints: a.value };
    case 'floats':
      return { ...base, floats: a.value };
    case 'strings':
      return { ...base, strings: a.value.map((s) => utf8.encode(s)) };
    case 'tensor':
      return { ...base, t: tensorValueProto(a.value) };
  }
}

function initializerProto(i: Initializer): Record<string, unknown> {
  const base = { name: i.name, dims: i.dims, dataType: ONNX_DTYPE[i.dtype] };
  if (i.data.kind === 'raw') return { ...base, rawData: i.data.bytes };
  return {
    ...base,
    dataLocation: 1, // EXTERNAL
    externalData: [
      { key: 'location', value: i.data.location },
      { key: 'offset', value: String(i.data.offset) },
      { key: 'length', value: String(i.data.length) },
    ],
  };
}

export function toModelProto(g: Graph, o: SerializeOptions = {}): Record<string, unknown> {
  return {
    irVersion: o.irVersion ?? DEFAULT_IR_VERSION,
    opsetImport: g.opsets.map((s) => ({ domain: s.domain, version: s.version })),
    producerName: 'hybrid-compress',
    producerVersion: o.producerVersion ?? '1',
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        domain: n.domain,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.keys(n.attrs)
          .sort()
          .map((k) => attrProto(k, n.attrs[k]!)),
      })),
      initializer: g.initializers.map(initializerProto),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
    },
    metadataProps: Object.keys(g.metadata)
      .sort()
      .map((k) => ({ key: k, value: g.metadata[k]! })),
  };
}

/** Serialises a graph to ONNX ModelProto bytes. */
export function serializeModel(g: Graph, o: SerializeOptions = {}): Uint8Array {
  checkGraph(g);
  return onnx.ModelProto.encode(toModelProto(g, o) as never).finish();
}

/** Decodes model bytes (tests and debugging). */
export function decodeModel(bytes: Uint8Array): ReturnType<typeof onnx.ModelProto.decode> {
  return onnx.ModelProto.decode(bytes);
}

/** Every node input must be produced earlier (graph input, initializer or earlier node output). */
export function checkGraph(g: Graph): void {
  const known = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.map((i) => i.name)]);
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i !== '' && !known.has(i)) throw new Error(`graph ${g.name}: node ${n.name} (${n.op}) reads "${i}" before it is produced`);
    for (const o of n.outputs) known.add(o);
  }
  for (const o of g.outputs) if (!known.has(o.name)) throw new Error(`graph ${g.name}: output "${o.name}" is never produced`);
}
