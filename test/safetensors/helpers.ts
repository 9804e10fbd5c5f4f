// Test helpers: temp folders and hand-built safetensors bytes (header text and data chosen freely,
// so tests can produce files the writer never would: unaligned, corrupt, lying).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { HybridCompressError, SafetensorsError } from '../../src/core/errors';
import { SafetensorsFile } from '../../src/core/safetensors/reader';

/** A fresh folder under os.tmpdir(); `cleanup` removes it. */
export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `hc-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every tensor of a safetensors file, as float32, by name. */
export async function readTensors(file: string): Promise<Map<string, Float32Array>> {
  const f = SafetensorsFile.open(file);
  try {
    const out = new Map<string, Float32Array>();
    for (const n of f.names) out.set(n, await f.readFloat32(n));
    return out;
  } finally {
    await f.close();
  }
}

/**
 * Bytes of a safetensors file: 8-byte LE length, header text (JSON object or raw string), data.
 * `headerLength` overrides the length field (to lie about it); `pad` appends that many spaces to the header.
 */
export function rawSafetensors(header: object | string | Uint8Array, data: Uint8Array = new Uint8Array(0), opts: { headerLength?: bigint; pad?: number } = {}): Uint8Array {
  let h: Uint8Array = typeof header === 'string' ? Buffer.from(header, 'utf8') : header instanceof Uint8Array ? header : Buffer.from(JSON.stringify(header), 'utf8');
  if (opts.pad) h = Buffer.concat([h, Buffer.alloc(opts.pad, 0x20)]);
  const out = new Uint8Array(8 + h.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(data, 8 + h.byteLength);
  return out;
}

/** Asserts `fn` throws a SafetensorsError with this rule (and tensor, and file when given). */
export function assertSafetensorsError(fn: () => unknown, expect: { rule: string; file?: string; tensor?: string }): SafetensorsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SafetensorsError, `expected SafetensorsError(${expect.rule}), got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.equal(caught.code, 'SAFETENSORS_INVALID');
  assert.equal(caught.context.rule, expect.rule, caught.message);
  if (expect.file !== undefined) assert.equal(caught.context.file, expect.file);
  if ('tensor' in expect) assert.equal(caught.context.tensor, expect.tensor);
  assert.ok(caught.message.includes(`[rule: ${expect.rule}]`), caught.message);
  return caught;
}

/** Runs an async function and returns the HybridCompressError it rejects with (fails otherwise). */
export async function rejectsTyped(fn: () => Promise<unknown>): Promise<HybridCompressError> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof HybridCompressError, `expected HybridCompressError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return e;
  }
  assert.fail('expected a HybridCompressError, but the call succeeded');
}

/** Little-endian bytes of float32 values. */
export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
