// Output paths never destroy what the user did not name. Every command that writes checks its outputs
// here before any work: an output is compared with every source by real path (symlinks resolved, so a
// link cannot smuggle the source in), an existing output needs --force, and --force replaces only what
// this tool wrote — a run folder (run.json), a checkpoint it produced (the OUTPUT_MARKER file), or a file
// whose header or "format" names this tool — never a source and never an unrelated file or folder.

import { closeSync, existsSync, lstatSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { HybridCompressError } from '../errors';
import { OUTPUT_MARKER, RUN_FILE } from './layout';

/** The real path of `p` with symlinks of its longest existing prefix resolved (`p` need not exist). */
export function realPathOf(p: string): string {
  let head = resolve(p);
  const rest: string[] = [];
  while (!existsSync(head)) {
    const parent = dirname(head);
    if (parent === head) break;
    rest.unshift(basename(head));
    head = parent;
  }
  return join(existsSync(head) ? realpathSync(head) : head, ...rest);
}

export function isInside(parent: string, child: string): boolean {
  const r = relative(parent, child);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

export type OutputKind = 'run' | 'checkpoint' | 'file';

const MAGIC_FORMAT = 'hybrid-compress/';

/** The first bytes of a file (regular files only). */
function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** A file this tool wrote: a safetensors file whose __metadata__.format, or a JSON file whose "format", starts with "hybrid-compress/". */
function ownFile(path: string): boolean {
  try {
    const st = statSync(path);
    if (!st.isFile()) return false;
    const b = head(path, Math.min(st.size, 1 << 20));
    if (b.length >= 8 && b[8] === 0x7b) {
      const len = Number(b.readBigUInt64LE(0));
      if (len > 0 && 8 + len <= b.length) {
        const meta = (JSON.parse(b.subarray(8, 8 + len).toString('utf8')) as { __metadata__?: { format?: string } }).__metadata__;
        return typeof meta?.format === 'string' && meta.format.startsWith(MAGIC_FORMAT);
      }
    }
    const text = b.toString('utf8');
    if (text.trimStart().startsWith('{')) {
      const v = JSON.parse(text) as { format?: unknown };
      return typeof v.format === 'string' && v.format.startsWith(MAGIC_FORMAT);
    }
  } catch {
    /* unreadable or not ours */
  }
  return false;
}

/** True when `path` (existing) is an output of this tool of the given kind. */
export function ownedByTool(path: string, kind: OutputKind): boolean {
  if (kind === 'file') return ownFile(path);
  if (!statSync(path).isDirectory()) return false;
  if (kind === 'run') return existsSync(join(path, RUN_FILE));
  return existsSync(join(path, OUTPUT_MARKER));
}

export interface OutputCheck {
  /** The option that named the output, for messages ("out", "dump-logits"). */
  option: string;
  force: boolean;
  kind: OutputKind;
  /** Inputs of the command: never written, nor anything inside or around them. */
  sources: readonly (string | undefined)[];
  /** Run folders may be reused as they are (resume, reuse): existing ones are checked by their owner. */
  allowExistingRun?: boolean;
}

const KIND_LABEL: Record<OutputKind, string> = { run: 'run folder', checkpoint: 'checkpoint', file: 'file' };

/**
 * Checks an output path before any work; returns its real path. Throws OPTION_INVALID naming the option
 * when the output would touch a source, exists without --force, or exists and is not this tool's own.
 */
export function checkOutput(out: string, c: OutputCheck): string {
  const flag = `--${c.option}`;
  const real = realPathOf(out);
  for (const s of c.sources) {
    if (s === undefined || s === 'random') continue;
    const src = realPathOf(s);
    if (isInside(src, real)) throw new HybridCompressError('OPTION_INVALID', `${flag} ${out} is ${real === src ? '' : 'inside '}the source ${src}${real !== resolve(out) ? ` (through a symbolic link: ${resolve(out)} → ${real})` : ''}; sources are never written, choose another path`, { option: c.option, file: out });
    if (isInside(real, src)) throw new HybridCompressError('OPTION_INVALID', `${flag} ${out} contains the source ${src}; choose a path that does not hold a source`, { option: c.option, file: out });
  }
  if (!existsSync(real)) {
    if (lstatSync(dirname(real), { throwIfNoEntry: false })?.isFile()) throw new HybridCompressError('OPTION_INVALID', `${flag} ${out}: ${dirname(real)} is a file`, { option: c.option, file: out });
    return real;
  }
  const isDir = statSync(real).isDirectory();
  if (c.kind === 'run') {
    if (!isDir) throw new HybridCompressError('OPTION_INVALID', `${flag} ${out} is a file; a run folder is a folder`, { option: c.option, file: out });
    if (ownedByTool(real, 'run')) {
      if (c.allowExistingRun || c.force) return real;
      throw new HybridCompressError('OPTION_INVALID', `${flag} ${out} already holds a run; choose another folder or pass --force`, { option: c.option, file: out });
    }
    // An empty folder may become a run folder; anything else is not ours to fill with run files.
    if (readdirSync(real).length === 0) return real;
    throw new HybridCompressError('OPTION_INVALID', `${flag} ${out} is a folder with other files (not a run folder of this tool: no ${RUN_FILE}); choose a new or empty folder`, { option: c.option, file: out });
  }
  if (!c.force) throw new HybridCompressError('OPTION_INVALID', `${flag} ${out} already exists; pass --force to replace it (only a ${KIND_LABEL[c.kind]} this tool wrote is ever replaced)`, { option: c.option, file: out });
  if (c.kind === 'checkpoint' && isDir && readdirSync(real).length === 0) return real;
  if (!ownedByTool(real, c.kind)) {
    throw new HybridCompressError(
      'OPTION_INVALID',
      `${flag} ${out} exists and is not a ${KIND_LABEL[c.kind]} this tool wrote (${c.kind === 'checkpoint' ? `no ${OUTPUT_MARKER}` : 'no hybrid-compress format in it'}); --force only replaces this tool's own outputs, never other files or folders`,
      { option: c.option, file: out },
    );
  }
  return real;
}

/** Marks a checkpoint folder as this tool's output (so a later --force may replace it). */
export function outputMarker(kind: string): string {
  return JSON.stringify({ format: 'hybrid-compress/output@1', kind, written: new Date().toISOString() }) + '\n';
}
