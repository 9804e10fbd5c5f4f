import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSecurityPolicy, makeNonce, webviewHtml } from '../../src/extension/viewmodel/webview-html';
import { gridStep, heatLayout, normaliseRow } from '../../webview/importance/layout';

test('webview HTML: strict CSP with the script nonce, nothing inline or remote', () => {
  const html = webviewHtml({ cspSource: 'https://x.vscode-cdn.net', scriptUri: 'https://x.vscode-cdn.net/dist/webview/compress.js', styleUris: ['https://x.vscode-cdn.net/media/webview.css'], title: 'T "q"', view: 'compress', nonce: 'abc123' });
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  assert.equal((html.match(/<script /g) ?? []).length, 1);
  assert.match(html, /<script nonce="abc123" src="https:\/\/x\.vscode-cdn\.net\/dist\/webview\/compress\.js"><\/script>/);
  assert.doesNotMatch(html, /style="/);
  assert.doesNotMatch(html, /http:\/\//);
  assert.match(html, /<title>T &quot;q&quot;<\/title>/);
  assert.match(contentSecurityPolicy('S', 'n'), /^default-src 'none'; script-src 'nonce-n'; style-src S; font-src S; img-src S data: blob:$/);
  const a = makeNonce();
  assert.match(a, /^[A-Za-z0-9]{16,}$/);
  assert.notEqual(a, makeNonce());
});

test('heatmap layout: one cell per head and layer, group lines between groups, arrow keys stay in the grid', () => {
  const rows = [0, 2, 4].map((layer) => ({ layer, cells: Array.from({ length: 8 }, (_, head) => ({ head, group: head >> 2, score: head * (layer + 1), kept: true })) }));
  const L = heatLayout(rows, 8, 2, 400);
  assert.equal(L.cells.length, 24);
  assert.deepEqual(L.groupLines, [34 + 4 * L.cellW]);
  assert.equal(L.cells[9]!.x, 34 + L.cellW);
  assert.equal(L.cells[9]!.y, L.cellH);
  assert.deepEqual(normaliseRow(rows[1]!.cells), [0, 1, 2, 3, 4, 5, 6, 7].map((i) => i / 7));
  assert.deepEqual(normaliseRow([{ head: 0, group: 0, score: 2, kept: true }, { head: 1, group: 0, score: 2, kept: true }]), [1, 1]);
  assert.equal(gridStep(0, 'ArrowLeft', 8, 24), 0);
  assert.equal(gridStep(0, 'ArrowDown', 8, 24), 8);
  assert.equal(gridStep(20, 'ArrowDown', 8, 24), 20);
  assert.equal(gridStep(10, 'End', 8, 24), 15);
  assert.equal(gridStep(10, 'Home', 8, 24), 8);
  assert.equal(gridStep(10, 'x', 8, 24), 10);
});
