// Streaming safetensors writer: the header is computed from declared sizes, then each tensor's bytes
// are produced and written one at a time, so at most one tensor is in memory. Files are written
// under a temporary name and renamed into place only when complete.

import { open, rename, rm, mkdir, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { HybridCompressError } from '../errors';
import { byteSpan, DTYPE_BYTES } from './dtype';

export interface TensorSource {
  name: string;
  dtype: string;
  shape: number[];
  /**
   * Produces the tensor's little-endian bytes; called once, in write order. May yield them in chunks
   * (an async iterable), so a tensor larger than memory allows never exists whole.
   */
  data: Uint8Array | (() => Promise<Uint8Array | AsyncIterable<Uint8Array>> | Uint8Array | AsyncIterable<Uint8Array>);
}

export function tensorByteLength(t: Pick<TensorSource, 'name' | 'dtype' | 'shape'>): number {
  let numel = 1n;
  for (const d of t.shape) numel *= BigInt(d);
  const span = byteSpan(t.dtype, numel);
  if (span === undefined) throw new HybridCompressError('OPTION_INVALID', `tensor "${t.name}": cannot size dtype ${t.dtype} × ${JSON.stringify(t.shape)}`, { tensor: t.name });
  return Number(span);
}

/** Order used by the reference writer: larger element size first, then by name; keeps every tensor aligned. */
export function writeOrder<T extends Pick<TensorSource, 'name' | 'dtype'>>(tensors: readonly T[]): T[] {
  return [...tensors].sort((a, b) => (DTYPE_BYTES[b.dtype] ?? 1) - (DTYPE_BYTES[a.dtype] ?? 1) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Builds the padded header for `tensors` (already in write order). */
export function buildHeader(tensors: readonly Pick<TensorSource, 'name' | 'dtype' | 'shape'>[], metadata?: Record<string, string>): { bytes: Uint8Array; dataBytes: number } {
  const obj: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) obj['__metadata__'] = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new HybridCompressError('OPTION_INVALID', `tensor "${t.name}" is written twice`, { tensor: t.name });
    seen.add(t.name);
    const len = tensorByteLength(t);
    obj[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  const json = Buffer.from(JSON.stringify(obj), 'utf8');
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const bytes = new Uint8Array(8 + padded);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.fill(0x20, 8);
  bytes.set(json, 8);
  return { bytes, dataBytes: offset };
}

let tempCounter = 0;
function tempPathFor(path: string): string {
  // The counter keeps two writes of the same name in the same millisecond apart.
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}-${(tempCounter++).toString(36)}`);
}

/**
 * Writes one safetensors file atomically. Tensors are written in the reference order
 * (see `writeOrder`) unless `keepOrder` is set.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorSource[],
  options: { metadata?: Record<string, string>; keepOrder?: boolean; sparse?: boolean } = {},
): Promise<{ bytes: number }> {
  const { tmp, bytes } = await writeToTemp(path, tensors, options);
  await rename(tmp, path);
  return { bytes };
}

/** Writes the complete file under a temporary name next to `path` (removed again on failure). */
async function writeToTemp(
  path: string,
  tensors: readonly TensorSource[],
  options: { metadata?: Record<string, string>; keepOrder?: boolean; sparse?: boolean },
): Promise<{ tmp: string; bytes: number }> {
  const ordered = options.keepOrder ? [...tensors] : writeOrder(tensors);
  const { bytes: header, dataBytes } = buildHeader(ordered, options.metadata);
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'w');
  try {
    await writeAll(fh, header, path);
    // Shape-only files: the data area is a hole (zeros) that costs no disk.
    if (options.sparse) await fh.truncate(header.byteLength + dataBytes);
    for (const t of options.sparse ? [] : ordered) {
      const data = typeof t.data === 'function' ? await t.data() : t.data;
      const expected = tensorByteLength(t);
      let written = 0;
      // One write in flight while the next chunk is produced (generation and disk overlap).
      let pending: Promise<void> | undefined;
      try {
        for await (const chunk of data instanceof Uint8Array ? [data] : data) {
          written += chunk.byteLength;
          if (written > expected) break;
          await pending;
          pending = writeAll(fh, chunk, path);
        }
        await pending;
      } catch (e) {
        await pending?.catch(() => undefined);
        throw e;
      }
      if (written !== expected) {
        throw new HybridCompressError('RUNTIME_ERROR', `${path}: tensor "${t.name}" produced ${written > expected ? 'more than ' : ''}${written} bytes, expected ${expected}`, { file: path, tensor: t.name });
      }
    }
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  return { tmp, bytes: header.byteLength + dataBytes };
}

async function writeAll(fh: import('node:fs/promises').FileHandle, data: Uint8Array, path: string): Promise<void> {
  let off = 0;
  try {
    while (off < data.byteLength) {
      const { bytesWritten } = await fh.write(data, off, data.byteLength - off);
      off += bytesWritten;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw new HybridCompressError('IO_ERROR', `${path}: disk full while writing (${data.byteLength} bytes pending); nothing was renamed into place`, { file: path });
    throw e;
  }
}

export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

export interface ShardedWriteResult {
  files: string[];
  totalSize: number;
  weightMap: Record<string, string>;
}

/** Shard names written by `writeCheckpointShards` (and transformers). */
const SHARD_RE = /^model-\d{5}-of-\d{5}\.safetensors$/;

/**
 * Writes a checkpoint's tensors as `model.safetensors`, or as shards `model-0000i-of-0000N.safetensors`
 * plus `model.safetensors.index.json` when they exceed `maxShardBytes`. Tensors keep the given order
 * across shards (as transformers does); a tensor larger than the limit gets a shard of its own.
 * Every file is written under a temporary name; nothing is renamed into place until all shards are
 * complete, and a failure removes the temporaries. Weight files of an earlier write into the same
 * folder that the new layout does not use (a stale index, shards, or single file) are removed, so the
 * folder never mixes two checkpoints.
 */
export async function writeCheckpointShards(
  dir: string,
  tensors: readonly TensorSource[],
  options: { maxShardBytes?: number; metadata?: Record<string, string>; sparse?: boolean; onTensor?: (name: string, i: number, n: number) => void } = {},
): Promise<ShardedWriteResult> {
  const limit = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  const shards: TensorSource[][] = [];
  let current: TensorSource[] = [];
  let size = 0;
  let totalSize = 0;
  for (const t of tensors) {
    const len = tensorByteLength(t);
    totalSize += len;
    if (current.length > 0 && size + len > limit) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += len;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);

  const metadata = options.metadata ?? { format: 'pt' };
  let done = 0;
  const wrap = (t: TensorSource): TensorSource => ({
    ...t,
    data: async () => {
      const d = typeof t.data === 'function' ? await t.data() : t.data;
      options.onTensor?.(t.name, done++, tensors.length);
      return d;
    },
  });
  const n = shards.length;
  const pad = (k: number) => String(k).padStart(5, '0');
  const files = n === 1 ? ['model.safetensors'] : shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(n)}.safetensors`);
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => shard.forEach((t) => (weightMap[t.name] = files[i]!)));

  const temps: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const { tmp } = await writeToTemp(join(dir, files[i]!), shards[i]!.map(wrap), { metadata, sparse: options.sparse });
      temps.push(tmp);
    }
  } catch (e) {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
    throw e;
  }
  for (let i = 0; i < n; i++) await rename(temps[i]!, join(dir, files[i]!));
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (n > 1) {
    const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
    const tmp = tempPathFor(indexPath);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(index, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, indexPath);
  }
  const keep = new Set(files);
  if (n > 1) keep.add('model.safetensors.index.json');
  for (const f of await readdir(dir)) {
    if (keep.has(f)) continue;
    if (f === 'model.safetensors' || f === 'model.safetensors.index.json' || SHARD_RE.test(f)) await rm(join(dir, f), { force: true });
  }
  return { files, totalSize, weightMap };
}
