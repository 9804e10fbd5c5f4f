// The Importance view (sidebar webview): the scores of the focused model's latest calibration with the
// kept/cut line of its current targets. Follows the Compress panel and the Checkpoints tree.

import * as vscode from 'vscode';
import { join } from 'node:path';
import { describeError } from '../core/errors';
import { loadImportance } from '../core/calibrate/importance-file';
import type { ImportanceViewState, Targets, WebviewMessage } from '../../webview/protocol';
import type { ModelCache } from './models';
import { latestCalibration } from './importance-source';
import { IMPORTANCE_FILE } from '../core/runs/layout';
import { importanceVM } from './viewmodel/importance-vm';
import { WebviewBridge } from './webview-bridge';

export const IMPORTANCE_VIEW_ID = 'hybridCompress.importance';

export class ImportanceView implements vscode.WebviewViewProvider, vscode.Disposable {
  #bridge: WebviewBridge | undefined;
  #view: vscode.WebviewView | undefined;
  #model: string | undefined;
  #targets: Targets = {};

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly models: ModelCache,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.#view = view;
    this.#bridge = new WebviewBridge(view.webview, this.context.extensionUri, 'importance', 'Importance', (m) => this.#onMessage(m), this.log);
    view.onDidChangeVisibility(() => {
      if (view.visible) void this.refresh();
    });
    view.onDidDispose(() => {
      this.#bridge?.dispose();
      this.#bridge = undefined;
      this.#view = undefined;
    });
  }

  focus(dir: string, targets: Targets): void {
    const changed = dir !== this.#model || JSON.stringify(targets) !== JSON.stringify(this.#targets);
    this.#model = dir;
    this.#targets = targets;
    if (changed) void this.refresh();
  }

  async #onMessage(m: WebviewMessage): Promise<void> {
    if (m.type === 'ready' || m.type === 'importance/refresh') await this.refresh();
  }

  async refresh(): Promise<void> {
    if (!this.#bridge || !this.#view?.visible) return;
    const state = await this.#compute();
    this.#view.description = state.kind === 'scores' ? state.state.model.name : undefined;
    this.#bridge.post({ type: 'importance/state', state });
  }

  async #compute(): Promise<ImportanceViewState> {
    const found = await latestCalibration(this.#model);
    if (!found) {
      const what = this.#model ? vscode.workspace.asRelativePath(this.#model, false) : 'any model';
      return { kind: 'empty', message: `No finished calibration run for ${what}. Run "Calibrate" from the Compress panel (right-click a checkpoint → Compress Model…) or a hybrid-compress calibrate task.` };
    }
    const dir = found.model ?? this.#model;
    if (!dir) return { kind: 'empty', message: `${found.run.dir}: run.json does not name the model it scored (inputs.model)` };
    const r = await this.models.get(dir);
    if (!r.ok) return { kind: 'empty', message: r.error };
    try {
      const scores = await loadImportance(join(found.run.dir, IMPORTANCE_FILE));
      const data = found.run.inputs['data'];
      const state = importanceVM(r.model.spec, scores, dir === this.#model ? this.#targets : {}, {
        id: found.run.id,
        dir: found.run.dir,
        created: found.run.created,
        ...(typeof data === 'string' ? { data } : {}),
      }, dir);
      return { kind: 'scores', state };
    } catch (e) {
      return { kind: 'empty', message: describeError(e) };
    }
  }

  dispose(): void {
    this.#bridge?.dispose();
  }
}
