// Where ORT should look for external initializer data. ORT 1.30 only reads external data from files
// inside the folder it is given (no "..", no absolute paths, no symlinks that resolve elsewhere), and
// the Hugging Face cache stores snapshots as symlinks into blobs/. So we resolve every weight file to
// its real path and pick a folder that contains them all:
//   1. the checkpoint folder itself, when the real files are inside it (the common case);
//   2. the one folder all real files live in (HF cache: snapshots/<rev>/*.safetensors → blobs/<sha>), read in place;
//   3. otherwise a cache folder with hard links (or copies, across filesystems) of the real files.

import { copyFileSync, existsSync, linkSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { HybridCompressError } from '../errors';

export interface WeightsFolder {
  /** Real (symlink-free) folder to pass as model_external_initializers_file_folder_path. */
  folder: string;
  /** Absolute path of a weight file (as the checkpoint lists it) → location relative to `folder`. */
  locations: Map<string, string>;
  /** How the folder was chosen: 'checkpoint' | 'symlink-target' | 'cache'. */
  mode: 'checkpoint' | 'symlink-target' | 'cache';
  /** One line for the user when the weights are not read from the checkpoint folder itself. */
  message?: string;
}

export interface WeightsFolderOptions {
  /** Root for case 3; default $XDG_CACHE_HOME/hybrid-compress/weights or ~/.cache/hybrid-compress/weights. */
  cacheRoot?: string;
}

function inside(folder: string, file: string): boolean {
  const r = relative(folder, file);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch (e) {
    throw new HybridCompressError('IO_ERROR', `${path}: cannot resolve the weight file (${(e as NodeJS.ErrnoException).code ?? String(e)}); a dangling symlink?`, { file: path });
  }
}

export function defaultCacheRoot(): string {
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'hybrid-compress', 'weights');
}

export function resolveWeightsFolder(checkpointDir: string, files: readonly string[], o: WeightsFolderOptions = {}): WeightsFolder {
  const dir = real(checkpointDir);
  const reals = files.map((f) => [f, real(f)] as const);
  if (reals.every(([, r]) => inside(dir, r))) {
    return { folder: dir, mode: 'checkpoint', locations: new Map(reals.map(([f, r]) => [f, relative(dir, r).split(sep).join('/')])) };
  }
  const parents = new Set(reals.map(([, r]) => dirname(r)));
  const names = new Set(reals.map(([, r]) => basename(r)));
  if (parents.size === 1 && names.size === reals.length) {
    const folder = [...parents][0]!;
    return {
      folder,
      mode: 'symlink-target',
      locations: new Map(reals.map(([f, r]) => [f, basename(r)])),
      message: `weights in ${checkpointDir} are symlinks (Hugging Face cache layout); ONNX Runtime reads them from their real folder ${folder}`,
    };
  }
  // Mixed targets: gather hard links (or copies) in one cache folder keyed by the real paths and sizes.
  const key = createHash('sha256')
    .update(reals.map(([, r]) => `${r}:${statSync(r).size}:${statSync(r).mtimeMs}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  const folder = join(o.cacheRoot ?? defaultCacheRoot(), key);
  mkdirSync(folder, { recursive: true });
  let copied = 0;
  const locations = new Map<string, string>();
  reals.forEach(([f, r], i) => {
    const name = `${i}-${basename(r)}`;
    const dst = join(folder, name);
    if (!existsSync(dst) || statSync(dst).size !== statSync(r).size) {
      try {
        linkSync(r, dst);
      } catch {
        copyFileSync(r, dst);
        copied++;
      }
    }
    locations.set(f, name);
  });
  return {
    folder: real(folder),
    mode: 'cache',
    locations,
    message: `weights in ${checkpointDir} are symlinks to several folders, which ONNX Runtime refuses; ${copied > 0 ? `copied ${copied} file(s)` : 'hard-linked them'} into ${folder}`,
  };
}
