// Tensors of the float64 reference interpreter. Every dtype is held as a Float64Array: floats of any
// width are computed in float64 (the interpreter is an oracle for gradients, not an emulator of float32
// rounding), integers are exact up to 2^53 (ample for ids, shapes and indices), bools are 0/1.

import type { DType } from '../types';
import { f16ToF32 } from '../../safetensors/dtype';

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: Float64Array;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function makeTensor(dtype: DType, shape: readonly number[], data?: ArrayLike<number>): Tensor {
  const n = numelOf(shape);
  const out = new Float64Array(n);
  if (data) {
    if (data.length !== n) throw new Error(`tensor ${dtype}[${shape.join(',')}] needs ${n} values, got ${data.length}`);
    out.set(data);
  }
  return { dtype, shape: shape.slice(), data: out };
}

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** Row-major strides. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Numpy broadcast of static shapes. */
export function broadcast(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = i - (rank - s.length);
      if (k < 0) continue;
      const e = s[k]!;
      if (e === 1) continue;
      if (d !== 1 && d !== e) throw new Error(`cannot broadcast ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')}`);
      d = e;
    }
    out.push(d);
  }
  return out;
}

/** For every element of `outShape` (row-major), the flat index of the element of `inShape` it reads under broadcasting. */
export function broadcastMap(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const n = numelOf(outShape);
  const map = new Int32Array(n);
  const r = outShape.length;
  const off = r - inShape.length;
  const inStrides = stridesOf(inShape);
  const eff = outShape.map((_, k) => (k < off || inShape[k - off] === 1 ? 0 : inStrides[k - off]!));
  const idx = new Array<number>(r).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    map[i] = src;
    for (let k = r - 1; k >= 0; k--) {
      idx[k]!++;
      src += eff[k]!;
      if (idx[k]! < outShape[k]!) break;
      src -= eff[k]! * outShape[k]!;
      idx[k] = 0;
    }
  }
  return map;
}

/** Permutes axes: out.shape[i] = x.shape[perm[i]]. */
export function transposeData(x: Tensor, perm: readonly number[]): Tensor {
  const r = x.shape.length;
  const outShape = perm.map((p) => x.shape[p]!);
  const inStrides = stridesOf(x.shape);
  const eff = perm.map((p) => inStrides[p]!);
  const n = x.data.length;
  const out = new Float64Array(n);
  const idx = new Array<number>(r).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    out[i] = x.data[src]!;
    for (let k = r - 1; k >= 0; k--) {
      idx[k]!++;
      src += eff[k]!;
      if (idx[k]! < outShape[k]!) break;
      src -= eff[k]! * outShape[k]!;
      idx[k] = 0;
    }
  }
  return { dtype: x.dtype, shape: outShape, data: out };
}

// ---- byte decoding -------------------------------------------------------------------------------------

/** Little-endian bytes of dtype → float64 values. */
export function decodeBytes(dtype: DType, bytes: Uint8Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1 }[dtype];
  const n = Math.floor(bytes.byteLength / size);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    switch (dtype) {
      case 'float32':
        out[i] = view.getFloat32(o, true);
        break;
      case 'float64':
        out[i] = view.getFloat64(o, true);
        break;
      case 'float16':
        out[i] = f16ToF32(view.getUint16(o, true));
        break;
      case 'bfloat16': {
        const u = view.getUint16(o, true) << 16;
        const f = new DataView(new ArrayBuffer(4));
        f.setUint32(0, u >>> 0);
        out[i] = f.getFloat32(0);
        break;
      }
      case 'int64':
        out[i] = Number(view.getBigInt64(o, true));
        break;
      case 'int32':
        out[i] = view.getInt32(o, true);
        break;
      case 'int8':
        out[i] = view.getInt8(o);
        break;
      case 'uint8':
      case 'bool':
        out[i] = view.getUint8(o);
        break;
    }
  }
  return out;
}

/** Converts an ORT-style typed array (Float32Array, BigInt64Array, …) to float64 values. */
export function toFloat64(a: ArrayLike<number> | BigInt64Array | readonly bigint[]): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number(a[i]!);
  return out;
}
