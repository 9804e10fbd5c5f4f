// The Compress panel: one webview panel per checkpoint, restored after a reload by its serializer.
// Shows the architecture, per-axis target controls with only legal values, the live parameter count
// and size, the calibration data picker and the buttons that start tasks.

import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AXIS_KEYS, type AxisKey, type CompressAction, type CompressForm, type CompressState, type Targets, type WebviewMessage } from '../../webview/protocol';
import type { JobService } from './jobs';
import type { ModelCache } from './models';
import { latestCalibration } from './importance-source';
import { makeTask } from './tasks';
import { compressAxes, estimateTargets, formatParams, toPruneTargets } from './viewmodel/model-vm';
import { TASK_TYPE } from './viewmodel/task-params';
import { WebviewBridge } from './webview-bridge';
import { checkDataFile } from './viewmodel/data-file';
import { describeError } from '../core/errors';

export const COMPRESS_VIEW_TYPE = 'hybridCompress.compress';

const DEFAULT_FORM: CompressForm = { dataFile: '', samples: 256, seqLen: 512, device: 'auto', targetParams: '', steps: 100 };

interface PanelEntry {
  dir: string;
  panel: vscode.WebviewPanel;
  bridge: WebviewBridge;
}

export interface CompressHooks {
  /** The user moved a target or opened a model: the Importance view follows. */
  onFocusModel(dir: string, targets: Targets): void;
  /** Whether `dir` is one of the workspace's checkpoint folders (a restored panel's saved folder is re-checked here). */
  isCheckpoint(dir: string): Promise<boolean>;
  /** "Distill on cluster…": asks for the recipe's inputs; the distill-external task definition, or undefined if the user backed out. */
  askClusterRecipe(teacher: string, form: CompressForm): Promise<vscode.TaskDefinition | undefined>;
}

export class CompressPanels implements vscode.Disposable, vscode.WebviewPanelSerializer<{ dir?: string }> {
  readonly #panels = new Map<string, PanelEntry>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly models: ModelCache,
    private readonly jobs: JobService,
    private readonly hooks: CompressHooks,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  targets(dir: string): Targets {
    // Stored by this or an earlier version (which called the FFN axis intermediateSize): keep known axes only.
    const stored = this.context.workspaceState.get<Record<string, unknown>>(`targets:${dir}`) ?? {};
    const t: Targets = {};
    for (const [k, v] of Object.entries(stored)) {
      const key = k === 'intermediateSize' ? 'ffnHiddenSize' : k;
      if ((AXIS_KEYS as readonly string[]).includes(key) && Number.isInteger(v) && (v as number) >= 1) t[key as AxisKey] = v as number;
    }
    return t;
  }

  form(dir: string): CompressForm {
    return { ...DEFAULT_FORM, ...this.context.workspaceState.get<Partial<CompressForm>>(`form:${dir}`) };
  }

  open(dir: string): void {
    const existing = this.#panels.get(dir);
    if (existing) {
      existing.panel.reveal();
      this.hooks.onFocusModel(dir, this.targets(dir));
      return;
    }
    const name = dir.split(/[\\/]/).filter(Boolean).pop() ?? dir;
    const panel = vscode.window.createWebviewPanel(COMPRESS_VIEW_TYPE, `Compress: ${name}`, vscode.ViewColumn.Active, {});
    this.#attach(panel, dir);
  }

  /** The tree's "Calibrate": runs with the panel's saved settings, or opens the panel to choose data. */
  async calibrate(dir: string): Promise<void> {
    const form = this.form(dir);
    if (!form.dataFile) {
      this.open(dir);
      void vscode.window.showInformationMessage('Hybrid Compress: choose the calibration data in the Compress panel, then press Calibrate.');
      return;
    }
    await this.#startTask(dir, 'calibrate', this.targets(dir), form);
  }

  /** Restores a panel after a reload; the webview saved `{dir}` with setState. */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: { dir?: string } | undefined): Promise<void> {
    // The saved state comes from the web page: only a checkpoint folder of this workspace is reopened.
    const dir = state?.dir;
    if (typeof dir !== 'string' || !existsSync(join(dir, 'config.json')) || !(await this.hooks.isCheckpoint(dir))) {
      panel.dispose();
      return;
    }
    this.#attach(panel, dir);
  }

  #attach(panel: vscode.WebviewPanel, dir: string): void {
    panel.iconPath = vscode.Uri.joinPath(this.context.extensionUri, 'media', 'icon.svg');
    const bridge = new WebviewBridge(panel.webview, this.context.extensionUri, 'compress', panel.title, (m) => this.#onMessage(dir, m), this.log);
    const entry = { dir, panel, bridge };
    this.#panels.set(dir, entry);
    // The Importance view follows the Compress panel in front.
    panel.onDidChangeViewState((ev) => {
      if (ev.webviewPanel.active) this.hooks.onFocusModel(dir, this.targets(dir));
    });
    panel.onDidDispose(() => {
      bridge.dispose();
      if (this.#panels.get(dir) === entry) this.#panels.delete(dir);
    });
    this.hooks.onFocusModel(dir, this.targets(dir));
  }

  /** Re-sends every open panel's state (trust changed, a job started or ended, a run finished). */
  async refreshAll(): Promise<void> {
    for (const e of this.#panels.values()) await this.#sendState(e);
  }

  /** Sends the panel's state, or why it has none: whatever fails, the panel never stays on "Loading…". */
  async #sendState(e: PanelEntry): Promise<void> {
    try {
      await this.#sendModelState(e);
    } catch (err) {
      this.log.error(`Compress panel ${e.dir}: ${describeError(err)}`);
      e.bridge.post({ type: 'compress/unreadable', dir: e.dir, error: describeError(err) });
    }
  }

  async #sendModelState(e: PanelEntry): Promise<void> {
    const r = await this.models.get(e.dir);
    if (!r.ok) {
      e.bridge.post({ type: 'compress/unreadable', dir: e.dir, error: r.error });
      return;
    }
    const { vm, spec } = r.model;
    const targets = this.targets(e.dir);
    const dataFiles = (await vscode.workspace.findFiles('**/*.{txt,jsonl,parquet}', '{**/node_modules/**,**/.git/**,**/.hybrid-compress/**}', 200)).map((u) => vscode.workspace.asRelativePath(u, false)).sort();
    const cal = await latestCalibration(e.dir);
    const running = this.jobs.running.find((j) => j.params['model'] === e.dir || j.params['teacher'] === e.dir);
    const form = this.form(e.dir);
    // A workspace with a single data file: nothing to choose.
    if (!form.dataFile && dataFiles.length === 1) form.dataFile = dataFiles[0]!;
    const state: CompressState = {
      model: vm,
      axes: compressAxes(spec),
      targets,
      estimate: estimateTargets(spec, targets, vm.bytesPerParam),
      form,
      dataFiles,
      trusted: vscode.workspace.isTrusted,
      ...(cal ? { calibrationRun: cal.run.dir } : {}),
      ...(running ? { running: running.action as CompressAction } : {}),
    };
    e.bridge.post({ type: 'compress/state', state });
  }

  async #onMessage(dir: string, m: WebviewMessage): Promise<void> {
    const e = this.#panels.get(dir);
    if (!e) return;
    switch (m.type) {
      case 'ready':
        await this.#sendState(e);
        return;
      case 'compress/retry':
        this.models.invalidate();
        await this.#sendState(e);
        return;
      case 'compress/targets': {
        await this.context.workspaceState.update(`targets:${dir}`, m.targets);
        const r = await this.models.get(dir);
        if (r.ok) e.bridge.post({ type: 'compress/estimate', estimate: estimateTargets(r.model.spec, m.targets, r.model.vm.bytesPerParam) });
        this.hooks.onFocusModel(dir, m.targets);
        return;
      }
      case 'compress/form':
        await this.context.workspaceState.update(`form:${dir}`, m.form);
        return;
      case 'compress/pickData': {
        const files = await vscode.workspace.findFiles('**/*.{txt,jsonl,parquet}', '{**/node_modules/**,**/.git/**,**/.hybrid-compress/**}', 500);
        const pick = await vscode.window.showQuickPick(
          files.map((u) => ({ label: vscode.workspace.asRelativePath(u, false), uri: u })),
          { title: 'Calibration / training data (.txt, .jsonl, .parquet)', placeHolder: 'Pick a workspace file' },
        );
        if (pick) {
          await this.context.workspaceState.update(`form:${dir}`, { ...this.form(dir), dataFile: pick.label });
          await this.#sendState(e);
        }
        return;
      }
      case 'compress/run':
        await this.context.workspaceState.update(`targets:${dir}`, m.targets);
        await this.context.workspaceState.update(`form:${dir}`, m.form);
        await this.#startTask(dir, m.action, m.targets, m.form);
        await this.#sendState(e);
        return;
      default:
        return;
    }
  }

  async #startTask(dir: string, action: CompressAction, targets: Targets, form: CompressForm): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('Hybrid Compress: jobs need a trusted workspace (they run native code on workspace files). Inspection works without trust.');
      return;
    }
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(dir)) ?? vscode.workspace.workspaceFolders?.[0];
    if (!folder) throw new Error('open a workspace folder first: runs are written to <workspace>/.hybrid-compress/runs');
    const needsData = action === 'calibrate' || action === 'distill' || action === 'search';
    if (needsData && !form.dataFile) throw new Error(`${action} needs a data file: choose one with "Data…"`);
    // The panel's form is the web page's: the data path is re-checked here, in the host.
    if (form.dataFile) form = { ...form, dataFile: checkDataFile(form.dataFile, (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath)) };
    if (action === 'distill-external') {
      const recipe = await this.hooks.askClusterRecipe(dir, form);
      if (recipe) await vscode.tasks.executeTask(makeTask(recipe, folder, this.jobs, `distill on cluster ${recipe['student'] ? String(recipe['student']).split(/[\\/]/).filter(Boolean).pop() : ''}`.trim()));
      return;
    }
    const def: vscode.TaskDefinition = { type: TASK_TYPE, action };
    const name = dir.split(/[\\/]/).filter(Boolean).pop() ?? 'model';
    if (action === 'calibrate') Object.assign(def, { model: dir, data: form.dataFile, samples: form.samples, seqLen: form.seqLen, device: form.device });
    else if (action === 'prune' || action === 'search') {
      const cal = await latestCalibration(dir);
      if (!cal) throw new Error(`no finished calibration run for ${name}: run Calibrate first (or use a prune task with "importance": "random")`);
      const r = await this.models.get(dir);
      const est = r.ok ? estimateTargets(r.model.spec, targets, r.model.vm.bytesPerParam) : undefined;
      if (est?.error && action === 'prune') throw new Error(est.error);
      const out = uniqueDir(join(folder.uri.fsPath, `${name}-pruned-${formatParams(est?.params ?? 0)}`));
      Object.assign(def, { model: dir, importance: cal.run.dir, out, device: form.device });
      if (action === 'search') Object.assign(def, { targetParams: form.targetParams || '50%', data: form.dataFile, rows: form.samples, seqLen: form.seqLen });
      else {
        // The panel's axis names are the task properties (prune/axes.ts).
        Object.assign(def, toPruneTargets(targets));
      }
    } else if (action === 'distill') {
      const candidates = await vscode.workspace.findFiles('**/config.json', '{**/node_modules/**,**/.git/**}', 500);
      const students = candidates.map((u) => u.fsPath.replace(/[\\/]config\.json$/, '')).filter((d) => d !== dir);
      const pick = await vscode.window.showQuickPick(
        students.map((d) => ({ label: vscode.workspace.asRelativePath(d, false), dir: d })),
        { title: `Distill from ${name}: choose the student (e.g. a pruned checkpoint)` },
      );
      if (!pick) return;
      Object.assign(def, { teacher: dir, student: pick.dir, data: form.dataFile, steps: form.steps, seqLen: form.seqLen, device: form.device });
    }
    await vscode.tasks.executeTask(makeTask(def, folder, this.jobs));
  }

  dispose(): void {
    for (const e of this.#panels.values()) e.panel.dispose();
  }
}

function uniqueDir(base: string): string {
  if (!existsSync(base)) return base;
  for (let i = 2; ; i++) if (!existsSync(`${base}-${i}`)) return `${base}-${i}`;
}
