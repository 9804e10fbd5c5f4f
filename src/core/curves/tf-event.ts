// Decoding of TensorBoard `Event` protobufs (tensorboard/compat/proto/{event,summary,tensor}.proto)
// down to scalar values. Two scalar encodings exist in the wild:
// - `Summary.Value.simple_value` (float) — TF1, tensorboardX, PyTorch's SummaryWriter;
// - `Summary.Value.tensor`, a rank-0 TensorProto (float_val / double_val / ... or raw tensor_content),
//   tagged with plugin "scalars" / DATA_CLASS_SCALAR — TF2 `tf.summary.scalar` and newer writers.
// Writers put `metadata` only on the first value of each tag, so the extractor remembers per tag.

import { makePoint, type MetricPoint } from '../runs/metric-point';
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader, type WireField } from './protobuf-wire';
import { bf16ToF32, f16ToF32 } from '../safetensors/dtype';

// Field numbers (event.proto / summary.proto / tensor.proto / tensor_shape.proto).
const EVENT_WALL_TIME = 1;
const EVENT_STEP = 2;
const EVENT_FILE_VERSION = 3;
const EVENT_SUMMARY = 5;
const SUMMARY_VALUE = 1;
const VALUE_TAG = 1;
const VALUE_SIMPLE = 2;
const VALUE_TENSOR = 8;
const VALUE_METADATA = 9;
const META_PLUGIN_DATA = 1;
const META_DATA_CLASS = 4;
const PLUGIN_NAME = 1;
const TENSOR_DTYPE = 1;
const TENSOR_SHAPE = 2;
const TENSOR_CONTENT = 4;
const TENSOR_FLOAT_VAL = 5;
const TENSOR_DOUBLE_VAL = 6;
const TENSOR_INT_VAL = 7;
const TENSOR_INT64_VAL = 10;
const TENSOR_HALF_VAL = 13;
const TENSOR_UINT32_VAL = 16;
const TENSOR_UINT64_VAL = 17;
const SHAPE_DIM = 2;
const DIM_SIZE = 1;

/** types.proto DataType values this reader turns into numbers. */
export const DT = {
  FLOAT: 1,
  DOUBLE: 2,
  INT32: 3,
  UINT8: 4,
  INT16: 5,
  INT8: 6,
  INT64: 9,
  BFLOAT16: 14,
  UINT16: 17,
  HALF: 19,
  UINT32: 22,
  UINT64: 23,
} as const;

export const DATA_CLASS_SCALAR = 1;

export interface DecodedTensor {
  dtype: number;
  /** Dimension sizes; [] for a rank-0 tensor. */
  shape: number[];
  /** Element values, or undefined for a dtype this reader does not turn into numbers (strings, bool, ...). */
  values?: number[];
}

export interface DecodedValue {
  tag: string;
  simpleValue?: number;
  tensor?: DecodedTensor;
  pluginName?: string;
  dataClass?: number;
  /** Another kind of value (image, histogram, audio): ignored for curves. */
  other?: boolean;
}

export interface DecodedEvent {
  /** Seconds since the epoch. */
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: DecodedValue[];
}

/** Decodes one Event payload; throws ProtobufWireError on malformed bytes. */
export function decodeEvent(bytes: Uint8Array): DecodedEvent {
  const r = new WireReader(bytes);
  const ev: DecodedEvent = { wallTime: 0, step: 0, values: [] };
  while (!r.done()) {
    const f = r.next();
    if (f.field === EVENT_WALL_TIME && f.wireType === WIRE_FIXED64) ev.wallTime = r.double(f);
    else if (f.field === EVENT_STEP && f.wireType === WIRE_VARINT) ev.step = f.varint!;
    else if (f.field === EVENT_FILE_VERSION && f.wireType === WIRE_LEN) ev.fileVersion = r.string(f);
    else if (f.field === EVENT_SUMMARY && f.wireType === WIRE_LEN) ev.values.push(...decodeSummary(r.sub(f)));
  }
  return ev;
}

function decodeSummary(r: WireReader): DecodedValue[] {
  const out: DecodedValue[] = [];
  while (!r.done()) {
    const f = r.next();
    if (f.field === SUMMARY_VALUE && f.wireType === WIRE_LEN) out.push(decodeValue(r.sub(f)));
  }
  return out;
}

function decodeValue(r: WireReader): DecodedValue {
  const v: DecodedValue = { tag: '' };
  while (!r.done()) {
    const f = r.next();
    if (f.field === VALUE_TAG && f.wireType === WIRE_LEN) v.tag = r.string(f);
    else if (f.field === VALUE_SIMPLE && f.wireType === WIRE_FIXED32) v.simpleValue = r.float(f);
    else if (f.field === VALUE_TENSOR && f.wireType === WIRE_LEN) v.tensor = decodeTensor(r.sub(f));
    else if (f.field === VALUE_METADATA && f.wireType === WIRE_LEN) decodeMetadata(r.sub(f), v);
    else if (f.field >= 3 && f.field <= 6) v.other = true;
  }
  return v;
}

function decodeMetadata(r: WireReader, v: DecodedValue): void {
  while (!r.done()) {
    const f = r.next();
    if (f.field === META_PLUGIN_DATA && f.wireType === WIRE_LEN) {
      const p = r.sub(f);
      while (!p.done()) {
        const g = p.next();
        if (g.field === PLUGIN_NAME && g.wireType === WIRE_LEN) v.pluginName = p.string(g);
      }
    } else if (f.field === META_DATA_CLASS && f.wireType === WIRE_VARINT) v.dataClass = f.varint!;
  }
}

function decodeShape(r: WireReader): number[] {
  const dims: number[] = [];
  while (!r.done()) {
    const f = r.next();
    if (f.field !== SHAPE_DIM || f.wireType !== WIRE_LEN) continue;
    const d = r.sub(f);
    let size = 0;
    while (!d.done()) {
      const g = d.next();
      if (g.field === DIM_SIZE && g.wireType === WIRE_VARINT) size = g.varint!;
    }
    dims.push(size);
  }
  return dims;
}

/** Reads a repeated numeric field in packed (one LEN field) or unpacked (one field per element) form. */
function readRepeated(r: WireReader, f: WireField, elem: 'f32' | 'f64' | 'varint' | 'uvarint', out: number[]): void {
  const one = (g: WireField, rr: WireReader) => {
    if (elem === 'f32') out.push(rr.float(g));
    else if (elem === 'f64') out.push(rr.double(g));
    else out.push(elem === 'uvarint' && g.varint! < 0 ? g.varint! + 2 ** 64 : g.varint!);
  };
  if (f.wireType !== WIRE_LEN) return one(f, r);
  const view = r.view;
  if (elem === 'f32') for (let p = f.start; p + 4 <= f.end; p += 4) out.push(view.getFloat32(p, true));
  else if (elem === 'f64') for (let p = f.start; p + 8 <= f.end; p += 8) out.push(view.getFloat64(p, true));
  else {
    const s = r.sub(f);
    while (!s.done()) {
      const x = s.readVarint();
      out.push(elem === 'uvarint' && x < 0 ? x + 2 ** 64 : x);
    }
  }
}

function decodeContent(bytes: Uint8Array, dtype: number): number[] | undefined {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  const each = (w: number, get: (p: number) => number) => {
    for (let p = 0; p + w <= bytes.length; p += w) out.push(get(p));
    return out;
  };
  switch (dtype) {
    case DT.FLOAT: return each(4, (p) => v.getFloat32(p, true));
    case DT.DOUBLE: return each(8, (p) => v.getFloat64(p, true));
    case DT.INT32: return each(4, (p) => v.getInt32(p, true));
    case DT.UINT32: return each(4, (p) => v.getUint32(p, true));
    case DT.INT64: return each(8, (p) => Number(v.getBigInt64(p, true)));
    case DT.UINT64: return each(8, (p) => Number(v.getBigUint64(p, true)));
    case DT.INT16: return each(2, (p) => v.getInt16(p, true));
    case DT.UINT16: return each(2, (p) => v.getUint16(p, true));
    case DT.INT8: return each(1, (p) => v.getInt8(p));
    case DT.UINT8: return each(1, (p) => v.getUint8(p));
    case DT.HALF: return each(2, (p) => f16ToF32(v.getUint16(p, true)));
    case DT.BFLOAT16: return each(2, (p) => bf16ToF32(v.getUint16(p, true)));
    default: return undefined;
  }
}

const NUMERIC_DTYPES = new Set<number>(Object.values(DT));

function decodeTensor(r: WireReader): DecodedTensor {
  let dtype = 0;
  let shape: number[] = [];
  let content: Uint8Array | undefined;
  const vals: number[] = [];
  const halfBits: number[] = [];
  while (!r.done()) {
    const f = r.next();
    switch (f.field) {
      case TENSOR_DTYPE: if (f.wireType === WIRE_VARINT) dtype = f.varint!; break;
      case TENSOR_SHAPE: if (f.wireType === WIRE_LEN) shape = decodeShape(r.sub(f)); break;
      case TENSOR_CONTENT: if (f.wireType === WIRE_LEN) content = r.bytes.subarray(f.start, f.end); break;
      case TENSOR_FLOAT_VAL: readRepeated(r, f, 'f32', vals); break;
      case TENSOR_DOUBLE_VAL: readRepeated(r, f, 'f64', vals); break;
      case TENSOR_INT_VAL: case TENSOR_INT64_VAL: readRepeated(r, f, 'varint', vals); break;
      case TENSOR_UINT32_VAL: case TENSOR_UINT64_VAL: readRepeated(r, f, 'uvarint', vals); break;
      case TENSOR_HALF_VAL: readRepeated(r, f, 'uvarint', halfBits); break;
      default: break;
    }
  }
  if (!NUMERIC_DTYPES.has(dtype)) return { dtype, shape };
  let values: number[] | undefined;
  if (content && content.length > 0) values = decodeContent(content, dtype);
  else if (dtype === DT.HALF) values = halfBits.map(f16ToF32);
  else if (dtype === DT.BFLOAT16) values = halfBits.map(bf16ToF32);
  else values = vals;
  return { dtype, shape, values };
}

/**
 * Turns decoded events into metric points, one point per event with scalar values. Remembers each
 * tag's plugin from the first value that carried metadata, so later metadata-less tensor values of
 * a non-scalar plugin (histograms, text, hparams) are not mistaken for scalars.
 */
export class ScalarExtractor {
  private readonly pluginOfTag = new Map<string, { plugin?: string; dataClass?: number }>();

  constructor(private readonly tagPrefix = '') {}

  extract(ev: DecodedEvent): MetricPoint | undefined {
    if (ev.values.length === 0) return undefined;
    const pairs: [string, number][] = [];
    for (const v of ev.values) {
      if (v.pluginName !== undefined || v.dataClass !== undefined) {
        if (!this.pluginOfTag.has(v.tag)) this.pluginOfTag.set(v.tag, { plugin: v.pluginName, dataClass: v.dataClass });
      }
      const x = this.scalarOf(v);
      if (x !== undefined) pairs.push([this.tagPrefix + v.tag, x]);
    }
    return makePoint(ev.step, pairs);
  }

  private scalarOf(v: DecodedValue): number | undefined {
    if (v.simpleValue !== undefined) return v.simpleValue;
    const t = v.tensor;
    if (!t || !t.values) return undefined;
    const meta = this.pluginOfTag.get(v.tag);
    const scalarTag = meta === undefined || meta.dataClass === DATA_CLASS_SCALAR || meta.plugin === 'scalars' || (!meta.plugin && !meta.dataClass);
    if (!scalarTag) return undefined;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== 1 || t.values.length < 1) return undefined;
    return t.values[0];
  }
}
