// The data file a Compress panel asks a job to read. The panel is a web page: what it sends is not trusted,
// so the host accepts only a regular file inside one of the workspace folders (real paths: no "..", no
// symbolic link out of the workspace). No vscode import (unit-tested).

import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { HybridCompressError } from '../../core/errors';
import { isInside } from '../../core/runs/output-guard';

/** The real path of the data file `value` (workspace-relative, as the panel lists them, or absolute) if it lies in a workspace folder. */
export function checkDataFile(value: string, workspaceFolders: readonly string[]): string {
  const roots = workspaceFolders.filter((r) => existsSync(r)).map((r) => realpathSync(r));
  const candidates = isAbsolute(value) ? [value] : workspaceFolders.map((r) => resolve(r, value));
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const real = realpathSync(c);
    if (!roots.some((r) => isInside(r, real))) continue;
    if (!statSync(real).isFile()) throw new HybridCompressError('OPTION_INVALID', `data file ${JSON.stringify(value)} is not a regular file`, { option: 'data', file: real });
    return real;
  }
  throw new HybridCompressError('OPTION_INVALID', `data file ${JSON.stringify(value)} is not a file inside this workspace; choose one with "Browse…"`, { option: 'data' });
}
