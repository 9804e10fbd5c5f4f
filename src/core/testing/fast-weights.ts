// Seeded random weights for multi-gigabyte fixtures, produced in chunks at disk speed with bounded memory.
//
// Every tensor has its own counter-based stream (murmur3's fmix32 of seed ⊕ name hash ⊕ counter), so a
// tensor's values depend only on (seed, name, position) — never on write order or chunk size — and any
// chunk can be generated on its own. Large matrices use an approximate normal (the sum of the four bytes
// of one 32-bit draw, Irwin–Hall-like, variance-matched), scaled like fixtureValues in fixtures.ts:
// 1/√fan_in for projections, N(0,1) for the embedding. The small per-channel tensors (norms, A_log, D,
// dt_bias, conv) are drawn whole by the caller's role-specific generator: their sizes are negligible.

import { numel, type TensorSpec } from '../arch/index';
import { encodeFromFloat } from '../safetensors/dtype';

/** Elements per generated chunk (4 MiB of f32 scratch). */
export const FAST_CHUNK_ELEMENTS = 1 << 20;

/** Below this many elements a tensor is drawn whole with fixtureValues' role-specific distributions. */
const SMALL_TENSOR = 1 << 20;

/** Standard deviation of the sum of four independent uniform bytes: √(4 · (256² − 1) / 12). */
const BYTE_SUM_STD = Math.sqrt((4 * (256 * 256 - 1)) / 12);
const BYTE_SUM_MEAN = 4 * 127.5;

/** FNV-1a of a string, 32-bit: the per-tensor stream key. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function fmix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Fills out[i] = scale · z(key, start + i), z ≈ N(0, 1). */
export function fillApproxNormal(out: Float32Array, key: number, start: number, scale: number): void {
  const k = fmix32(key ^ 0x9e3779b9);
  const mul = scale / BYTE_SUM_STD;
  for (let i = 0; i < out.length; i++) {
    const x = fmix32((k + Math.imul(start + i, 0x9e3779b9)) | 0);
    const s = (x & 255) + ((x >>> 8) & 255) + ((x >>> 16) & 255) + (x >>> 24);
    out[i] = (s - BYTE_SUM_MEAN) * mul;
  }
}

/** The std of a large tensor's values (fixtureValues' scales), or undefined for small role-specific tensors. */
function largeScale(t: TensorSpec): number | undefined {
  if (numel(t.shape) < SMALL_TENSOR || t.shape.length < 2) return undefined;
  if (t.role === 'embedding') return 1;
  if (t.role === 'conv_weight') return undefined;
  return 1 / Math.sqrt(t.shape[t.shape.length - 1]!);
}

/** f32 → little-endian bytes of `dtype` (F32, BF16 with round-to-nearest-even, F16). */
function encodeChunk(dtype: string, v: Float32Array): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
  if (dtype === 'BF16') {
    const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
    const out = new Uint16Array(v.length);
    for (let i = 0; i < u.length; i++) {
      const x = u[i]!;
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
    return new Uint8Array(out.buffer);
  }
  return encodeFromFloat(dtype, v);
}

/** The stream key of tensor `name` under `seed`. */
export function tensorKey(seed: number, name: string): number {
  return (nameHash(name) ^ Math.imul(seed >>> 0, 0x27d4eb2f)) >>> 0;
}

/**
 * The bytes of tensor `t` (stored as `dtype`) in chunks of at most FAST_CHUNK_ELEMENTS elements; `key`
 * (tensorKey) selects the stream. Small tensors come whole from `small()`.
 */
export async function* fastTensorChunks(t: TensorSpec, dtype: string, key: number, small: () => Float32Array): AsyncGenerator<Uint8Array> {
  const scale = largeScale(t);
  if (scale === undefined) {
    yield encodeFromFloat(dtype, small());
    return;
  }
  const n = numel(t.shape);
  const buf = new Float32Array(Math.min(n, FAST_CHUNK_ELEMENTS));
  for (let start = 0; start < n; start += buf.length) {
    const part = start + buf.length <= n ? buf : buf.subarray(0, n - start);
    fillApproxNormal(part, key, start, scale);
    yield encodeChunk(dtype, part);
  }
}
