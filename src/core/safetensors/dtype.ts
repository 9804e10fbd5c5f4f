// safetensors dtype names, element sizes and decoding to Float32Array.

export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E4M3FNUZ: 1,
  F8_E5M2FNUZ: 1,
  F8_E8M0: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
  C64: 8,
};

/** Sub-byte dtypes are bit-packed; their byte span is numel * bits / 8. */
export const DTYPE_BITS: Readonly<Record<string, number>> = { F6_E2M3: 6, F6_E3M2: 6, F4: 4 };

export type DType = string;

export function isKnownDtype(d: string): boolean {
  return d in DTYPE_BYTES || d in DTYPE_BITS;
}

/** Expected byte span of a tensor, or undefined when the bit count does not fill whole bytes. */
export function byteSpan(dtype: string, numel: bigint): bigint | undefined {
  const bytes = DTYPE_BYTES[dtype];
  if (bytes !== undefined) return numel * BigInt(bytes);
  const bits = DTYPE_BITS[dtype];
  if (bits === undefined) return undefined;
  const total = numel * BigInt(bits);
  return total % 8n === 0n ? total / 8n : undefined;
}

export const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const f32scratch = new Float32Array(1);
const u32scratch = new Uint32Array(f32scratch.buffer);

export function bf16ToF32(bits: number): number {
  u32scratch[0] = (bits & 0xffff) << 16;
  return f32scratch[0]!;
}

export function f32ToBf16(v: number): number {
  // Round to nearest even, as torch does; NaN stays NaN.
  f32scratch[0] = v;
  const x = u32scratch[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function f32ToF16(v: number): number {
  f32scratch[0] = v;
  const x = u32scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/**
 * Decodes little-endian float data of `dtype` into a new Float32Array, or into `into` (which must have
 * exactly the element count); copying, so alignment never matters.
 */
export function decodeToFloat32(dtype: string, bytes: Uint8Array, into?: Float32Array): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const target = (n: number) => {
    if (!into) return new Float32Array(n);
    if (into.length !== n) throw new RangeError(`decodeToFloat32: ${n} ${dtype} values do not fit a destination of ${into.length}`);
    return into;
  };
  switch (dtype) {
    case 'F32': {
      const out = target(bytes.byteLength / 4);
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
      return out;
    }
    case 'F64': {
      const n = bytes.byteLength / 8;
      const out = target(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case 'BF16': {
      const n = bytes.byteLength / 2;
      const out = target(n);
      const u = new Uint32Array(out.buffer, out.byteOffset, n);
      if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0 && n % 2 === 0) {
        // Two values per 32-bit load (low half = even element): ~4× the DataView loop.
        const src = new Uint32Array(bytes.buffer, bytes.byteOffset, n / 2);
        for (let i = 0, j = 0; i < src.length; i++, j += 2) {
          const x = src[i]!;
          u[j] = x << 16;
          u[j + 1] = x & 0xffff0000;
        }
      } else for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'F16': {
      const n = bytes.byteLength / 2;
      const out = target(n);
      for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(i * 2, true));
      return out;
    }
    default:
      throw new Error(`dtype ${dtype} cannot be decoded to float32 (valid: F32, F16, BF16, F64)`);
  }
}

/** Encodes float values into little-endian bytes of `dtype` (F32, F16, BF16, F64). */
export function encodeFromFloat(dtype: string, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case 'F32': {
      const f = values instanceof Float32Array ? values : Float32Array.from(values);
      return new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength));
    }
    case 'F64': {
      const f = Float64Array.from(values);
      return new Uint8Array(f.buffer);
    }
    case 'BF16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToBf16(values[i]!);
      return new Uint8Array(out.buffer);
    }
    case 'F16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToF16(values[i]!);
      return new Uint8Array(out.buffer);
    }
    default:
      throw new Error(`cannot encode float values as ${dtype} (valid: F32, F16, BF16, F64)`);
  }
}
