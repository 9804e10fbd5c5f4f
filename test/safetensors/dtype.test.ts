// Float decoding and encoding against an independent slow reference: every 16-bit pattern decoded from
// sign/exponent/mantissa in float64, and float32→bf16/f16 rounding as "nearest representable value,
// ties to the even bit pattern" found by search over all patterns.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToF32, decodeToFloat32, encodeFromFloat, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/core/safetensors/dtype';
import { Rng } from '../../src/core/util/random';

/** IEEE-754 binary value from fields, in float64 (exact for every 16-bit format). */
function refDecode(bits: number, expBits: number, mantBits: number): number {
  const sign = bits >> (expBits + mantBits) ? -1 : 1;
  const e = (bits >> mantBits) & ((1 << expBits) - 1);
  const m = bits & ((1 << mantBits) - 1);
  const bias = (1 << (expBits - 1)) - 1;
  if (e === (1 << expBits) - 1) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** (1 - bias - mantBits);
  return sign * (1 + m / 2 ** mantBits) * 2 ** (e - bias);
}
const refF16 = (h: number) => refDecode(h, 5, 10);
const refBf16 = (h: number) => refDecode(h, 8, 7);

/**
 * Nearest 16-bit pattern to `v` (round to nearest, ties to even pattern) by binary search over the
 * non-negative patterns 0..infBits, treating infinity as the value one ulp past the largest finite.
 */
function refRound(v: number, infBits: number, decode: (h: number) => number, infValue: number): number {
  if (Number.isNaN(v)) return -1;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  const val = (h: number) => (h === infBits ? infValue : decode(h));
  if (a >= infValue) return sign | infBits;
  let lo = 0;
  let hi = infBits;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (val(mid) <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - val(lo);
  const dh = val(hi) - a;
  const pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}
const refToF16 = (v: number) => refRound(v, 0x7c00, refF16, 2 ** 16);
const refToBf16 = (v: number) => refRound(v, 0x7f80, refBf16, 2 ** 128);

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const fromBits = (b: number) => {
  u32[0] = b >>> 0;
  return f32[0]!;
};

test('f16ToF32 matches the reference on all 65536 patterns', () => {
  for (let h = 0; h < 65536; h++) {
    const got = f16ToF32(h);
    const want = refF16(h);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `0x${h.toString(16)}`);
    else assert.ok(Object.is(got, want), `0x${h.toString(16)}: ${got} vs ${want}`);
  }
});

test('bf16ToF32 and the BF16/F16 bulk decoders match the reference on all 65536 patterns', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const bytes = new Uint8Array(all.buffer);
  const bf = decodeToFloat32('BF16', bytes);
  const hf = decodeToFloat32('F16', bytes);
  for (let h = 0; h < 65536; h++) {
    const wb = refBf16(h);
    const wh = refF16(h);
    if (Number.isNaN(wb)) assert.ok(Number.isNaN(bf[h]!) && Number.isNaN(bf16ToF32(h)));
    else assert.ok(Object.is(bf[h], wb) && Object.is(bf16ToF32(h), wb), `bf16 0x${h.toString(16)}`);
    if (Number.isNaN(wh)) assert.ok(Number.isNaN(hf[h]!));
    else assert.ok(Object.is(hf[h], wh), `f16 0x${h.toString(16)}`);
  }
});

test('known values: subnormals, extremes, infinities, NaN, signed zero', () => {
  assert.equal(f16ToF32(0x3c00), 1);
  assert.equal(f16ToF32(0x7bff), 65504);
  assert.equal(f16ToF32(0x0001), 2 ** -24); // smallest f16 subnormal
  assert.equal(f16ToF32(0x03ff), 1023 * 2 ** -24); // largest subnormal
  assert.equal(f16ToF32(0x0400), 2 ** -14); // smallest normal
  assert.equal(f16ToF32(0xfc00), -Infinity);
  assert.ok(Object.is(f16ToF32(0x8000), -0));
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0x0001), 2 ** -133); // smallest bf16 subnormal
  assert.equal(bf16ToF32(0x7f7f), 3.3895313892515355e38);
  assert.equal(bf16ToF32(0x7f80), Infinity);
  assert.ok(Number.isNaN(bf16ToF32(0x7fc0)));
});

test('f32→bf16 rounds to nearest, ties to even (hand-picked ties and overflow)', () => {
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80); // tie between 1 and 1+2^-7: even (1) wins
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82); // tie between odd 0x3f81 and even 0x3f82
  assert.equal(f32ToBf16(1 + 2 ** -8 + 2 ** -20), 0x3f81); // just above the tie rounds up
  assert.equal(f32ToBf16(3 * 2 ** -134), 0x0002); // subnormal tie → even
  assert.equal(f32ToBf16(2 ** -140), 0x0000); // below half the smallest subnormal → 0
  assert.equal(f32ToBf16(-(2 ** -140)), 0x8000);
  assert.equal(f32ToBf16(fromBits(0x7f7fffff)), 0x7f80); // max float32 overflows to inf
  assert.equal(f32ToBf16(-Infinity), 0xff80);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
});

test('f32→f16 rounds to nearest, ties to even (subnormals, overflow threshold)', () => {
  assert.equal(f32ToF16(65504), 0x7bff);
  assert.equal(f32ToF16(65519.99), 0x7bff); // below the overflow tie
  assert.equal(f32ToF16(65520), 0x7c00); // the tie goes to even (inf)
  assert.equal(f32ToF16(2 ** -25), 0x0000); // tie between 0 and the smallest subnormal → 0
  assert.equal(f32ToF16(2 ** -25 + 2 ** -35), 0x0001);
  assert.equal(f32ToF16(3 * 2 ** -25), 0x0002); // tie between 1 and 2 subnormal units → even
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00); // tie → even mantissa
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(f32ToF16(2 ** -14 - 2 ** -25), 0x0400); // rounding a subnormal up into the first normal
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(NaN))));
  assert.equal(f32ToF16(-Infinity), 0xfc00);
});

test('f32→bf16/f16 agree with the reference on 40000 random float32 values and every f16/bf16 midpoint', () => {
  const rng = new Rng(7);
  const check = (v: number) => {
    const wb = refToBf16(v);
    const wh = refToF16(v);
    if (wb < 0) return; // NaN, checked above
    assert.equal(f32ToBf16(v), wb, `bf16 of ${v} (bits 0x${(u32[0]! >>> 0).toString(16)})`);
    assert.equal(f32ToF16(v), wh, `f16 of ${v}`);
  };
  for (let i = 0; i < 40000; i++) {
    // Uniform over bit patterns covers every exponent, subnormals included.
    check(fromBits(Math.floor(rng.next() * 2 ** 32)));
  }
  // Exact midpoints between neighbouring patterns (and one float32 ulp either side).
  for (let h = 0; h < 0x7c00; h++) {
    const mid = (refF16(h) + refF16(h + 1)) / 2;
    for (const v of [mid, Math.fround(mid), nextUp(Math.fround(mid)), nextDown(Math.fround(mid))]) if (Math.fround(v) === v) check(v);
  }
  for (let h = 0; h < 0x7f7f; h += 7) {
    const mid = Math.fround((refBf16(h) + refBf16(h + 1)) / 2);
    for (const v of [mid, nextUp(mid), nextDown(mid)]) check(v);
  }
});

function nextUp(v: number): number {
  f32[0] = v;
  u32[0] = u32[0]! + (v >= 0 ? 1 : -1);
  return f32[0]!;
}
function nextDown(v: number): number {
  f32[0] = v;
  u32[0] = v > 0 ? u32[0]! - 1 : v === 0 ? 0x80000001 : u32[0]! + 1;
  return f32[0]!;
}

test('every finite f16 and bf16 pattern survives decode→encode unchanged', () => {
  for (let h = 0; h < 65536; h++) {
    if (!Number.isNaN(refF16(h))) assert.equal(f32ToF16(f16ToF32(h)), h, `f16 0x${h.toString(16)}`);
    if (!Number.isNaN(refBf16(h))) assert.equal(f32ToBf16(bf16ToF32(h)), h, `bf16 0x${h.toString(16)}`);
  }
});

test('F64 decodes to the nearest float32 (Math.fround), F32 passes bit-exact, encode/decode round trips', () => {
  const vals = [0, -0, 1, 0.1, -2.5e-8, 1e-310, 1e39, -1e39, 3.4028235677973366e38, Math.PI, NaN, Infinity, -Infinity];
  const got = decodeToFloat32('F64', new Uint8Array(Float64Array.from(vals).buffer));
  vals.forEach((v, i) => (Number.isNaN(v) ? assert.ok(Number.isNaN(got[i]!)) : assert.ok(Object.is(got[i], Math.fround(v)), `${v} → ${got[i]}`)));
  const f = Float32Array.from([1.5, -0, 2 ** -149, Infinity, 123.456]);
  assert.deepEqual(decodeToFloat32('F32', encodeFromFloat('F32', f)), f);
  assert.deepEqual(decodeToFloat32('F64', encodeFromFloat('F64', [1.5, -3])), Float32Array.from([1.5, -3]));
  // Decoding from an odd byte offset (a view into a larger buffer) must not depend on alignment.
  const buf = new Uint8Array(1 + 8);
  buf.set(encodeFromFloat('F32', [7, -8]), 1);
  assert.deepEqual(decodeToFloat32('F32', buf.subarray(1)), Float32Array.from([7, -8]));
  assert.deepEqual(decodeToFloat32('BF16', encodeFromFloat('BF16', [1, -2, 0.5])), Float32Array.from([1, -2, 0.5]));
  assert.throws(() => decodeToFloat32('I64', new Uint8Array(8)), /cannot be decoded/);
});
