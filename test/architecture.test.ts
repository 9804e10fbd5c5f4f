// The house rules of the source tree, checked on every test run: src/core never imports vscode, the shells
// or the webviews; its areas import only downward (test/architecture-layers.mjs); webview bundles import
// nothing from src/ but pure modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
// @ts-expect-error plain .mjs shared with scripts/architecture-report.mjs
import { CORE_LAYERS, coreArea } from './architecture-layers.mjs';

const ROOT = resolve(__dirname, '..');
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}
function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)[^;]*?from '([^']+)'/gm)].map((m) => m[1]!);
}
const layers = CORE_LAYERS as string[];
const area = coreArea as (rel: string) => string | undefined;

test('src/core imports only downward, never vscode, the shells or the webviews', () => {
  const bad: string[] = [];
  for (const f of files(join(ROOT, 'src/core'))) {
    const rel = relative(ROOT, f);
    const from = area(rel)!;
    assert.ok(layers.includes(from), `${rel}: area "${from}" is not in test/architecture-layers.mjs`);
    for (const spec of imports(f)) {
      if (spec === 'vscode') bad.push(`${rel} imports vscode`);
      if (!spec.startsWith('.')) continue;
      const target = relative(ROOT, resolve(dirname(f), spec));
      if (!target.startsWith('src/core/')) bad.push(`${rel} imports ${target} (outside src/core)`);
      const to = area(target);
      if (to && to !== from && layers.indexOf(to) > layers.indexOf(from)) bad.push(`${rel} (${from}) imports ${spec} (${to}), a higher area`);
    }
  }
  assert.deepEqual(bad, []);
});

test('webview bundles import from src/ only pure modules (no node, no vscode)', () => {
  const allowed = new Set(['src/core/runs/metric-point', 'src/core/prune/axes', 'src/core/runtime/device-names']);
  const bad: string[] = [];
  for (const f of files(join(ROOT, 'webview'))) {
    for (const spec of imports(f)) {
      if (spec.startsWith('node:') || spec === 'vscode') bad.push(`${relative(ROOT, f)} imports ${spec}`);
      if (!spec.startsWith('.')) continue;
      const target = relative(ROOT, resolve(dirname(f), spec));
      if (target.startsWith('src/') && !allowed.has(target)) bad.push(`${relative(ROOT, f)} imports ${target}`);
    }
  }
  for (const m of allowed) assert.ok(!imports(join(ROOT, `${m}.ts`)).length, `${m} must stay import-free`);
  assert.deepEqual(bad, []);
});
