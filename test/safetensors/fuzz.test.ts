// Fuzz loop over the safetensors reader: thousands of random mutations of valid files (byte flips,
// truncations, length-field lies, JSON edits, data resizes). Every outcome must be a successful open
// whose tensors all read back, or a typed error — never another exception, never a hang, and never an
// allocation sized by a lying length field.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { checkHeaderLength, parseHeader } from '../../src/core/safetensors/header';
import { buildHeader, writeOrder } from '../../src/core/safetensors/writer';
import { DTYPE_BYTES, FLOAT_DTYPES } from '../../src/core/safetensors/dtype';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';
import { rawSafetensors, tempDir } from './helpers';

const tmp = tempDir('st-fuzz');
after(tmp.cleanup);

const DTYPES = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'U8', 'BOOL', 'I8', 'U16'];

/** A valid file: a few tensors of random dtypes and shapes, written with the writer's header layout. */
function validFile(rng: Rng): Uint8Array {
  const n = 1 + rng.int(4);
  const tensors = Array.from({ length: n }, (_, i) => {
    const dtype = DTYPES[rng.int(DTYPES.length)]!;
    const shape = Array.from({ length: rng.int(3) }, () => rng.int(5));
    return { name: `t${i}.${['weight', 'bias', 'A_log'][rng.int(3)]}`, dtype, shape };
  });
  const ordered = writeOrder(tensors);
  const { bytes: header, dataBytes } = buildHeader(ordered, rng.next() < 0.5 ? { format: 'pt' } : undefined);
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  const out = new Uint8Array(header.byteLength + dataBytes);
  out.set(header);
  out.set(data, header.byteLength);
  return out;
}

/** An unaligned hand-built file (odd header length, U8 first so later tensors start at odd offsets). */
function unalignedFile(rng: Rng): Uint8Array {
  const h = { a: { dtype: 'U8', shape: [3], data_offsets: [0, 3] }, b: { dtype: 'F32', shape: [2], data_offsets: [3, 11] }, c: { dtype: 'BF16', shape: [3], data_offsets: [11, 17] } };
  const data = new Uint8Array(17);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return rawSafetensors(h, data, { pad: rng.int(3) });
}

// Structural JSON bytes mostly; a few that break UTF-8.
const INTERESTING = [0x7b, 0x7d, 0x22, 0x2c, 0x3a, 0x5b, 0x5d, 0x30, 0x31, 0x34, 0x38, 0x39, 0x2d, 0x2e, 0x65, 0x20, 0x5c, 0x6e, 0x00, 0xff, 0xc3];

function headerLen(b: Uint8Array): number {
  return b.byteLength >= 8 ? Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)) : 0;
}

function withLength(b: Uint8Array, len: bigint): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setBigUint64(0, BigInt.asUintN(64, len), true);
  return c;
}

/** Random JSON-level edit of the header, re-serialised with a correct length field. */
function jsonEdit(b: Uint8Array, rng: Rng): Uint8Array {
  const hl = headerLen(b);
  const header = JSON.parse(Buffer.from(b.subarray(8, 8 + hl)).toString('utf8')) as Record<string, Record<string, unknown>>;
  const data = b.subarray(8 + hl);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names[rng.int(names.length)];
  const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)]!;
  const weird = (): unknown => pick([null, -1, 1.5, 2 ** 53, 2 ** 60, 1e300, '4', [], {}, true, [1, 2, 3], [-0], 0]);
  const e = name !== undefined ? header[name] : undefined;
  let text: string | undefined;
  switch (rng.int(10)) {
    case 0:
      if (e) e['dtype'] = pick(['F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'F4', 'F6_E2M3', 'F8_E4M3', 'Q4', '', 7]);
      break;
    case 1:
      if (e) e['shape'] = rng.next() < 0.5 ? weird() : Array.from({ length: rng.int(4) }, () => (rng.next() < 0.8 ? rng.int(9) : weird()));
      break;
    case 2:
      if (e) e['data_offsets'] = rng.next() < 0.5 ? weird() : [rng.int(64) - 4, rng.int(64)];
      break;
    case 3:
      if (e) delete e[pick(['dtype', 'shape', 'data_offsets'])];
      break;
    case 4:
      if (name !== undefined) header[name] = weird() as Record<string, unknown>;
      break;
    case 5:
      header['__metadata__'] = pick([{ format: 'pt' }, { a: 1 }, [], 'pt', null, { x: { y: 'z' } }]) as Record<string, unknown>;
      break;
    case 6: {
      // Duplicate a tensor name by raw text surgery (JSON.stringify would collapse it).
      const s = JSON.stringify(header);
      if (name !== undefined) text = s.slice(0, -1) + `,${JSON.stringify(name)}:${JSON.stringify(header[name])}}`;
      break;
    }
    case 7:
      if (e && Array.isArray(e['data_offsets'])) {
        // Shift the span (keeping its size half of the time) to make holes and overlaps.
        const o = e['data_offsets'] as number[];
        const d = rng.int(9) - 4;
        e['data_offsets'] = rng.next() < 0.5 ? [o[0]! + d, o[1]! + d] : [o[0]! + rng.int(5) - 2, o[1]! + rng.int(5) - 2];
      }
      break;
    case 8:
      header[`extra${rng.int(3)}`] = { dtype: 'U8', shape: [rng.int(4)], data_offsets: [data.byteLength, data.byteLength + rng.int(4)] };
      break;
    default:
      // Deep nesting inside an entry: must hit the depth limit, not the stack.
      if (e) e['shape'] = JSON.parse('['.repeat(200) + ']'.repeat(200));
  }
  const h = Buffer.from(text ?? JSON.stringify(header), 'utf8');
  const extra = rng.next() < 0.3 ? rng.int(9) - 4 : 0;
  const newData = extra >= 0 ? Buffer.concat([data, Buffer.alloc(extra)]) : data.subarray(0, Math.max(0, data.byteLength + extra));
  return rawSafetensors(h, newData, { pad: rng.int(8) });
}

function mutate(base: Uint8Array, rng: Rng): { bytes: Uint8Array; kind: string } {
  const hl = Math.min(headerLen(base), base.byteLength - 8);
  switch (rng.int(6)) {
    case 0: {
      const b = base.slice();
      const flips = 1 + rng.int(4);
      for (let k = 0; k < flips; k++) {
        const pos = 8 + rng.int(Math.max(1, hl));
        if (pos < b.length) b[pos] = rng.next() < 0.6 ? INTERESTING[rng.int(INTERESTING.length)]! : rng.int(256);
      }
      return { bytes: b, kind: 'header byte flip' };
    }
    case 1:
      return { bytes: base.slice(0, rng.int(base.byteLength)), kind: 'truncation' };
    case 2: {
      const choices = [0n, 1n, 7n, BigInt(hl - 1), BigInt(hl + 1), BigInt(base.byteLength - 8), BigInt(base.byteLength), 100_000_000n, 100_000_001n, 1n << 32n, 1n << 53n, 1n << 60n, (1n << 64n) - 1n];
      const lie = rng.next() < 0.8 ? choices[rng.int(choices.length)]! : BigInt(Math.floor(rng.next() * 2 ** 32)) * BigInt(rng.int(2 ** 31));
      return { bytes: withLength(base, lie), kind: `length field ${lie}` };
    }
    case 3:
      return { bytes: jsonEdit(base, rng), kind: 'JSON edit' };
    case 4: {
      const b = base.slice();
      const pos = 8 + rng.int(Math.max(1, b.byteLength - 8));
      if (pos < b.length) b[pos] = rng.int(256);
      return { bytes: b, kind: 'any byte flip' };
    }
    default: {
      const extra = new Uint8Array(1 + rng.int(16)).map(() => INTERESTING[rng.int(INTERESTING.length)]!);
      const at = 8 + rng.int(Math.max(1, hl));
      const b = Buffer.concat([base.subarray(0, at), extra, base.subarray(at)]);
      return { bytes: rng.next() < 0.5 ? withLength(b, BigInt(hl + extra.byteLength)) : b, kind: 'insertion' };
    }
  }
}

async function readEverything(st: SafetensorsFile): Promise<void> {
  for (const t of st.tensors.values()) {
    const bytes = await st.readBytes(t.name);
    assert.equal(bytes.byteLength, t.byteLength);
    if (FLOAT_DTYPES.has(t.dtype)) {
      const v = await st.readFloat32(t.name);
      assert.equal(v.length, t.byteLength / DTYPE_BYTES[t.dtype]!);
      if (t.shape.length > 0 && t.shape[0]! > 0) await st.readRowsFloat32(t.name, 0, 1);
    } else await st.readTyped(t.name).catch((e: unknown) => assert.ok(e instanceof HybridCompressError, String(e)));
  }
}

/** The reader's open() checks on an in-memory image (same functions, no file): a rule name or 'ok'. */
function validateInMemory(bytes: Uint8Array): string {
  try {
    const len = checkHeaderLength('mem', bytes.subarray(0, Math.min(8, bytes.byteLength)), bytes.byteLength);
    parseHeader('mem', bytes.subarray(8, 8 + len), bytes.byteLength);
    return 'ok';
  } catch (e) {
    if (!(e instanceof HybridCompressError)) throw e;
    return e.context.rule ?? e.code;
  }
}

test('fuzz: 3000 random mutations give success or a typed error, never another exception', async (t) => {
  const rng = new Rng(20240531);
  const path = join(tmp.dir, 'fuzz.safetensors');
  const outcomes = new Map<string, number>();
  const N = 3000;
  const memBefore = process.memoryUsage().arrayBuffers;
  let memPeak = 0;
  let throughFiles = 0;
  for (let i = 0; i < N; i++) {
    const base = rng.next() < 0.8 ? validFile(rng) : unalignedFile(rng);
    const { bytes, kind } = mutate(base, rng);
    let expected: string;
    try {
      expected = validateInMemory(bytes);
    } catch (e) {
      assert.fail(`iteration ${i} (${kind}) threw a non-typed ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
    }
    outcomes.set(expected, (outcomes.get(expected) ?? 0) + 1);
    memPeak = Math.max(memPeak, process.memoryUsage().arrayBuffers - memBefore);
    // Every accepted file, and every 8th rejected one, also goes through a real file: open, then read
    // every tensor (whole, decoded, by rows).
    if (expected !== 'ok' && i % 8 !== 0) continue;
    throughFiles++;
    writeFileSync(path, bytes);
    let st: SafetensorsFile | undefined;
    try {
      st = SafetensorsFile.open(path);
      assert.equal(expected, 'ok', `iteration ${i} (${kind}): the file opened but the in-memory check said ${expected}`);
      // A file that opens must really satisfy the rules: contiguous data ending at EOF.
      let end = 0;
      for (const info of st.header.tensors) {
        assert.equal(info.begin, end, `iteration ${i} (${kind}): accepted a file with a hole/overlap`);
        end = info.end;
      }
      assert.equal(st.dataStart + end, bytes.byteLength, `iteration ${i} (${kind}): accepted a buffer not ending at EOF`);
      await readEverything(st);
    } catch (e) {
      if (!(e instanceof HybridCompressError)) {
        assert.fail(`iteration ${i} (${kind}) threw a non-typed ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
      }
      assert.equal(e.context.rule ?? e.code, expected, `iteration ${i} (${kind}): file and in-memory outcomes differ`);
    } finally {
      await st?.close();
    }
  }
  t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}; ${throughFiles} through real files`);
  // The mutations must actually reach the rules, not all fail the same trivial way.
  const rules = [...outcomes.keys()];
  for (const r of ['ok', 'header-json', 'header-utf8', 'header-length-exceeds-file', 'header-too-large', 'buffer-eof', 'size-mismatch', 'duplicate-tensor', 'offsets-overlap', 'offsets-hole', 'shape-invalid', 'dtype-unknown']) {
    assert.ok(rules.includes(r), `outcome ${r} never produced; got ${JSON.stringify(Object.fromEntries(outcomes))}`);
  }
  assert.ok(rules.length >= 10, `only ${rules.length} distinct outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  // Length fields up to 2^64 were tried on files of a few hundred bytes: nothing near that was allocated.
  assert.ok(memPeak < 64 << 20, `array-buffer memory grew by ${memPeak} bytes`);
});
