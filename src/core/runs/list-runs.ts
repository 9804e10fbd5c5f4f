// Lists the runs of a workspace for the extension's Runs tree and the CLI. Read-only (it also
// serves untrusted workspaces): a run still marked "running" whose owner process is gone is
// reported as "interrupted" without rewriting its run.json.

import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describeError } from '../errors';
import { isProcessAlive } from './process-alive';
import { readRun, runsRoot } from './run-folder';
import type { RunRecord, RunStatus } from './run-record';

export type ListedRunStatus = RunStatus | 'interrupted';

export type ListedRun = Omit<RunRecord, 'status'> & {
  status: ListedRunStatus;
  /** Absolute path of the run folder. */
  dir: string;
};

export interface RunListing {
  /** Newest first. */
  runs: ListedRun[];
  /** Folders under the runs root whose run.json is missing or invalid, with the reason. */
  problems: { dir: string; message: string }[];
}

/** A "running" record whose owner process on this host has exited. Runs owned by another host are left as they are. */
export function isInterrupted(record: RunRecord, alive: (pid: number) => boolean = isProcessAlive): boolean {
  if (record.status !== 'running' || record.pid === undefined) return false;
  if (record.host !== undefined && record.host !== hostname()) return false;
  return !alive(record.pid);
}

export async function listRuns(workspaceDir: string): Promise<RunListing> {
  const root = runsRoot(workspaceDir);
  const listing: RunListing = { runs: [], problems: [] };
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return listing;
    listing.problems.push({ dir: root, message: describeError(e) });
    return listing;
  }
  await Promise.all(
    entries
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map(async (d) => {
        const dir = join(root, d.name);
        try {
          const rec = await readRun(dir);
          listing.runs.push({ ...rec, status: isInterrupted(rec) ? 'interrupted' : rec.status, dir });
        } catch (e) {
          listing.problems.push({ dir, message: describeError(e) });
        }
      }),
  );
  listing.runs.sort((a, b) => (a.created === b.created ? b.id.localeCompare(a.id) : Date.parse(b.created) - Date.parse(a.created)));
  listing.problems.sort((a, b) => a.dir.localeCompare(b.dir));
  return listing;
}
