import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration, keyFigure, runSummary } from '../../src/extension/viewmodel/run-summary';

const root = join(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

test('every contributed command is registered by the extension, and every registered command is contributed', () => {
  const src = readdirSync(join(root, 'src/extension')).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(root, 'src/extension', f), 'utf8')).join('\n');
  const registered = new Set([...src.matchAll(/registerCommand\('([^']+)'/g)].map((m) => m[1]!));
  const contributed = new Set<string>(pkg.contributes.commands.map((c: { command: string }) => c.command));
  assert.deepEqual([...registered].sort(), [...contributed].sort());
  for (const [menu, items] of Object.entries(pkg.contributes.menus as Record<string, { command: string }[]>)) for (const i of items) assert.ok(contributed.has(i.command), `${menu}: ${i.command}`);
});

test('activation and trust: no "*" activation, serializers have onWebviewPanel events, limited trust declared', () => {
  assert.ok(!pkg.activationEvents.includes('*'));
  for (const v of ['hybridCompress.compress', 'hybridCompress.curves']) assert.ok(pkg.activationEvents.includes(`onWebviewPanel:${v}`), v);
  assert.ok(pkg.activationEvents.includes('onTaskType:hybrid-compress'));
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  const views = pkg.contributes.views.hybridCompress.map((v: { id: string }) => v.id);
  assert.deepEqual(views, ['hybridCompress.checkpoints', 'hybridCompress.importance', 'hybridCompress.runs']);
  const explorer = pkg.contributes.menus['explorer/context'].find((m: { command: string }) => m.command === 'hybridCompress.compressModel');
  assert.match(explorer.when, /resourcePath in hybridCompress\.checkpointFolders/);
  assert.match(explorer.when, /resourcePath in hybridCompress\.checkpointFiles/);
});

test('the extension bundle’s sources never import onnxruntime-node', () => {
  const files = readdirSync(join(root, 'src/extension'), { recursive: true }) as string[];
  for (const f of files.filter((x) => x.endsWith('.ts'))) assert.doesNotMatch(readFileSync(join(root, 'src/extension', f), 'utf8'), /(from|require\(|import\() *['"][^'"]*(onnxruntime-node|jobs\/handlers|jobs\/worker)/, f);
});

test('run summaries: status, duration and key figure', () => {
  assert.equal(formatDuration(4.25), '4.3s');
  assert.equal(formatDuration(75), '1m 15s');
  assert.equal(formatDuration(7300), '2h 1m');
  assert.equal(keyFigure({ final_loss: 1.23456 }), 'final loss 1.2346');
  assert.equal(keyFigure({ params: 4_489_223_040 }), '4.49B params');
  assert.equal(keyFigure('x'), undefined);
  const s = runSummary({ id: 'i', kind: 'distill', status: 'done', created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:01:00Z', inputs: { student: '/w/m/student' }, settings: {}, timings: { total: 61 }, result: { final_loss: 2 }, dir: '/w/r' });
  assert.deepEqual([s.label, s.description], ['distill · student', 'done · 1m 1s · final loss 2.0000']);
  const running = runSummary({ id: 'i', kind: 'calibrate', status: 'running', created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z', inputs: {}, settings: {}, timings: {}, dir: '/w/r' }, Date.parse('2026-01-01T00:00:30Z'));
  assert.equal(running.description, 'running · 30s');
});
