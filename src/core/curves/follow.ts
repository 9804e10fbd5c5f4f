// Tailing of growing files by polling. Polling (not fs.watch) because the files that matter most
// live on network filesystems (NFS/Lustre on a cluster, sshfs mounts) where change notifications
// are unreliable or absent; a stat every half second costs nothing.
// A file that shrinks or is replaced (different inode) is read again from its start and the chunk
// is flagged `reset`, so consumers drop what they had from it.

import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface TailChunk {
  file: string;
  bytes: Uint8Array;
  /** The file was truncated or replaced since the last read: this chunk starts at its beginning. */
  reset: boolean;
}

export interface FollowOptions {
  /** Keep polling for new bytes until `signal` aborts (default false: read what is there and stop). */
  follow?: boolean;
  signal?: AbortSignal;
  /** Poll interval in ms (default 500). */
  pollMs?: number;
  /** Largest chunk handed out at once (default 4 MiB), so a big file is processed in bounded pieces. */
  maxChunkBytes?: number;
}

const DEFAULT_POLL_MS = 500;
const DEFAULT_MAX_CHUNK = 4 * 1024 * 1024;

/** Reads a file incrementally from where the previous read stopped. */
export class FileTail {
  offset = 0;
  private fh: FileHandle | undefined;
  private ino = 0;
  private pendingReset = false;

  constructor(readonly path: string) {}

  /** The next new bytes (at most maxBytes), or undefined when there is nothing new or no file (yet). */
  async read(maxBytes = DEFAULT_MAX_CHUNK): Promise<TailChunk | undefined> {
    let st;
    try {
      st = await stat(this.path);
    } catch {
      return undefined; // not there (yet, or deleted while rotating): try again on the next poll
    }
    if (this.fh && ((st.ino !== 0 && this.ino !== 0 && st.ino !== this.ino) || st.size < this.offset)) {
      await this.close();
      this.offset = 0;
      this.pendingReset = true;
    }
    if (st.size <= this.offset) return undefined;
    if (!this.fh) {
      try {
        this.fh = await open(this.path, 'r');
      } catch {
        return undefined;
      }
      this.ino = (await this.fh.stat()).ino;
    }
    const want = Math.min(maxBytes, st.size - this.offset);
    const buf = new Uint8Array(want);
    const { bytesRead } = await this.fh.read(buf, 0, want, this.offset);
    if (bytesRead === 0) return undefined;
    this.offset += bytesRead;
    const reset = this.pendingReset;
    this.pendingReset = false;
    return { file: this.path, bytes: bytesRead === want ? buf : buf.subarray(0, bytesRead), reset };
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await fh.close().catch(() => {});
  }
}

/** Sleeps `ms`; resolves false (instead of throwing) when the signal aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Yields the bytes of the files that `list()` returns (called again on every poll, so files that
 * appear later are picked up), each file from its start, in `list()` order per poll.
 */
export async function* followFiles(list: () => Promise<string[]>, opts: FollowOptions = {}): AsyncGenerator<TailChunk> {
  const tails = new Map<string, FileTail>();
  const max = opts.maxChunkBytes ?? DEFAULT_MAX_CHUNK;
  try {
    for (;;) {
      for (const f of await list()) {
        if (opts.signal?.aborted) return;
        let t = tails.get(f);
        if (!t) tails.set(f, (t = new FileTail(f)));
        for (let c = await t.read(max); c; c = await t.read(max)) {
          yield c;
          if (opts.signal?.aborted) return;
        }
      }
      if (!opts.follow || !(await pause(opts.pollMs ?? DEFAULT_POLL_MS, opts.signal))) return;
    }
  } finally {
    for (const t of tails.values()) await t.close();
  }
}

/** followFiles for one path. */
export function followFile(path: string, opts: FollowOptions = {}): AsyncGenerator<TailChunk> {
  return followFiles(async () => [path], opts);
}

/**
 * Files under `dir` (down to `maxDepth` folder levels) whose base name passes `accept`, sorted by
 * path; unreadable folders are skipped. Dot-folders and node_modules are not entered.
 */
export async function findFiles(dir: string, accept: (name: string) => boolean, maxDepth = 4): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (depth < maxDepth && !e.name.startsWith('.') && e.name !== 'node_modules') await walk(p, depth + 1);
      } else if ((e.isFile() || e.isSymbolicLink()) && accept(e.name)) out.push(p);
    }
  };
  await walk(dir, 0);
  return out.sort();
}
