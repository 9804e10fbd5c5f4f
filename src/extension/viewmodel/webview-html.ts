// The HTML shell of every webview: one bundled script carrying a fresh nonce, our stylesheet, and a
// strict Content-Security-Policy — nothing inline, nothing remote. A nonce without the CSP meta tag
// would enforce nothing, so both are produced here, together. No vscode import (unit-tested).

import { randomBytes } from 'node:crypto';

export interface WebviewHtmlOptions {
  /** webview.cspSource: the origin the webview serves our local resources from. */
  cspSource: string;
  /** webview.asWebviewUri(...) of the view's bundle and stylesheets, as strings. */
  scriptUri: string;
  styleUris: string[];
  title: string;
  /** Which view the bundle renders (read by the script from <body data-view>). */
  view: 'compress' | 'importance' | 'curves';
  nonce?: string;
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[+/=]/g, '');
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The policy: no default sources; scripts only with the nonce; styles and fonts only from our bundle
 * (d3 sets styles through the CSSOM, which style-src does not govern; the toolkit uses constructable
 * stylesheets); images from the bundle or data: URLs (PNG export draws the SVG into a canvas via one).
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data: blob:`,
  ].join('; ');
}

export function webviewHtml(o: WebviewHtmlOptions): string {
  const nonce = o.nonce ?? makeNonce();
  const styles = o.styleUris.map((u) => `<link rel="stylesheet" href="${escapeAttr(u)}">`).join('\n    ');
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(o.cspSource, nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    ${styles}
    <title>${escapeAttr(o.title)}</title>
  </head>
  <body data-view="${o.view}">
    <main id="app" aria-live="polite"><p class="muted">Loading…</p></main>
    <script nonce="${nonce}" src="${escapeAttr(o.scriptUri)}"></script>
  </body>
</html>`;
}
