// Wires one webview (panel or sidebar view) to the host: locked-down options and HTML, every incoming
// message validated against the shared protocol, and a snapshot sent whenever the page (re)announces
// itself with "ready" — the host owns the state, so a webview that was hidden and recreated (no
// retainContextWhenHidden) or restored after a reload simply asks again.

import * as vscode from 'vscode';
import { parseWebviewMessage, type HostMessage, type WebviewMessage } from '../../webview/protocol';
import { webviewHtml } from './viewmodel/webview-html';

export type ViewName = 'compress' | 'importance' | 'curves';

/** Webviews may load only our bundle and media folder. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')] };
}

export class WebviewBridge implements vscode.Disposable {
  readonly #disposables: vscode.Disposable[] = [];

  constructor(
    readonly webview: vscode.Webview,
    extensionUri: vscode.Uri,
    view: ViewName,
    title: string,
    private readonly handler: (msg: WebviewMessage) => void | Promise<void>,
    private readonly log: vscode.LogOutputChannel,
  ) {
    webview.options = webviewOptions(extensionUri);
    const uri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
    webview.html = webviewHtml({
      cspSource: webview.cspSource,
      scriptUri: uri('dist', 'webview', `${view}.js`),
      styleUris: [uri('media', 'webview.css')],
      title,
      view,
    });
    this.#disposables.push(
      webview.onDidReceiveMessage(async (raw: unknown) => {
        let msg: WebviewMessage;
        try {
          msg = parseWebviewMessage(raw);
        } catch (e) {
          this.log.error(`${view} webview: ${(e as Error).message}`);
          return;
        }
        if (msg.type === 'log') {
          (msg.level === 'error' ? this.log.error : this.log.info).call(this.log, `${view} webview: ${msg.text}`);
          return;
        }
        try {
          await this.handler(msg);
        } catch (e) {
          this.log.error(`${view}: handling ${msg.type} failed: ${(e as Error).message}`);
          void vscode.window.showErrorMessage(`Hybrid Compress: ${(e as Error).message}`);
        }
      }),
    );
  }

  post(msg: HostMessage): void {
    // A hidden webview drops messages; the next "ready" fetches a fresh snapshot anyway.
    void this.webview.postMessage(msg);
  }

  dispose(): void {
    for (const d of this.#disposables) d.dispose();
  }
}
