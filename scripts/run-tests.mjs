// Runs every test/**/*.test.ts with node's built-in runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--suffix .conformance.ts] [filter-substring ...]
// The default suffix is .test.ts (the normal suite); tiers with an outside oracle use their own suffix.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const at = args.indexOf('--suffix');
const suffix = at >= 0 ? args.splice(at, 2)[1] : '.test.ts';
const filters = args;
const files = collect('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
