// Prints the shape of the code: files and lines per folder, and imports between src/core areas that run
// against the layering of test/architecture.test.ts (lower areas never import higher ones).
// Usage: node scripts/architecture-report.mjs [repo-root]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { CORE_LAYERS, coreArea } from '../test/architecture-layers.mjs';

const root = resolve(process.argv[2] ?? '.');
function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.(ts|mjs|js)$/.test(name)) out.push(p);
  }
  return out;
}
const groups = new Map();
for (const top of ['src/core', 'src/cli', 'src/extension', 'webview', 'scripts', 'bench', 'test']) {
  let dir;
  try {
    dir = join(root, top);
    statSync(dir);
  } catch {
    continue;
  }
  for (const f of walk(dir)) {
    const rel = relative(root, f);
    const key = top === 'src/core' ? rel.split('/').slice(0, 3).join('/') : top;
    const g = groups.get(key) ?? { files: 0, lines: 0 };
    g.files++;
    g.lines += readFileSync(f, 'utf8').split('\n').length;
    groups.set(key, g);
  }
}
console.log('folder'.padEnd(28), 'files'.padStart(6), 'lines'.padStart(7));
for (const [k, g] of [...groups].sort()) console.log(k.padEnd(28), String(g.files).padStart(6), String(g.lines).padStart(7));

let upward = 0;
for (const f of walk(join(root, 'src/core'))) {
  const from = coreArea(relative(root, f));
  const text = readFileSync(f, 'utf8');
  for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
    const target = coreArea(relative(root, resolve(dirname(f), m[1])));
    if (!from || !target || from === target) continue;
    if (CORE_LAYERS.indexOf(target) > CORE_LAYERS.indexOf(from)) {
      upward++;
      console.log(`upward import: ${relative(root, f)} (${from}) → ${m[1]} (${target})`);
    }
  }
}
console.log(`imports that run upward between src/core areas: ${upward}`);
