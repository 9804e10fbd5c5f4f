// One writer per run folder. The live process holds `<run>/.lock` (created exclusively, holding its pid and
// host); a second writer is refused with the holder named; the lock of a process that died (crash, SIGKILL)
// is detected by its pid and taken over. Released when the run ends and when this process exits.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { HybridCompressError } from '../errors';
import { LOCK_FILE } from './layout';
import { isProcessAlive } from './process-alive';

interface LockRecord {
  pid: number;
  host: string;
  what: string;
  since: string;
}

export interface RunLock {
  readonly path: string;
  release(): void;
}

function readRecord(path: string): LockRecord | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as LockRecord;
    return typeof v.pid === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock of run folder `dir` for `what` (e.g. "distill"), or throws naming the live holder. */
export function acquireRunLock(dir: string, what: string): RunLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const mine: LockRecord = { pid: process.pid, host: hostname(), what, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      try {
        writeSync(fd, JSON.stringify(mine) + '\n');
      } finally {
        closeSync(fd);
      }
      return held(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new HybridCompressError('IO_ERROR', `${path}: cannot create the run lock (${(e as NodeJS.ErrnoException).code})`, { file: path });
    }
    const holder = readRecord(path);
    if (holder === undefined) {
      // Being written by its creator this very moment, or left empty by a crash at that moment.
      if (attempt < 10) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        continue;
      }
    } else if (holder.host !== hostname() || isProcessAlive(holder.pid)) {
      throw new HybridCompressError(
        'OPTION_INVALID',
        `${dir} is in use by ${holder.what} (pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ''}, since ${holder.since}); one process writes a run folder at a time: wait for it, cancel it, or choose another folder`,
        { option: 'out', file: dir },
      );
    }
    // The holder is gone: move its lock aside (only one taker's rename succeeds), then try again.
    try {
      renameSync(path, `${path}.stale-${process.pid}`);
      unlinkSync(`${path}.stale-${process.pid}`);
    } catch {
      /* another process took it over first: retry */
    }
  }
  throw new HybridCompressError('IO_ERROR', `${path}: could not take the run lock`, { file: path });
}

function held(path: string): RunLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    // Only our own lock is removed (a takeover after a mistaken stale verdict must survive).
    if (existsSync(path) && readRecord(path)?.pid === process.pid) {
      try {
        unlinkSync(path);
      } catch {
        /* already gone */
      }
    }
  };
  process.on('exit', release);
  return { path, release };
}
