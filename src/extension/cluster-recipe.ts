// "Distill on cluster…": asks for what the Megatron-Bridge recipe needs beyond the panel's teacher (the
// pruned student, Megatron dataset prefixes or mock data, nodes × GPUs, TP, PP, steps), with the recipe
// data file's defaults and only legal parallel sizes offered, then returns the `distill-external` task
// definition that writes the recipe into a run folder. After the task: the README opens and a message
// says that nothing runs until the user starts the scripts. "Follow Cluster Run…" points the curve view
// at a recipe's Megatron output folder (tb_logs/, logs/).

import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { HybridModelSpec } from '../core/arch/spec';
import { loadRecipeData } from '../core/recipes/data';
import { listRuns, type ListedRun } from '../core/runs/index';
import type { CompressForm } from '../../webview/protocol';
import type { ModelCache } from './models';
import { NOTHING_RUNS } from './viewmodel/job-launch';
import { checkDataPrefixes, checkSteps, describeTokens, legalGlobalBatch, parseLayout, pipelineParallelChoices, recipeDefaults, tensorParallelChoices } from './viewmodel/cluster-recipe';
import { curvesPathOf } from './viewmodel/run-summary';
import { formatParams } from './viewmodel/model-vm';
import { TASK_TYPE } from './viewmodel/task-params';

/** What the prompts remember per workspace, so a second recipe starts from the first one's answers. */
interface Remembered {
  data?: string;
  layout?: string;
  steps?: number;
}
const MEMORY_KEY = 'clusterRecipe:last';

async function workspaceRuns(): Promise<ListedRun[]> {
  const runs: ListedRun[] = [];
  for (const f of vscode.workspace.workspaceFolders ?? []) if (f.uri.scheme === 'file') runs.push(...(await listRuns(f.uri.fsPath)).runs);
  return runs;
}

/** Students to offer: the workspace's checkpoints and the outputs of finished prune/search runs, newest first. */
async function studentChoices(teacher: string, checkpoints: readonly string[]): Promise<{ label: string; description?: string; dir: string }[]> {
  const seen = new Set<string>([teacher]);
  const items: { label: string; description?: string; dir: string }[] = [];
  for (const run of await workspaceRuns()) {
    const out = (run.result as Record<string, unknown> | undefined)?.['output_dir'];
    if ((run.kind !== 'prune' && run.kind !== 'search') || run.status !== 'done' || typeof out !== 'string' || seen.has(out) || !existsSync(join(out, 'config.json'))) continue;
    seen.add(out);
    const after = (run.result as Record<string, unknown>)['params_after'];
    items.push({ label: vscode.workspace.asRelativePath(out, false), description: `${run.kind} run ${run.id}${typeof after === 'number' ? ` · ${formatParams(after)} params` : ''}`, dir: out });
  }
  for (const d of checkpoints) if (!seen.has(d)) items.push({ label: vscode.workspace.asRelativePath(d, false), description: 'checkpoint', dir: d }), seen.add(d);
  return items;
}

type Choice<T> = vscode.QuickPickItem & { value: T };

async function pickOne<T>(title: string, items: Choice<T>[], placeHolder?: string): Promise<T | undefined> {
  return (await vscode.window.showQuickPick(items, { title, placeHolder, ignoreFocusOut: true }))?.value;
}

/**
 * Asks for the recipe's missing inputs; resolves to the task definition, or undefined when the user
 * backs out. `checkpoints` are the discovered checkpoint folders.
 */
export async function askClusterRecipe(teacher: string, form: CompressForm, checkpoints: readonly string[], models: ModelCache, memory: vscode.Memento): Promise<vscode.TaskDefinition | undefined> {
  const title = (step: string) => `Distill on cluster from ${basename(teacher)}: ${step}`;
  const last = memory.get<Remembered>(MEMORY_KEY) ?? {};
  const data = loadRecipeData();
  const defaults = recipeDefaults(data);

  // 1. The pruned student.
  const students = await studentChoices(teacher, checkpoints);
  const browse = '$(folder-opened) Another folder…';
  const picked = await pickOne<string>(title('student'), [...students.map((s) => ({ label: s.label, description: s.description, value: s.dir })), { label: browse, value: '' }], 'The pruned checkpoint to distill (a prune or search output)');
  if (picked === undefined) return undefined;
  let student = picked;
  if (student === '') {
    const dirs = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: title('student checkpoint folder (config.json + safetensors)') });
    if (!dirs?.[0]) return undefined;
    student = dirs[0].fsPath;
  }

  // 2. Data: Megatron indexed datasets (tokenized .bin/.idx), or mock data for a smoke test of the launch.
  const dataKind = await pickOne<'prefix' | 'mock'>(title('training data'), [
    { label: '$(database) Megatron dataset prefixes…', detail: data.distill.data_format, value: 'prefix' },
    { label: '$(beaker) Mock data', detail: 'Megatron trains on random tokens: a smoke test of the launch only', value: 'mock' },
  ]);
  if (!dataKind) return undefined;
  let dataText: string | undefined;
  if (dataKind === 'prefix') {
    dataText = await vscode.window.showInputBox({
      title: title('dataset prefixes'),
      prompt: 'Paths without .bin/.idx as seen on the cluster, comma-separated; a weight may precede each, e.g. 0.7:/data/web_text_document, 0.3:/data/code_text_document',
      value: last.data ?? '',
      ignoreFocusOut: true,
      validateInput: checkDataPrefixes,
    });
    if (dataText === undefined) return undefined;
  }

  // 3. Layout: nodes × GPUs per node, then the legal TP and PP sizes for both models.
  const layoutText = await vscode.window.showInputBox({
    title: title('GPUs'),
    prompt: 'Nodes × GPUs per node (tensor parallelism stays inside a node)',
    value: last.layout ?? '1x8',
    ignoreFocusOut: true,
    validateInput: (t) => {
      const l = parseLayout(t);
      return typeof l === 'string' ? l : undefined;
    },
  });
  if (layoutText === undefined) return undefined;
  const layout = parseLayout(layoutText);
  if (typeof layout === 'string') return undefined;
  const specs: HybridModelSpec[] = [];
  for (const d of [teacher, student]) {
    const r = await models.get(d);
    if (!r.ok) throw new Error(r.error);
    specs.push(r.model.spec);
  }
  const tps = tensorParallelChoices(specs, layout.gpusPerNode);
  // A single legal size needs no question (PP likewise).
  const tp = tps.length === 1 ? tps[0] : await pickOne<number>(
    title('tensor parallelism (TP)'),
    tps.map((v) => ({ label: `TP ${v}`, description: v === defaults.tp ? 'default (recipe data file)' : undefined, value: v })),
    `TP sizes that divide ${layout.gpusPerNode} GPUs per node and every head count of teacher and student`,
  );
  if (tp === undefined) return undefined;
  const worldSize = layout.nodes * layout.gpusPerNode;
  const pps = pipelineParallelChoices(worldSize, tp, specs);
  const pp = pps.length === 1 ? pps[0]! : await pickOne<number>(title('pipeline parallelism (PP)'), pps.map((v) => ({ label: `PP ${v}`, description: v === defaults.pp ? 'default (recipe data file)' : undefined, value: v })), `TP×PP must divide the ${worldSize} GPUs`);
  if (pp === undefined) return undefined;
  const dp = worldSize / (tp * pp);
  const globalBatch = legalGlobalBatch(defaults.globalBatch, defaults.microBatch, dp);

  // 4. Steps, shown as tokens while typing.
  const stepsText = await vscode.window.showInputBox({
    title: title('training iterations'),
    prompt: `${data.recommendations.text} Global batch ${globalBatch} × sequence ${defaults.seqLen} per step.`,
    value: String(last.steps ?? form.steps),
    ignoreFocusOut: true,
    validateInput: (t) => checkSteps(t, defaults.warmup) ?? { message: describeTokens(Number(t), globalBatch, defaults.seqLen), severity: vscode.InputBoxValidationSeverity.Info },
  });
  if (stepsText === undefined) return undefined;
  const steps = Number(stepsText.trim());
  await memory.update(MEMORY_KEY, { data: dataText ?? last.data, layout: layoutText.trim(), steps } satisfies Remembered);

  const def: vscode.TaskDefinition = { type: TASK_TYPE, action: 'distill-external', teacher, student, steps, nodes: layout.nodes, gpusPerNode: layout.gpusPerNode, tp, pp };
  if (dataText !== undefined) def['data'] = dataText;
  else def['mockData'] = true;
  if (globalBatch !== defaults.globalBatch) def['globalBatch'] = globalBatch;
  return def;
}

/** After the recipe task: open its README and say plainly that nothing has been started. */
export async function showRecipe(dir: string, curves: { open(path: string): void }): Promise<void> {
  const readme = join(dir, 'README.md');
  if (existsSync(readme)) await vscode.window.showTextDocument(vscode.Uri.file(readme), { preview: false });
  const answer = await vscode.window.showInformationMessage(`Hybrid Compress: cluster recipe written to ${vscode.workspace.asRelativePath(dir, false)}. ${NOTHING_RUNS}`, 'Reveal in Explorer', 'Follow Cluster Run');
  if (answer === 'Reveal in Explorer') await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(dir));
  if (answer === 'Follow Cluster Run') {
    const run = (await workspaceRuns()).find((r) => r.dir === dir);
    curves.open(run ? (curvesPathOf(run, false) ?? dir) : dir);
  }
}

/** "Follow Cluster Run…": a recipe run of the workspace (its Megatron output folder), or any folder. */
export async function pickClusterRun(): Promise<string | undefined> {
  const runs = (await workspaceRuns()).filter((r) => r.kind === 'distill-external');
  const other = '$(folder-opened) Another folder (a Megatron output, log or tb_logs folder)…';
  const items: Choice<string>[] = runs.map((r) => {
    const out = curvesPathOf(r, false) ?? r.dir;
    const student = typeof r.inputs['student'] === 'string' ? basename(r.inputs['student'] as string) : '';
    return { label: `${student || r.id}`, description: r.id, detail: out, value: out };
  });
  const picked = runs.length === 0 ? '' : await pickOne<string>('Follow Cluster Run: the output folder of a cluster recipe', [...items, { label: other, value: '' }]);
  if (picked === undefined) return undefined;
  if (picked !== '') return picked;
  const dirs = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: true, title: 'Follow Cluster Run: a Megatron output folder, its log, or a TensorBoard event folder' });
  return dirs?.[0]?.fsPath;
}
