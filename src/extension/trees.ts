// The sidebar's two trees: Checkpoints (model → layers) and Runs (.hybrid-compress/runs of every
// workspace folder). Both only read files, so they also work in untrusted workspaces.

import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KIND_NAMES } from '../core/checkpoint/describe';
import { readdir, stat } from 'node:fs/promises';
import { listRuns, runsRoot, type ListedRun } from '../core/runs/index';
import type { LayerKind } from '../core/arch/spec';
import type { CheckpointDiscovery } from './discovery';
import type { ModelCache } from './models';
import { formatBytes, formatParams } from './viewmodel/model-vm';
import { curvesPathOf, runSummary } from './viewmodel/run-summary';
import { METRICS_FILE, RUN_FILE } from '../core/runs/layout';

export type CheckpointNode = { kind: 'model'; dir: string } | { kind: 'layer'; dir: string; index: number; layerKind: LayerKind; params: number } | { kind: 'error'; dir: string; message: string };

const KIND_ICON: Record<LayerKind, string> = { M: 'pulse', '*': 'eye', '-': 'symbol-operator', E: 'extensions' };

export class CheckpointsTree implements vscode.TreeDataProvider<CheckpointNode> {
  readonly #emitter = new vscode.EventEmitter<CheckpointNode | undefined>();
  readonly onDidChangeTreeData = this.#emitter.event;

  constructor(
    private readonly discovery: CheckpointDiscovery,
    private readonly models: ModelCache,
  ) {}

  refresh(): void {
    this.#emitter.fire(undefined);
  }

  async getChildren(node?: CheckpointNode): Promise<CheckpointNode[]> {
    if (!node) return this.discovery.folders.map((dir) => ({ kind: 'model', dir }));
    if (node.kind !== 'model') return [];
    const r = await this.models.get(node.dir);
    if (!r.ok) return [{ kind: 'error', dir: node.dir, message: r.error }];
    return r.model.vm.layers.map((l) => ({ kind: 'layer', dir: node.dir, index: l.index, layerKind: l.kind, params: l.params }));
  }

  async getTreeItem(node: CheckpointNode): Promise<vscode.TreeItem> {
    if (node.kind === 'error') {
      // The label names files relative to the checkpoint (its row sits under it); the tooltip has the full text.
      const item = new vscode.TreeItem(node.message.split(`${node.dir}/`).join('').split(`${node.dir}\\`).join(''));
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
      item.tooltip = node.message;
      return item;
    }
    if (node.kind === 'layer') {
      const item = new vscode.TreeItem(`${node.index} ${KIND_NAMES[node.layerKind]}`);
      item.description = formatParams(node.params);
      item.iconPath = new vscode.ThemeIcon(KIND_ICON[node.layerKind]);
      item.contextValue = 'hybridCompress.layer';
      return item;
    }
    const r = await this.models.get(node.dir);
    const name = vscode.workspace.asRelativePath(node.dir, false);
    // An unreadable checkpoint opens on its reason (the error child) rather than hiding it in a tooltip;
    // the id changes with the state so that VS Code applies the new collapsible state.
    const item = new vscode.TreeItem(name, r.ok ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded);
    item.id = `model:${node.dir}:${r.ok ? 'ok' : 'error'}`;
    item.resourceUri = vscode.Uri.file(node.dir);
    item.contextValue = 'hybridCompress.checkpoint';
    item.iconPath = r.ok ? new vscode.ThemeIcon('circuit-board') : new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
    if (r.ok) {
      const m = r.model.vm;
      item.description = `${m.family} · ${formatParams(m.params)} · ${m.pattern.length > 24 ? m.pattern.slice(0, 24) + '…' : m.pattern}`;
      item.tooltip = new vscode.MarkdownString(
        `**${m.name}** — ${m.modelType}${m.runnable ? '' : ' (inspection only)'}\n\n${formatParams(m.params)} parameters, ${formatBytes(m.bytesOnDisk)} on disk\n\npattern \`${m.pattern}\``,
      );
    } else {
      item.description = 'cannot be read';
      item.tooltip = r.error;
    }
    item.command = { command: 'hybridCompress.compressModel', title: 'Compress Model…', arguments: [vscode.Uri.file(node.dir)] };
    return item;
  }
}

export type RunNode = { kind: 'run'; run: ListedRun } | { kind: 'problem'; dir: string; message: string };

const STATUS_ICON: Record<string, [string, string?]> = {
  running: ['sync~spin'],
  done: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash'],
  interrupted: ['debug-disconnect', 'list.warningForeground'],
};

/** How often a running run's elapsed time is redrawn (its run.json changes only at stage ends). */
const RUNNING_TICK_MS = 5000;

export class RunsTree implements vscode.TreeDataProvider<RunNode>, vscode.Disposable {
  readonly #emitter = new vscode.EventEmitter<RunNode | undefined>();
  readonly onDidChangeTreeData = this.#emitter.event;
  #timer: ReturnType<typeof setInterval> | undefined;
  #signature = '';
  /** A run was running at the last listing: its elapsed time in the description must keep moving. */
  #anyRunning = false;
  #lastRefresh = 0;
  /** Called when polling sees a run folder appear, change or vanish. */
  onRunsChanged: (() => void) | undefined;

  refresh(): void {
    this.#lastRefresh = Date.now();
    this.#emitter.fire(undefined);
  }

  /**
   * While the view is visible, re-reads the run folders' run.json times every `ms` and refreshes on a
   * change. File watchers miss changes on network mounts and in some remote set-ups, and runs are often
   * started from a terminal (the CLI) or another machine writing to a shared folder.
   */
  poll(visible: boolean, ms = 2000): void {
    if (visible && !this.#timer) this.#timer = setInterval(() => void this.#check(), ms);
    if (!visible && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  async #check(): Promise<void> {
    const parts: string[] = [];
    for (const f of vscode.workspace.workspaceFolders ?? []) {
      if (f.uri.scheme !== 'file') continue;
      const root = runsRoot(f.uri.fsPath);
      let names: string[];
      try {
        names = await readdir(root);
      } catch {
        continue;
      }
      for (const n of names.sort()) {
        const t = await stat(join(root, n, RUN_FILE)).then((st) => st.mtimeMs, () => 0);
        parts.push(`${n}:${t}`);
      }
    }
    const sig = parts.join('|');
    if (sig !== this.#signature) {
      const first = this.#signature === '';
      this.#signature = sig;
      this.refresh();
      if (!first) this.onRunsChanged?.();
    } else if (this.#anyRunning && Date.now() - this.#lastRefresh >= RUNNING_TICK_MS) this.refresh();
  }

  dispose(): void {
    this.poll(false);
  }

  async getChildren(node?: RunNode): Promise<RunNode[]> {
    if (node) return [];
    const out: RunNode[] = [];
    for (const f of vscode.workspace.workspaceFolders ?? []) {
      if (f.uri.scheme !== 'file') continue;
      const listing = await listRuns(f.uri.fsPath);
      out.push(...listing.runs.map((run) => ({ kind: 'run' as const, run })));
      out.push(...listing.problems.map((p) => ({ kind: 'problem' as const, ...p })));
    }
    this.#anyRunning = out.some((n) => n.kind === 'run' && n.run.status === 'running');
    return out;
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    if (node.kind === 'problem') {
      const item = new vscode.TreeItem(vscode.workspace.asRelativePath(node.dir, false));
      item.description = node.message;
      item.iconPath = new vscode.ThemeIcon('warning');
      return item;
    }
    const s = runSummary(node.run);
    const item = new vscode.TreeItem(s.label);
    item.id = `run:${node.run.dir}`;
    item.description = s.description;
    item.tooltip = s.tooltip;
    const [icon, color] = STATUS_ICON[node.run.status] ?? ['circle'];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    // Training runs open their curves even before the first metric line exists (the panel waits for it);
    // a cluster recipe follows the folder Megatron will write to.
    const curves = curvesPathOf(node.run, existsSync(join(node.run.dir, METRICS_FILE)));
    item.contextValue = `hybridCompress.run${curves ? '.curves' : ''}${node.run.kind === 'distill-external' ? '.cluster' : ''}`;
    item.command = curves
      ? { command: 'hybridCompress.openCurves', title: 'Open Training Curves', arguments: [vscode.Uri.file(curves)] }
      : { command: 'hybridCompress.openRunReport', title: 'Open Run Report', arguments: [vscode.Uri.file(node.run.dir)] };
    return item;
  }
}
