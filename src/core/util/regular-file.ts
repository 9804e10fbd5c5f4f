// Opening only regular files. A FIFO, socket or character device named as a config or a shard would
// block a plain open()/read() forever (no writer ever comes), freezing the CLI or the extension host.
// open(O_NONBLOCK) returns at once for any of them; fstat on the open descriptor then decides, so a
// file swapped between a check and the open cannot slip through.

import { closeSync, constants, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { HybridCompressError } from '../errors';

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** Opens `path` for reading, refusing anything but a regular file; returns the descriptor and its stats. */
export function openRegularFile(path: string, what = 'file'): { fd: number; stats: Stats } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new HybridCompressError('IO_ERROR', `${path}: cannot open ${what} (${code})`, { file: path });
  }
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new HybridCompressError('IO_ERROR', `${path}: ${what} is ${kindOf(stats)}, not a regular file (only regular files are read)`, { file: path });
  }
  return { fd, stats };
}

/** Reads a whole regular file (see openRegularFile). */
export function readRegularFile(path: string, encoding: 'utf8', what?: string): string;
export function readRegularFile(path: string, encoding?: undefined, what?: string): Buffer;
export function readRegularFile(path: string, encoding?: 'utf8', what = 'file'): string | Buffer {
  const { fd } = openRegularFile(path, what);
  try {
    return encoding ? readFileSync(fd, encoding) : readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
