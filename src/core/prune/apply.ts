// Applying a pruning plan: writes the pruned checkpoint tensor by tensor (each streamed in bounded chunks,
// raw bytes, so dtypes are preserved exactly) into a temporary folder, validates it by re-opening it, and
// renames it into place. The source folder is only ever opened for reading.
//
// Sharding follows the source: each output tensor goes to the shard its source tensor came from (empty
// shards dropped, files renamed model-0000i-of-0000N), a single-file source gives a single file.
// Shape-only sources (a data area that is one hole, from the fixture generator) give shape-only outputs:
// slicing zeros gives zeros, so those tensors are left as holes instead of read and written.

import { mkdir, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { HybridCompressError } from '../errors';
import { buildSpec, validateTensors, type HybridModelSpec } from '../arch/index';
import { openCheckpoint, type Checkpoint } from '../checkpoint/checkpoint';
import { buildHeader, tensorByteLength, writeOrder } from '../safetensors/writer';
import { encodeConfig } from '../arch/config-codec';
import { applyConfigChanges, configChanges } from './config';
import { formatPlan, planDims, PLAN_FILE, type PruningPlan } from './plan';
import { sliceRecipes, untrackedTensors, type SliceRecipe } from './recipe';
import { SliceBuffers, sliceTensors, DEFAULT_CHUNK_BYTES } from './stream-slice';
import { OutputStream } from './output-stream';
import { checkFreeSpace, checkOutputPath, commitDir, copySideFiles, isHoleOnly, removeDeadPartials, tempDirFor } from './output-dir';
import { OUTPUT_MARKER } from '../runs/layout';
import { outputMarker } from '../runs/output-guard';
import { checkPlan } from './plan-check';

export interface ApplyProgress {
  tensor: string;
  done: number;
  total: number;
  /** Tensor data bytes done so far (holes of shape-only tensors counted). */
  bytesWritten: number;
  /** Tensor data bytes of the whole output. */
  bytesTotal: number;
}

export interface ApplyOptions {
  out: string;
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: ApplyProgress) => void;
  /** Extra text files written into the output folder (name → content), e.g. the ModelOpt export config. */
  extraFiles?: Record<string, string>;
  log?: (line: string) => void;
  chunkBytes?: number;
  /** fsync each weight file before the rename (default true). */
  sync?: boolean;
  /** Write weight files with O_DIRECT where the platform and filesystem allow it (default true); see output-stream.ts. */
  directIo?: boolean;
}

export interface ApplyResult {
  dir: string;
  config: Record<string, unknown>;
  spec: HybridModelSpec;
  files: string[];
  params: number;
  /** Bytes of tensor data actually written (holes of shape-only tensors excluded). */
  bytesWritten: number;
  /** Size of the weight files (headers + data; holes of shape-only tensors included). */
  bytesTotal: number;
  shapeOnly: boolean;
  copiedFiles: string[];
  /** Source tensors not described by the config (MTP heads, rotary buffers), not carried over. */
  droppedTensors: string[];
  seconds: number;
}

interface ShardPlan {
  name: string;
  sourceFile: string;
  recipes: SliceRecipe[];
  metadata: Record<string, string>;
  holeOnly: boolean;
}

function shardName(i: number, n: number): string {
  const pad = (k: number) => String(k).padStart(5, '0');
  return n === 1 ? 'model.safetensors' : `model-${pad(i + 1)}-of-${pad(n)}.safetensors`;
}

async function planShards(ckpt: Checkpoint, recipes: SliceRecipe[]): Promise<ShardPlan[]> {
  const byFile = new Map<string, SliceRecipe[]>();
  for (const r of recipes) {
    const f = ckpt.tensor(r.source).file;
    if (!byFile.has(f)) byFile.set(f, []);
    byFile.get(f)!.push(r);
  }
  const files = ckpt.weightFiles.map((w) => w.path).filter((p) => byFile.has(p));
  const n = ckpt.sharded ? files.length : 1;
  const shards: ShardPlan[] = [];
  for (const [i, f] of files.entries()) {
    const st = ckpt.fileOf(byFile.get(f)![0]!.source);
    shards.push({ name: shardName(i, n), sourceFile: f, recipes: byFile.get(f)!, metadata: { ...st.metadata }, holeOnly: await isHoleOnly(f, st.dataStart) });
  }
  return shards;
}

/**
 * Writes one output shard through an output stream (header, then every tensor's slice, pipelined).
 * Returns the data bytes written (holes excluded) and `flushed`, which settles once the file is synced
 * (when asked) and closed: the flush of one shard overlaps the next shard's work.
 */
async function writeShard(ckpt: Checkpoint, shard: ShardPlan, path: string, src: FileHandle, bufs: SliceBuffers, opts: ApplyOptions, tick: (r: SliceRecipe, bytes: number) => void): Promise<{ written: number; fileBytes: number; flushed: Promise<void> }> {
  const entries = writeOrder(shard.recipes.map((r) => ({ ...r, dtype: ckpt.tensor(r.source).dtype })));
  const { bytes: header, dataBytes } = buildHeader(entries, Object.keys(shard.metadata).length > 0 ? shard.metadata : { format: 'pt' });
  const out = await OutputStream.create(path, bufs.staging, { direct: opts.directIo });
  let written = 0;
  try {
    await out.put(header);
    if (shard.holeOnly) {
      for (const e of entries) tick(e, tensorByteLength(e));
    } else {
      const jobs = entries.map((e) => {
        const t = ckpt.tensor(e.source);
        return { src: { fh: src, offset: t.fileOffset, dtype: t.dtype, shape: t.shape, name: t.name }, rows: e.rows, cols: e.cols };
      });
      await sliceTensors(jobs, out, bufs, {
        signal: opts.signal,
        onTensor: (i, got) => {
          const e = entries[i]!;
          const len = tensorByteLength(e);
          if (got !== len) throw new HybridCompressError('RUNTIME_ERROR', `tensor "${e.name}": wrote ${got} bytes, expected ${len}`, { tensor: e.name });
          written += got;
          tick(e, len);
        },
      });
    }
    await out.finish();
    // Sets the size when the tensors were left as holes (shape-only); a no-op otherwise.
    if (shard.holeOnly) await out.truncate(header.byteLength + dataBytes);
  } catch (e) {
    await out.abort();
    throw e;
  }
  const flushed = ((opts.sync ?? true) ? out.datasync() : Promise.resolve()).finally(() => out.close());
  return { written, fileBytes: header.byteLength + dataBytes, flushed };
}

export async function applyPlan(ckpt: Checkpoint, plan: PruningPlan, opts: ApplyOptions): Promise<ApplyResult> {
  const t0 = performance.now();
  const spec = ckpt.spec;
  const out = checkOutputPath(ckpt.dir, opts.out, opts.force ?? false);
  for (const d of await removeDeadPartials(out)) opts.log?.(`removed ${d}, left by a run that was killed`);
  checkPlan(spec, plan);
  const changes = configChanges(spec, planDims(spec, plan));
  const config = applyConfigChanges(ckpt.config, changes);
  const recipes = sliceRecipes(spec, plan);
  // The output must satisfy its own config before a byte is written.
  const outSpec = buildSpec(config, recipes.map((r) => r.name));
  validateTensors(outSpec, new Map(recipes.map((r) => [r.name, { shape: r.shape, dtype: ckpt.tensor(r.source).dtype }])), 'pruned checkpoint');

  const shards = await planShards(ckpt, recipes);
  const shapeOnly = shards.every((s) => s.holeOnly);
  let dataTotal = 0;
  let bytesToWrite = 0;
  for (const s of shards) {
    const data = s.recipes.reduce((a, r) => a + tensorByteLength({ ...r, dtype: ckpt.tensor(r.source).dtype }), 0);
    dataTotal += data;
    if (!s.holeOnly) bytesToWrite += data;
  }
  await checkFreeSpace(out, bytesToWrite);

  const tmp = tempDirFor(out);
  await mkdir(tmp, { recursive: true });
  const bufs = new SliceBuffers(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  let done = 0;
  let progressBytes = 0;
  let bytesWritten = 0;
  let bytesTotal = 0;
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  const flushes: Promise<void>[] = [];
  try {
    for (const shard of shards) {
      const src = await open(shard.sourceFile, 'r');
      try {
        const w = await writeShard(ckpt, shard, join(tmp, shard.name), src, bufs, opts, (r, bytes) => {
          weightMap[r.name] = shard.name;
          totalSize += bytes;
          progressBytes += bytes;
          opts.onProgress?.({ tensor: r.name, done: ++done, total: recipes.length, bytesWritten: progressBytes, bytesTotal: dataTotal });
        });
        bytesWritten += w.written;
        bytesTotal += w.fileBytes;
        flushes.push(w.flushed);
      } finally {
        await src.close();
      }
    }
    if (shards.length > 1) {
      const sorted = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
      await writeFile(join(tmp, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sorted }, null, 2) + '\n');
    }
    await writeFile(join(tmp, 'config.json'), encodeConfig(config, ckpt.configText));
    const copiedFiles = await copySideFiles(ckpt.dir, tmp);
    await writeFile(join(tmp, PLAN_FILE), formatPlan({ ...plan, config_changes: changes }));
    for (const [name, text] of Object.entries(opts.extraFiles ?? {})) await writeFile(join(tmp, name), text);
    await writeFile(join(tmp, OUTPUT_MARKER), outputMarker('pruned'));

    await Promise.all(flushes);
    // Re-open: every shape is checked against the new config.json by the checkpoint loader.
    const check = await openCheckpoint(tmp);
    const params = check.spec.params.total;
    await check.close();
    const expected = outSpec.params.total;
    if (params !== expected) throw new HybridCompressError('RUNTIME_ERROR', `pruned checkpoint has ${params} parameters, the plan implies ${expected}`);
    await commitDir(tmp, out);
    return {
      dir: out,
      config,
      spec: buildSpec(config, recipes.map((r) => r.name)),
      files: shards.map((s) => s.name),
      params,
      bytesWritten,
      bytesTotal,
      shapeOnly,
      copiedFiles,
      droppedTensors: untrackedTensors(spec, ckpt.tensors.keys()),
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    await Promise.allSettled(flushes);
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

