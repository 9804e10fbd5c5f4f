// Side-by-side measurement for the compute benches: the project's runs and the PyTorch side's
// (bench/python.ts) alternate in rounds, so a busy neighbour on a shared machine slows both alike; each
// side's best (and median) over the rounds, the ratio of the bests, and the load average around them.

import { loadavg } from 'node:os';
import type { PythonSide } from './python';

export const best = (xs: readonly number[]) => Math.min(...xs);
export const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** /proc/loadavg's three averages (1, 5, 15 min), as the benches print them beside their figures. */
export function loadLine(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SideBySide {
  /** Our measurements by name, in milliseconds. */
  ours: Record<string, number[]>;
  theirs: number[];
  /** Why the PyTorch side stopped, when it did (its measurements so far are kept). */
  theirsError?: string;
  /** Load averages seen before each round. */
  loads: string[];
}

/**
 * `rounds` rounds of: each of our measurements in turn (each call returns its milliseconds), then
 * `theirsPerRound` of the PyTorch side's. A short pause before each block lets the other block's spinning
 * threads settle.
 */
export async function alternate(rounds: number, ours: Record<string, () => Promise<number>>, theirs: PythonSide | undefined, theirsPerRound = 1): Promise<SideBySide> {
  const r: SideBySide = { ours: Object.fromEntries(Object.keys(ours).map((k) => [k, [] as number[]])), theirs: [], loads: [] };
  for (let i = 0; i < rounds; i++) {
    r.loads.push(loadLine());
    for (const [k, f] of Object.entries(ours)) {
      await pause(100);
      r.ours[k]!.push(await f());
    }
    if (theirs && !r.theirsError) {
      await pause(100);
      const t = await theirs.run(theirsPerRound);
      if (t.ok) r.theirs.push(...t.result);
      else r.theirsError = t.error;
    }
  }
  return r;
}

export interface Row {
  what: string;
  ours: string;
  theirs: string;
  ratio: string;
  target?: string;
  met?: boolean;
}

/** A markdown table (what the closing notes quote), with a met/missed column when rows have targets. */
export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  const withTarget = rows.some((r) => r.target !== undefined);
  console.log(`| | ours | transformers | ratio |${withTarget ? ' target | |' : ''}`);
  console.log(`|---|---:|---:|---:|${withTarget ? '---:|---|' : ''}`);
  for (const r of rows) {
    const t = withTarget ? ` ${r.target ?? ''} | ${r.met === undefined ? '' : r.met ? 'met' : 'missed'} |` : '';
    console.log(`| ${r.what} | ${r.ours} | ${r.theirs} | ${r.ratio} |${t}`);
  }
}

/** "best 123.4 ms (median 130.1, n 7)". */
export function describeMs(xs: readonly number[]): string {
  return xs.length === 0 ? '—' : `best ${best(xs).toFixed(1)} ms (median ${median(xs).toFixed(1)}, n ${xs.length})`;
}

/**
 * What a time target leaves for the work beyond a GEMM floor, against what that work takes now: the
 * line that shows whether a missed target is a matter of our overhead or of the machine (a target below
 * the floor cannot be met by any engine at ORT's GEMM rate).
 */
export function budgetLine(o: { target: string; allowedMs: number; floorMs: number; floorWhat: string; oursMs: number; restWhat: string }): string {
  const share = ((100 * o.floorMs) / o.allowedMs).toFixed(0);
  const left = o.allowedMs - o.floorMs;
  const rest = o.oursMs - o.floorMs;
  const now = `${rest.toFixed(0)} ms now`;
  if (left <= 0) return `${o.target} allows ${o.allowedMs.toFixed(0)} ms: less than ${o.floorWhat} alone take (${o.floorMs.toFixed(0)} ms, ${share}% of it), so no engine at ORT's GEMM rate meets it here; ${o.restWhat} take ${now}`;
  return `${o.target} allows ${o.allowedMs.toFixed(0)} ms: ${o.floorWhat} alone take ${o.floorMs.toFixed(0)} ms (${share}% of it), leaving ${left.toFixed(0)} ms for ${o.restWhat}, which take ${now} (${rest > left ? `${(rest / left).toFixed(1)}× the allowance` : 'within it'})`;
}
