// Finds the importance scores to show for a model: its latest finished calibration run holding
// importance.safetensors (format: src/core/calibrate/importance-file.ts).

import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { listRuns, type ListedRun } from '../core/runs/index';
import { IMPORTANCE_FILE } from '../core/runs/layout';


function mentions(run: ListedRun, dir: string): boolean {
  const want = resolve(dir);
  return Object.values(run.inputs).some((v) => typeof v === 'string' && resolve(v) === want);
}

export async function calibrationRuns(): Promise<ListedRun[]> {
  const out: ListedRun[] = [];
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    if (f.uri.scheme !== 'file') continue;
    const { runs } = await listRuns(f.uri.fsPath);
    out.push(...runs.filter((r) => r.kind === 'calibrate' && r.status === 'done' && existsSync(join(r.dir, IMPORTANCE_FILE))));
  }
  return out.sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
}

/** Latest calibration for `dir`, or (no dir) the latest of all with the model it scored. */
export async function latestCalibration(dir?: string): Promise<{ run: ListedRun; model?: string } | undefined> {
  const runs = await calibrationRuns();
  if (dir) {
    const run = runs.find((r) => mentions(r, dir));
    return run && { run, model: dir };
  }
  const run = runs[0];
  if (!run) return undefined;
  const m = run.inputs['model'];
  return { run, ...(typeof m === 'string' ? { model: m } : {}) };
}
