// Task runner integration: tasks of type "hybrid-compress" (in tasks.json, from "Run Task", or started
// by the Compress panel's buttons) execute through a CustomExecution whose pseudoterminal runs the job
// in a worker process. Closing the terminal or terminating the task cancels the job.

import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import type { JobService } from './jobs';
import { TASK_TYPE, taskToJob, type JobRequest } from './viewmodel/task-params';

class JobTerminal implements vscode.Pseudoterminal {
  readonly #write = new vscode.EventEmitter<string>();
  readonly #close = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.#write.event;
  readonly onDidClose = this.#close.event;
  readonly #abort = new AbortController();

  constructor(
    private readonly definition: vscode.TaskDefinition,
    private readonly workspaceDir: string,
    private readonly jobs: JobService,
  ) {}

  open(): void {
    const line = (text: string) => this.#write.fire(text.replace(/\r?\n/g, '\r\n') + '\r\n');
    let req: JobRequest;
    try {
      req = taskToJob({ ...this.definition }, this.workspaceDir);
    } catch (e) {
      line(describeError(e));
      this.#close.fire(2);
      return;
    }
    void this.jobs.run(req, { line }, this.#abort.signal).then(
      (code) => this.#close.fire(code),
      (e) => {
        line(`internal error: ${describeError(e)}`);
        this.#close.fire(1);
      },
    );
  }

  close(): void {
    this.#abort.abort();
  }
}

function workspaceDirOf(scope: vscode.TaskScope | vscode.WorkspaceFolder | undefined): string {
  if (scope && typeof scope === 'object' && scope.uri.scheme === 'file') return scope.uri.fsPath;
  const f = vscode.workspace.workspaceFolders?.find((w) => w.uri.scheme === 'file');
  return f ? f.uri.fsPath : process.cwd();
}

/** A task for `definition` (scope = the workspace folder that anchors its relative paths). */
export function makeTask(definition: vscode.TaskDefinition, scope: vscode.WorkspaceFolder | vscode.TaskScope, jobs: JobService, name?: string): vscode.Task {
  const dir = workspaceDirOf(scope);
  const label = name ?? `${definition['action']}${typeof definition['model'] === 'string' ? ` ${vscode.workspace.asRelativePath(definition['model'] as string, false)}` : ''}`;
  const task = new vscode.Task(definition, scope, label, 'hybrid-compress', new vscode.CustomExecution(async (resolved) => new JobTerminal(resolved, dir, jobs)));
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated, clear: true };
  task.group = definition['action'] === 'distill' ? vscode.TaskGroup.Build : undefined;
  return task;
}

export class HybridCompressTaskProvider implements vscode.TaskProvider {
  constructor(
    private readonly jobs: JobService,
    private readonly checkpoints: () => readonly string[],
  ) {}

  /** Offers calibrate/eval for every discovered checkpoint when a default data file is configured. */
  provideTasks(): vscode.Task[] {
    const data = vscode.workspace.getConfiguration('hybridCompress').get<string>('calibrationData');
    if (!data) return [];
    const tasks: vscode.Task[] = [];
    for (const dir of this.checkpoints()) {
      const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(dir)) ?? vscode.TaskScope.Workspace;
      for (const action of ['calibrate', 'eval'] as const) tasks.push(makeTask({ type: TASK_TYPE, action, model: dir, data }, folder, this.jobs));
    }
    return tasks;
  }

  /** Gives tasks from tasks.json their execution (the definition is validated when the task starts). */
  resolveTask(task: vscode.Task): vscode.Task | undefined {
    if (task.definition.type !== TASK_TYPE) return undefined;
    return makeTask(task.definition, task.scope ?? vscode.TaskScope.Workspace, this.jobs, task.name);
  }
}
