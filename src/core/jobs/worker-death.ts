// Saying why a worker ended without answering: its memory is sampled while it runs, so a death by the
// out-of-memory killer can report how big the worker got and what the machine had.

import { formatBytes, processMemory } from '../util/memory';

/** How often the parent samples the worker's resident memory. */
const MEMORY_SAMPLE_MS = 250;

export interface WorkerDeath {
  kind: string;
  signal: string | null;
  exitCode: number | null;
  /** Highest sampled RSS of the worker (bytes), if any sample was taken. */
  peakRss?: number;
  /** OOM-kill counter before the job and after the worker died (undefined where the kernel does not say). */
  oomKillsBefore?: number;
  oomKillsAfter?: number;
  memory: { total: number; available: number };
  hint?: string;
  lastStderr?: string;
}

/**
 * Why a worker ended without answering, in one sentence. SIGKILL plus a grown OOM-kill counter is the
 * kernel's out-of-memory killer (proc(5): /proc/vmstat oom_kill); without the counter, SIGKILL at a peak
 * above 80 % of the memory that was available is called a probable out-of-memory death.
 */
export function describeWorkerDeath(d: WorkerDeath): { message: string; outOfMemory: boolean } {
  const counted = d.oomKillsBefore !== undefined && d.oomKillsAfter !== undefined;
  const oom = d.signal === 'SIGKILL' && (counted ? d.oomKillsAfter! > d.oomKillsBefore! : d.peakRss !== undefined && d.peakRss > 0.8 * d.memory.available);
  if (oom) {
    const peak = d.peakRss !== undefined ? ` at a peak of ${formatBytes(d.peakRss)} resident` : '';
    const machine = `this machine has ${formatBytes(d.memory.total)}, ${formatBytes(d.memory.available)} of it available when the job started`;
    const fit = d.hint ?? 'close other programs, or lower --batch / --seq-len';
    return { outOfMemory: true, message: `the worker for job "${d.kind}" ran out of memory: ${counted ? "the kernel's out-of-memory killer stopped it" : 'it was killed (SIGKILL), probably by the out-of-memory killer,'}${peak} (${machine}); ${fit}` };
  }
  const how = d.signal ? `was killed by signal ${d.signal}` : `exited with code ${d.exitCode ?? 'unknown'}`;
  const peak = d.peakRss !== undefined ? `; peak memory ${formatBytes(d.peakRss)}` : '';
  return { outOfMemory: false, message: `the worker for job "${d.kind}" ${how} before sending a result${d.lastStderr ? ` (last stderr line: ${d.lastStderr})` : ''}${peak}` };
}

/** The highest resident memory of a process, sampled until stop(). */
export class PeakMemorySampler {
  peak: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(pid: () => number | undefined) {
    this.timer = setInterval(() => {
      const p = pid();
      const m = p !== undefined ? processMemory(p) : undefined;
      if (m) this.peak = Math.max(this.peak ?? 0, m.peak, m.rss);
    }, MEMORY_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
