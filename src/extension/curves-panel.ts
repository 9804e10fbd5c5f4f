// Live loss-curve panels, one per run folder (or metrics file). Points come from the curve store, which
// the job service feeds from the worker's metric messages; the panel also tails the run's metrics.jsonl
// so finished runs, runs started from the CLI and runs in other windows draw the same way.

import * as vscode from 'vscode';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { readRun } from '../core/runs/index';
import type { WebviewMessage } from '../../webview/protocol';
import type { CurveStore } from './viewmodel/curve-store';
import { followCurves } from './curve-sources';
import { WebviewBridge } from './webview-bridge';
import { METRICS_FILE, RUN_FILE } from '../core/runs/layout';

export const CURVES_VIEW_TYPE = 'hybridCompress.curves';

interface Entry {
  key: string;
  panel: vscode.WebviewPanel;
  bridge: WebviewBridge;
  stop: () => void;
  timer: ReturnType<typeof setInterval> | undefined;
  unsubscribe: () => void;
}

export class CurvesPanels implements vscode.Disposable, vscode.WebviewPanelSerializer<{ key?: string }> {
  readonly #panels = new Map<string, Entry>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly store: CurveStore,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Opens (or reveals) the curves of a run folder or a metrics/log file. */
  open(path: string, preserveFocus = false): void {
    const key = normaliseKey(path);
    const existing = this.#panels.get(key);
    if (existing) {
      existing.panel.reveal(undefined, preserveFocus);
      return;
    }
    const panel = vscode.window.createWebviewPanel(CURVES_VIEW_TYPE, `Curves: ${basename(key)}`, { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, {});
    this.#attach(panel, key);
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: { key?: string } | undefined): Promise<void> {
    if (typeof state?.key !== 'string' || !existsSync(state.key)) {
      panel.dispose();
      return;
    }
    this.#attach(panel, state.key);
  }

  #attach(panel: vscode.WebviewPanel, key: string): void {
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'icon.svg');
    this.store.ensure(key, panel.title.replace(/^Curves: /, ''), key);
    const bridge = new WebviewBridge(panel.webview, this.context.extensionUri, 'curves', panel.title, (m) => this.#onMessage(key, m), this.log);
    const unsubscribe = this.store.subscribe((e) => {
      if (e.key !== key) return;
      if ('reset' in e) {
        const s = this.store.snapshot(key);
        if (s) bridge.post({ type: 'curves/state', state: s });
      } else bridge.post({ type: 'curves/append', key, from: e.from, points: e.points, status: e.status });
    });
    const entry: Entry = { key, panel, bridge, stop: () => undefined, timer: undefined, unsubscribe };
    this.#panels.set(key, entry);
    void this.#startTail(entry);
    panel.onDidDispose(() => {
      if (entry.timer) clearInterval(entry.timer);
      entry.stop();
      unsubscribe();
      bridge.dispose();
      if (this.#panels.get(key) === entry) this.#panels.delete(key);
    });
  }

  async #startTail(e: Entry): Promise<void> {
    const abort = new AbortController();
    e.stop = () => abort.abort();
    // Status of a run folder (run.json), polled beside the points.
    e.timer = setInterval(() => {
      void runStatus(e.key).then((s) => s && this.store.setStatus(e.key, s));
    }, 1000);
    try {
      await followCurves(
        e.key,
        {
          onPoints: (points, reset) => {
            if (reset) this.store.clear(e.key);
            this.store.add(e.key, points);
          },
          onWarning: (m) => this.log.warn(`curves ${e.key}: ${m}`),
        },
        abort.signal,
      );
    } catch (err) {
      if (!abort.signal.aborted) this.log.warn(`curves ${e.key}: ${(err as Error).message}`);
    }
  }

  async #onMessage(key: string, m: WebviewMessage): Promise<void> {
    const e = this.#panels.get(key);
    if (!e) return;
    if (m.type === 'ready' || m.type === 'curves/resync') {
      this.store.flush();
      const s = this.store.snapshot(key);
      if (s) e.bridge.post({ type: 'curves/state', state: s });
      return;
    }
    if (m.type === 'curves/export') {
      const base = existsSync(key) && statSync(key).isDirectory() ? key : dirname(key);
      const target = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(join(base, `curves.${m.format}`)),
        filters: m.format === 'svg' ? { SVG: ['svg'] } : { PNG: ['png'] },
      });
      if (!target) return;
      const bytes = m.format === 'svg' ? Buffer.from(m.data, 'utf8') : Buffer.from(m.data.slice(m.data.indexOf(',') + 1), 'base64');
      await writeFile(target.fsPath, bytes);
      void vscode.window.showInformationMessage(`Saved ${vscode.workspace.asRelativePath(target, false)}`);
    }
  }

  dispose(): void {
    for (const e of this.#panels.values()) e.panel.dispose();
  }
}

function normaliseKey(path: string): string {
  // A run's metrics.jsonl and its folder are the same curve.
  return basename(path) === METRICS_FILE ? dirname(path) : path;
}

async function runStatus(key: string): Promise<'running' | 'done' | 'failed' | 'cancelled' | undefined> {
  if (!existsSync(join(key, RUN_FILE))) return undefined;
  try {
    const run = await readRun(key);
    // A cluster recipe's run.json says "done" once the scripts are written; the training it prepares
    // runs elsewhere, so its curves stay "following".
    return run.kind === 'distill-external' ? undefined : run.status;
  } catch {
    return undefined;
  }
}
