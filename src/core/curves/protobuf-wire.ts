// A minimal protocol-buffer wire-format reader: just enough to walk the fields of TensorBoard's
// Event / Summary / TensorProto messages without a schema compiler. Malformed input throws
// `ProtobufWireError`; callers treat that record as corrupt and go on.

export class ProtobufWireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufWireError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export interface WireField {
  field: number;
  wireType: number;
  /** Varint value (wire type 0) as a BigInt, so int64 steps and negative numbers survive. */
  varint?: bigint;
  /** Offset in the reader's buffer of the fixed32/fixed64/length-delimited payload. */
  start: number;
  end: number;
}

export class WireReader {
  private pos: number;
  readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  readVarint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufWireError('truncated varint');
      const b = this.bytes[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new ProtobufWireError('varint longer than 10 bytes');
  }

  /** Reads the next field header and skips over its payload (recorded as start/end). */
  next(): WireField {
    const key = this.readVarint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (field === 0) throw new ProtobufWireError('field number 0');
    switch (wireType) {
      case WIRE_VARINT: {
        const start = this.pos;
        const varint = this.readVarint();
        return { field, wireType, varint, start, end: this.pos };
      }
      case WIRE_FIXED64:
        return this.skip(field, wireType, 8);
      case WIRE_FIXED32:
        return this.skip(field, wireType, 4);
      case WIRE_LEN: {
        const len = this.readVarint();
        if (len > BigInt(this.end - this.pos)) throw new ProtobufWireError(`length ${len} runs past the end of the message`);
        return this.skip(field, wireType, Number(len));
      }
      default:
        throw new ProtobufWireError(`unsupported wire type ${wireType} (field ${field})`);
    }
  }

  private skip(field: number, wireType: number, n: number): WireField {
    if (this.pos + n > this.end) throw new ProtobufWireError(`field ${field} runs past the end of the message`);
    const start = this.pos;
    this.pos += n;
    return { field, wireType, start, end: this.pos };
  }

  double(f: WireField): number {
    return this.view.getFloat64(f.start, true);
  }

  float(f: WireField): number {
    return this.view.getFloat32(f.start, true);
  }

  string(f: WireField): string {
    return new TextDecoder().decode(this.bytes.subarray(f.start, f.end));
  }

  sub(f: WireField): WireReader {
    return new WireReader(this.bytes, f.start, f.end);
  }
}

/** Signed interpretation of a 64-bit varint (int64 / int32 fields are two's complement). */
export function varintToSigned(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}
