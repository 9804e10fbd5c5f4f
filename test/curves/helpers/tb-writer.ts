// Test-only TensorBoard event-file writer built from independent pieces: the Event/Summary/
// TensorProto messages are encoded by protobufjs from a schema (field numbers as in TensorBoard's
// tensorboard/compat/proto/*.proto), and the TFRecord CRCs come from the crc-32 package's CRC-32C.
// No npm package writes TensorBoard event files without native binaries, so the framing (u64
// length, masked CRC of the length, payload, masked CRC of the payload) is assembled here.

import protobuf from 'protobufjs';
import * as CRC32C from 'crc-32/crc32c';

const SCHEMA = `
syntax = "proto3";
package tbtest;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    bytes graph_def = 4;
    Summary summary = 5;
  }
}
message Summary {
  message Value {
    string node_name = 7;
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      bytes obsolete_old_style_histogram = 3;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}
message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  int32 data_class = 4;
}
message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}
message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated int32 half_val = 13;
  repeated float float_val = 5;
  repeated double double_val = 6;
  repeated int32 int_val = 7;
  repeated bytes string_val = 8;
  repeated int64 int64_val = 10;
}
// Same Summary with float_val written unpacked (one tag per element), as proto2-era writers do.
message UnpackedTensor {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  repeated float float_val = 5 [packed = false];
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const EventT = root.lookupType('tbtest.Event');
const UnpackedT = root.lookupType('tbtest.UnpackedTensor');

export const DT_FLOAT = 1;
export const DT_DOUBLE = 2;
export const DT_INT32 = 3;
export const DT_STRING = 7;
export const DT_INT64 = 9;
export const DT_HALF = 19;

export type TbValue =
  | { tag: string; simple: number }
  | {
      tag: string;
      tensor: { dtype: number; dims?: number[]; float_val?: number[]; double_val?: number[]; int_val?: number[]; int64_val?: number[]; half_val?: number[]; string_val?: Uint8Array[]; tensor_content?: Uint8Array };
      plugin?: string;
      dataClass?: number;
    };

export interface TbEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values?: TbValue[];
}

function valueObject(v: TbValue): Record<string, unknown> {
  if ('simple' in v) return { tag: v.tag, simple_value: v.simple };
  const t = v.tensor;
  const tensor: Record<string, unknown> = { dtype: t.dtype, tensor_shape: { dim: (t.dims ?? []).map((size) => ({ size })) } };
  for (const k of ['float_val', 'double_val', 'int_val', 'int64_val', 'half_val', 'string_val', 'tensor_content'] as const) if (t[k] !== undefined) tensor[k] = t[k];
  const out: Record<string, unknown> = { tag: v.tag, tensor };
  if (v.plugin !== undefined || v.dataClass !== undefined) out['metadata'] = { plugin_data: v.plugin !== undefined ? { plugin_name: v.plugin } : undefined, data_class: v.dataClass };
  return out;
}

export function encodeEvent(e: TbEvent): Uint8Array {
  const obj: Record<string, unknown> = { wall_time: e.wallTime, step: e.step };
  if (e.fileVersion !== undefined) obj['file_version'] = e.fileVersion;
  if (e.values) obj['summary'] = { value: e.values.map(valueObject) };
  const err = EventT.verify(obj);
  if (err) throw new Error(`test event invalid: ${err}`);
  return EventT.encode(EventT.fromObject(obj)).finish();
}

/** A summary Event whose one tensor value carries float_val unpacked (hand-assembled around protobufjs output). */
export function encodeUnpackedFloatEvent(wallTime: number, step: number, tag: string, x: number): Uint8Array {
  const tensorBytes = UnpackedT.encode(UnpackedT.fromObject({ dtype: DT_FLOAT, tensor_shape: { dim: [] }, float_val: [x] })).finish();
  // Re-parse the tensor bytes as a generic TensorProto field inside a Value via protobufjs Writer.
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 1).double(wallTime);
  w.uint32((2 << 3) | 0).int64(step);
  const value = protobuf.Writer.create();
  value.uint32((1 << 3) | 2).string(tag);
  value.uint32((8 << 3) | 2).bytes(tensorBytes);
  const summary = protobuf.Writer.create();
  summary.uint32((1 << 3) | 2).bytes(value.finish());
  w.uint32((5 << 3) | 2).bytes(summary.finish());
  return w.finish();
}

export function masked(bytes: Uint8Array): number {
  const c = CRC32C.buf(bytes) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: u64 length | masked CRC(length) | payload | masked CRC(payload). */
export function frameRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + payload.length + 4);
  const v = new DataView(out.buffer);
  v.setUint32(0, payload.length, true);
  v.setUint32(4, 0, true);
  v.setUint32(8, masked(out.subarray(0, 8)), true);
  out.set(payload, 12);
  v.setUint32(12 + payload.length, masked(payload), true);
  return out;
}

export function eventFileBytes(events: TbEvent[]): Uint8Array {
  const parts = events.map((e) => frameRecord(encodeEvent(e)));
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The first event every writer puts in a file. */
export function fileVersionEvent(wallTime: number): TbEvent {
  return { wallTime, step: 0, fileVersion: 'brain.Event:2' };
}

export function independentCrc32c(bytes: Uint8Array): number {
  return CRC32C.buf(bytes) >>> 0;
}
