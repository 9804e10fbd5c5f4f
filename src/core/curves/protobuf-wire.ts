// A minimal protocol-buffer wire-format reader: just enough to walk the fields of TensorBoard's
// Event / Summary / TensorProto messages without a schema compiler. Malformed input throws
// `ProtobufWireError`; callers treat that record as corrupt and go on.

export class ProtobufWireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufWireError';
  }
}

const UTF8 = new TextDecoder('utf-8');

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export interface WireField {
  field: number;
  wireType: number;
  /**
   * Varint value (wire type 0), read as a two's-complement int64 (so negative int32/int64 come out
   * negative). Exact up to 2^53; uint64 values ≥ 2^63 would read negative (none of the fields read
   * for curves can hold those).
   */
  varint?: number;
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
    view?: DataView,
  ) {
    this.pos = start;
    // Sub-message readers share their parent's view (one DataView per event, not per field).
    this.view = view ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  readVarint(): number {
    // Fast path: up to 7 bytes (49 bits) stay exact in a double; longer ones (large or negative
    // int64) go through BigInt.
    let result = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new ProtobufWireError('truncated varint');
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    this.pos = start;
    let big = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufWireError('truncated varint');
      const b = this.bytes[this.pos++]!;
      big |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return Number(BigInt.asIntN(64, big));
      shift += 7n;
    }
    throw new ProtobufWireError('varint longer than 10 bytes');
  }

  /** Reads the next field header and skips over its payload (recorded as start/end). */
  next(): WireField {
    const key = this.readVarint();
    if (key < 0 || key > 0xffffffff) throw new ProtobufWireError(`invalid field key ${key}`);
    const field = Math.floor(key / 8);
    const wireType = key % 8;
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
        if (len < 0 || len > this.end - this.pos) throw new ProtobufWireError(`length ${len} runs past the end of the message`);
        return this.skip(field, wireType, len);
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
    return UTF8.decode(this.bytes.subarray(f.start, f.end));
  }

  sub(f: WireField): WireReader {
    return new WireReader(this.bytes, f.start, f.end, this.view);
  }
}
