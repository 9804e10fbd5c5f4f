// Entry point of the VS Code extension. Activation only registers providers and commands and starts
// the checkpoint scan in the background: nothing here loads onnxruntime-node (jobs run in a separate
// worker process, see src/core/jobs/client.ts) and nothing reads tensors. The time activate() takes
// is written to the "Hybrid Compress" output channel (`activated in N ms`).

import * as vscode from 'vscode';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatInspectReport } from '../core/checkpoint/describe';
import { CheckpointDiscovery } from './discovery';
import { ModelCache } from './models';
import { CheckpointsTree, RunsTree, type CheckpointNode, type RunNode } from './trees';
import { JobService } from './jobs';
import { HybridCompressTaskProvider, makeTask } from './tasks';
import { CompressPanels, COMPRESS_VIEW_TYPE } from './compress-panel';
import { ImportanceView, IMPORTANCE_VIEW_ID } from './importance-view';
import { CurvesPanels, CURVES_VIEW_TYPE } from './curves-panel';
import { CurveStore } from './viewmodel/curve-store';
import { TASK_TYPE } from './viewmodel/task-params';
import { curvesPathOf, REPORT_FILES } from './viewmodel/run-summary';
import { askClusterRecipe, pickClusterRun, showRecipe } from './cluster-recipe';

const INSPECT_SCHEME = 'hybrid-compress-inspect';

/** Resolves what a command was invoked on (Explorer resource, tree node, or nothing) to a checkpoint folder. */
function checkpointDirOf(arg: unknown, discovery: CheckpointDiscovery): string | undefined {
  let path: string | undefined;
  if (arg instanceof vscode.Uri) path = arg.fsPath;
  else if (arg && typeof arg === 'object' && 'dir' in arg && typeof (arg as { dir: unknown }).dir === 'string') path = (arg as { dir: string }).dir;
  if (!path) {
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active?.scheme === 'file') path = active.fsPath;
  }
  if (!path) return discovery.folders.length === 1 ? discovery.folders[0] : undefined;
  return existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
}

async function pickCheckpoint(discovery: CheckpointDiscovery): Promise<string | undefined> {
  await discovery.scan();
  if (discovery.folders.length === 0) {
    void vscode.window.showInformationMessage('Hybrid Compress: no checkpoint in this workspace (a folder with config.json and model.safetensors or a sharded index).');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(discovery.folders.map((d) => ({ label: vscode.workspace.asRelativePath(d, false), dir: d })), { title: 'Choose a checkpoint' });
  return pick?.dir;
}

export function activate(context: vscode.ExtensionContext): void {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel('Hybrid Compress', { log: true });
  const discovery = new CheckpointDiscovery();
  const models = new ModelCache();
  const curves = new CurveStore();
  const checkpointsTree = new CheckpointsTree(discovery, models);
  const runsTree = new RunsTree();
  let panels: CompressPanels | undefined;
  const importance = new ImportanceView(context, models, log);
  const curvePanels = new CurvesPanels(context, curves, log);
  const jobs = new JobService(curves, {
    onStart: (req) => {
      runsTree.refresh();
      if (req.action === 'distill') curvePanels.open(req.runDir, true);
      void panels?.refreshAll();
    },
    onEnd: (req, outcome, result) => {
      runsTree.refresh();
      void panels?.refreshAll();
      if (req.action === 'calibrate') void importance.refresh();
      if (req.action === 'prune' || req.action === 'search') void discovery.scan();
      if (req.action === 'distill-external' && outcome === 'done' && result?.dir) void showRecipe(result.dir, curvePanels);
    },
  });
  panels = new CompressPanels(
    context,
    models,
    jobs,
    {
      onFocusModel: (dir, targets) => importance.focus(dir, targets),
      isCheckpoint: async (dir) => {
        await discovery.scan();
        return discovery.folders.some((f) => resolve(f) === resolve(dir));
      },
      askClusterRecipe: (teacher, form) => askClusterRecipe(teacher, form, discovery.folders, models, context.workspaceState),
    },
    log,
  );
  const compress = panels;

  const inspectProvider: vscode.TextDocumentContentProvider = {
    async provideTextDocumentContent(uri) {
      const dir = decodeURIComponent(uri.query);
      const r = await models.get(dir);
      if (!r.ok) return `# ${dir}\n\n${r.error}\n`;
      return `# ${r.model.vm.name}\n\nRead-only summary by Hybrid Compress (\`hybrid-compress inspect\`).\n\n\`\`\`text\n${formatInspectReport(r.model.report)}\n\`\`\`\n\nLayers: \`${r.model.vm.pattern}\` (M = Mamba2, * = attention, - = MLP, E = MoE)\n`;
    },
  };

  // Runs started from the CLI or another window appear (and change status) without a manual refresh.
  const runWatcher = vscode.workspace.createFileSystemWatcher('**/.hybrid-compress/runs/*/run.json');
  let runTimer: ReturnType<typeof setTimeout> | undefined;
  const runsChanged = () => {
    if (runTimer) clearTimeout(runTimer);
    runTimer = setTimeout(() => {
      runsTree.refresh();
      void importance.refresh();
      void compress.refreshAll();
    }, 300);
  };
  runsTree.onRunsChanged = () => {
    void importance.refresh();
    void compress.refreshAll();
  };
  context.subscriptions.push(runWatcher, runWatcher.onDidCreate(runsChanged), runWatcher.onDidChange(runsChanged), runWatcher.onDidDelete(runsChanged));

  const runsView = vscode.window.createTreeView('hybridCompress.runs', { treeDataProvider: runsTree });
  runsTree.poll(runsView.visible);
  const checkpointsView = vscode.window.createTreeView('hybridCompress.checkpoints', { treeDataProvider: checkpointsTree, showCollapseAll: true });
  checkpointsView.onDidChangeSelection((e) => {
    const node = e.selection[0];
    if (node && node.kind === 'model') importance.focus(node.dir, compress.targets(node.dir));
  });

  context.subscriptions.push(
    log,
    discovery,
    jobs,
    curves,
    compress,
    importance,
    curvePanels,
    checkpointsView,
    runsTree,
    runsView,
    runsView.onDidChangeVisibility((e) => runsTree.poll(e.visible)),
    vscode.window.registerWebviewViewProvider(IMPORTANCE_VIEW_ID, importance),
    vscode.window.registerWebviewPanelSerializer(COMPRESS_VIEW_TYPE, compress),
    vscode.window.registerWebviewPanelSerializer(CURVES_VIEW_TYPE, curvePanels),
    vscode.workspace.registerTextDocumentContentProvider(INSPECT_SCHEME, inspectProvider),
    vscode.tasks.registerTaskProvider(TASK_TYPE, new HybridCompressTaskProvider(jobs, () => discovery.folders)),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void compress.refreshAll()),
    discovery.onDidChange(() => {
      models.invalidate();
      checkpointsTree.refresh();
    }),

    vscode.commands.registerCommand('hybridCompress.compressModel', async (arg?: unknown) => {
      const dir = checkpointDirOf(arg, discovery) ?? (await pickCheckpoint(discovery));
      if (dir) compress.open(dir);
    }),
    vscode.commands.registerCommand('hybridCompress.inspect', async (arg?: unknown) => {
      const dir = checkpointDirOf(arg, discovery) ?? (await pickCheckpoint(discovery));
      if (!dir) return;
      const name = dir.split(/[\\/]/).filter(Boolean).pop() ?? 'model';
      const uri = vscode.Uri.from({ scheme: INSPECT_SCHEME, path: `/${name} summary.md`, query: encodeURIComponent(dir) });
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(await vscode.languages.setTextDocumentLanguage(doc, 'markdown'), { preview: true });
    }),
    vscode.commands.registerCommand('hybridCompress.calibrate', async (arg?: unknown) => {
      const dir = checkpointDirOf(arg, discovery) ?? (await pickCheckpoint(discovery));
      if (dir) await compress.calibrate(dir);
    }),
    vscode.commands.registerCommand('hybridCompress.revealInExplorer', async (node?: CheckpointNode) => {
      if (node) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(node.dir));
    }),
    vscode.commands.registerCommand('hybridCompress.refresh', async () => {
      models.invalidate();
      await discovery.scan();
      checkpointsTree.refresh();
      runsTree.refresh();
      await importance.refresh();
    }),
    vscode.commands.registerCommand('hybridCompress.openCurves', async (arg?: unknown) => {
      let path: string | undefined;
      if (arg instanceof vscode.Uri) path = arg.fsPath;
      else if (arg && typeof arg === 'object' && (arg as RunNode).kind === 'run') {
        const run = (arg as Extract<RunNode, { kind: 'run' }>).run;
        path = curvesPathOf(run, true);
      }
      if (!path) {
        const picked = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: true, title: 'Open Training Curves: a run folder, metrics.jsonl, a Megatron log or TensorBoard event files' });
        path = picked?.[0]?.fsPath;
      }
      if (path) curvePanels.open(path);
    }),
    vscode.commands.registerCommand('hybridCompress.followClusterRun', async (arg?: unknown) => {
      const run = arg && typeof arg === 'object' && (arg as RunNode).kind === 'run' ? (arg as Extract<RunNode, { kind: 'run' }>).run : undefined;
      const path = run ? curvesPathOf(run, false) : await pickClusterRun();
      if (path) curvePanels.open(path);
    }),
    vscode.commands.registerCommand('hybridCompress.openRunReport', async (arg?: unknown) => {
      const dir = arg instanceof vscode.Uri ? arg.fsPath : arg && typeof arg === 'object' && (arg as RunNode).kind === 'run' ? (arg as Extract<RunNode, { kind: 'run' }>).run.dir : undefined;
      if (!dir) return;
      const report = REPORT_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
      if (report) await vscode.window.showTextDocument(vscode.Uri.file(report), { preview: true });
    }),
    vscode.commands.registerCommand('hybridCompress.runTask', async (definition: vscode.TaskDefinition) => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) return;
      await vscode.tasks.executeTask(makeTask({ ...definition, type: TASK_TYPE }, folder, jobs));
    }),
    vscode.commands.registerCommand('hybridCompress.cancelJobs', async () => {
      if (jobs.running.length === 0) return;
      const answer = await vscode.window.showWarningMessage(`Cancel ${jobs.running.map((j) => j.label).join(', ')}?`, 'Cancel Job', 'Keep Running');
      if (answer === 'Cancel Job') jobs.cancelAll();
    }),
  );
  void discovery.scan().catch((e) => log.error(`checkpoint scan failed: ${(e as Error).message}`));
  log.info(`activated in ${(performance.now() - t0).toFixed(1)} ms`);
}

export function deactivate(): void {
  // Disposables (including running jobs, which are cancelled) are released through context.subscriptions.
}
