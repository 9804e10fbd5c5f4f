// Memory facts the engine plans with, read from Linux's /proc and cgroup files (proc(5), cgroup v1/v2
// memory controllers), with os.totalmem/freemem as the fallback elsewhere. Loads no native module, so
// the CLI and the extension host can use it too (the out-of-memory diagnosis of a dead worker).

import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A `Key:   123 kB` field of /proc/meminfo or /proc/<pid>/status, in bytes. */
function kbField(text: string | undefined, key: string): number | undefined {
  const m = text && new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The memory limit of this process's cgroup (v2 memory.max or v1 memory.limit_in_bytes), if any is set. */
export function cgroupLimitBytes(): { limit: number; usage: number } | undefined {
  const cg = readText('/proc/self/cgroup');
  if (!cg) return undefined;
  const v2 = /^0::(\S*)$/m.exec(cg)?.[1];
  const v1 = /^\d+:[^:]*\bmemory\b[^:]*:(\S*)$/m.exec(cg)?.[1];
  const candidates: [string, string][] = [];
  if (v2 !== undefined) candidates.push([`/sys/fs/cgroup${v2}/memory.max`, `/sys/fs/cgroup${v2}/memory.current`]);
  if (v1 !== undefined) candidates.push([`/sys/fs/cgroup/memory${v1}/memory.limit_in_bytes`, `/sys/fs/cgroup/memory${v1}/memory.usage_in_bytes`], ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes']);
  for (const [limitPath, usagePath] of candidates) {
    const raw = readText(limitPath)?.trim();
    if (!raw || raw === 'max') continue;
    const limit = Number(raw);
    // v1 reports "no limit" as a huge page-rounded number.
    if (!Number.isFinite(limit) || limit <= 0 || limit >= 2 ** 60) continue;
    return { limit, usage: Number(readText(usagePath)?.trim() ?? 0) || 0 };
  }
  return undefined;
}

export interface MemoryInfo {
  /** Physical memory (or the cgroup limit when lower). */
  total: number;
  /** What a new allocation can get without swapping: MemAvailable (page cache counts as free), capped by the cgroup. */
  available: number;
}

export function memoryInfo(): MemoryInfo {
  const meminfo = readText('/proc/meminfo');
  let total = kbField(meminfo, 'MemTotal') ?? totalmem();
  let available = kbField(meminfo, 'MemAvailable') ?? freemem();
  const cg = cgroupLimitBytes();
  if (cg && cg.limit < total) {
    total = cg.limit;
    available = Math.min(available, Math.max(0, cg.limit - cg.usage));
  }
  return { total, available };
}

export interface ProcessMemory {
  /** Resident set now (VmRSS). */
  rss: number;
  /** Peak resident set (VmHWM). */
  peak: number;
}

/** RSS and peak RSS of a process (default: this one); undefined where /proc is not available or it is gone. */
export function processMemory(pid: number | 'self' = 'self'): ProcessMemory | undefined {
  const status = readText(`/proc/${pid}/status`);
  const rss = kbField(status, 'VmRSS');
  const peak = kbField(status, 'VmHWM');
  if (rss === undefined && peak === undefined) {
    if (pid !== 'self' && pid !== process.pid) return undefined;
    const r = process.memoryUsage.rss();
    return { rss: r, peak: r };
  }
  return { rss: rss ?? 0, peak: peak ?? rss ?? 0 };
}

/** Kernel OOM kills so far: the system-wide counter of /proc/vmstat (Linux ≥ 4.13), undefined elsewhere. */
export function oomKillCount(): number | undefined {
  const m = /^oom_kill\s+(\d+)$/m.exec(readText('/proc/vmstat') ?? '');
  return m ? Number(m[1]) : undefined;
}

/** "812 MB", "5.2 GB". */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e10 ? 0 : 1)} GB`;
  if (n >= 1e6) return `${Math.round(n / 1e6)} MB`;
  return `${Math.round(n / 1e3)} kB`;
}
