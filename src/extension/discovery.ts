// Finds the checkpoints of the workspace (folders with config.json next to model.safetensors or a
// sharded index), keeps the list current with one file watcher, and publishes it as context keys so
// the Explorer's "Compress Model…" item appears exactly on those folders and their weight files:
//   hybridCompress.checkpointFolders  folder paths
//   hybridCompress.checkpointFiles    config.json / *.safetensors / model.safetensors.index.json paths inside them
//   hybridCompress.hasCheckpoints     whether any exists

import * as vscode from 'vscode';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isCheckpointDir } from '../core/checkpoint/checkpoint';

const EXCLUDE = '{**/node_modules/**,**/.git/**,**/.hybrid-compress/**}';
const WEIGHT_FILE = /(\.safetensors|^model\.safetensors\.index\.json)$/;

export class CheckpointDiscovery implements vscode.Disposable {
  #dirs: string[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #scanning: Promise<void> | undefined;
  readonly #emitter = new vscode.EventEmitter<string[]>();
  readonly #disposables: vscode.Disposable[] = [this.#emitter];
  /** Fires with the folders whenever the set (or a file inside one) changes. */
  readonly onDidChange = this.#emitter.event;

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher('**/{config.json,*.safetensors,model.safetensors.index.json}');
    const later = () => this.#scheduleScan();
    this.#disposables.push(watcher, watcher.onDidCreate(later), watcher.onDidDelete(later), watcher.onDidChange(later), vscode.workspace.onDidChangeWorkspaceFolders(later));
  }

  get folders(): readonly string[] {
    return this.#dirs;
  }

  /** Scans now (coalesced with a scan already under way). */
  scan(): Promise<void> {
    this.#scanning ??= this.#scan().finally(() => (this.#scanning = undefined));
    return this.#scanning;
  }

  async #scan(): Promise<void> {
    const configs = await vscode.workspace.findFiles('**/config.json', EXCLUDE, 2000);
    const dirs = [...new Set(configs.filter((u) => u.scheme === 'file').map((u) => dirname(u.fsPath)))].filter(isCheckpointDir).sort();
    const files: string[] = [];
    for (const d of dirs) {
      files.push(join(d, 'config.json'));
      try {
        for (const f of await readdir(d)) if (WEIGHT_FILE.test(f)) files.push(join(d, f));
      } catch {
        // The folder vanished between the two reads; the next watcher event rescans.
      }
    }
    this.#dirs = dirs;
    await vscode.commands.executeCommand('setContext', 'hybridCompress.checkpointFolders', dirs);
    await vscode.commands.executeCommand('setContext', 'hybridCompress.checkpointFiles', files);
    await vscode.commands.executeCommand('setContext', 'hybridCompress.hasCheckpoints', dirs.length > 0);
    this.#emitter.fire(dirs);
  }

  #scheduleScan(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.scan(), 300);
  }

  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer);
    for (const d of this.#disposables) d.dispose();
  }
}
