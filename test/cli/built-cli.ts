// Whether dist/cli.js (what `npm run build` writes) is at least as new as every file under src/: the CLI
// test and the benches that run the built CLI use it to tell a current build from a stale one.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const BUILT_CLI = join(REPO_ROOT, 'dist', 'cli.js');

function newestMtime(dir: string): number {
  let m = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    m = Math.max(m, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return m;
}

/** dist/cli.js exists and no source file is newer. */
export function builtCliIsFresh(): boolean {
  return existsSync(BUILT_CLI) && statSync(BUILT_CLI).mtimeMs >= newestMtime(join(REPO_ROOT, 'src'));
}
