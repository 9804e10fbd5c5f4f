// The webview side of the host connection: the one acquireVsCodeApi() handle, typed posting, and
// validated receiving. Page errors are reported to the host's log instead of vanishing.

import { parseHostMessage, WEBVIEW_PROTOCOL_VERSION, type HostMessage, type WebviewMessage } from '../protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const api: VsCodeApi = acquireVsCodeApi();

export function post(msg: WebviewMessage): void {
  api.postMessage(msg);
}

export function getState<T>(): T | undefined {
  return (api.getState() as T | null) ?? undefined;
}

export function setState(state: unknown): void {
  api.setState(state);
}

/** Subscribes to host messages (invalid ones are reported and dropped), then announces the view. */
export function connect(view: 'compress' | 'importance' | 'curves', handler: (m: HostMessage) => void): void {
  // Until the first state arrives, repeat "ready": a page restored after a reload can announce itself
  // before the extension has activated and attached its listener, and that first message is lost.
  // Every second for half a minute, then every 5 s: restoring a window with several panels can take
  // longer than that (code-server after a reload), and a page that stopped asking stays blank.
  let answered = false;
  let tries = 0;
  const ask = () => {
    if (answered) return;
    post({ type: 'ready', view, protocol: WEBVIEW_PROTOCOL_VERSION });
    setTimeout(ask, ++tries < 30 ? 1000 : 5000);
  };
  setTimeout(ask, 1000);
  window.addEventListener('message', (e: MessageEvent) => {
    answered = true;
    let m: HostMessage;
    try {
      m = parseHostMessage(e.data);
    } catch (err) {
      post({ type: 'log', level: 'error', text: (err as Error).message });
      return;
    }
    try {
      handler(m);
    } catch (err) {
      post({ type: 'log', level: 'error', text: `${m.type}: ${(err as Error).stack ?? String(err)}` });
    }
  });
  window.addEventListener('error', (e) => post({ type: 'log', level: 'error', text: `${e.message} (${e.filename}:${e.lineno})` }));
  post({ type: 'ready', view, protocol: WEBVIEW_PROTOCOL_VERSION });
}
