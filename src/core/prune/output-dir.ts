// The output folder's life cycle: checks before any work (never inside or around the source, --force only
// over this tool's own outputs, free disk space), a temporary sibling folder that is renamed into place
// only when complete (those of killed runs are removed by the next run), and the non-weight files carried
// over from the source (tokenizer, generation config, remote code).

import { copyFile, readdir, rename, rm, stat, statfs, lstat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { HybridCompressError } from '../errors';
import { checkOutput } from '../runs/output-guard';
import { isProcessAlive } from '../runs/process-alive';

/** Files copied verbatim from the source folder (everything else is written or left behind). */
const CARRIED = /^(tokenizer[^/]*|special_tokens_map\.json|added_tokens\.json|generation_config\.json|chat_template\.(json|jinja)|vocab\.(json|txt)|merges\.txt|[^/]*\.tiktoken|[^/]*\.py|LICENSE[^/]*)$/;

/**
 * Rejects an output path that would touch the source (by real path: a symlink cannot smuggle it in), or
 * that exists without --force, or exists and is not a checkpoint this tool wrote (runs/output-guard.ts).
 * `extraSources` are other inputs (the data file, an importance run) that must not be written either.
 */
export function checkOutputPath(sourceDir: string, out: string, force: boolean, extraSources: readonly (string | undefined)[] = []): string {
  return checkOutput(out, { option: 'out', force, kind: 'checkpoint', sources: [sourceDir, ...extraSources] });
}

/** Fails when the output's filesystem has less than `bytes` (+1% and 16 MiB slack) available. */
export async function checkFreeSpace(out: string, bytes: number): Promise<{ available: number }> {
  let dir = dirname(resolve(out));
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const s = await statfs(dir);
  const available = Number(s.bavail) * Number(s.bsize);
  const need = Math.ceil(bytes * 1.01) + (16 << 20);
  if (available < need) {
    throw new HybridCompressError(
      'IO_ERROR',
      `not enough free disk space for the pruned checkpoint: about ${(need / 1e9).toFixed(2)} GB needed in ${dir}, ${(available / 1e9).toFixed(2)} GB available; free some space or choose another --out`,
      { file: dir, option: 'out' },
    );
  }
  return { available };
}

/** A fresh temporary folder next to `out` (same filesystem, so the final rename is atomic). */
export function tempDirFor(out: string): string {
  return join(dirname(out), `.${basename(out)}.partial-${process.pid}-${hostname()}-${Date.now().toString(36)}`);
}

/**
 * Removes the temporary folders that killed runs left next to `out` (`.<name>.partial-<pid>-<host>-*`
 * of a process that is gone); a live writer's folder is left alone. Returns the folders removed.
 */
export async function removeDeadPartials(out: string): Promise<string[]> {
  const dir = dirname(out);
  if (!existsSync(dir)) return [];
  const prefix = `.${basename(out)}.partial-`;
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-(.+)-[0-9a-z]+$/.exec(name.slice(prefix.length));
    // Folders of older versions carry no host: the pid alone decides on this machine.
    const pid = Number(m ? m[1] : name.slice(prefix.length).split('-')[0]);
    const host = m ? m[2] : hostname();
    if (!Number.isInteger(pid) || host !== hostname() || isProcessAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(join(dir, name));
  }
  return removed;
}

/** Moves the finished temporary folder to `out`, replacing an existing `out` (checked earlier for --force). */
export async function commitDir(tmp: string, out: string): Promise<void> {
  if (existsSync(out)) await rm(out, { recursive: true, force: true });
  await rename(tmp, out);
}

/** Copies the carried-over files; returns their names. */
export async function copySideFiles(sourceDir: string, outDir: string): Promise<string[]> {
  const copied: string[] = [];
  for (const name of (await readdir(sourceDir)).sort()) {
    if (!CARRIED.test(name)) continue;
    const p = join(sourceDir, name);
    const st = await lstat(p);
    // Hugging Face cache snapshots hold symlinks into blobs/: copy the file they point to.
    const target = st.isSymbolicLink() ? await stat(p) : st;
    if (!target.isFile()) continue;
    await copyFile(p, join(outDir, name));
    copied.push(name);
  }
  return copied;
}

/** True when a safetensors file's data area is one hole (a shape-only fixture): its bytes are all zero. */
export async function isHoleOnly(path: string, dataStart: number): Promise<boolean> {
  const st = await stat(path);
  const dataBytes = st.size - dataStart;
  if (dataBytes < 1 << 20) return false; // small files are sliced for real
  const allocated = Number(st.blocks) * 512;
  return allocated <= Math.ceil(dataStart / 4096) * 4096 + 8192;
}
