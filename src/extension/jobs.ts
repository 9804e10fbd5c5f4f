// Runs one job (calibrate, prune, search, distill, eval) in a worker process for a task's
// pseudoterminal: prints progress, shows a cancellable notification and a status-bar item, feeds
// training metrics to the curve store, and stops the worker when the user cancels (from the
// notification, the status bar's command, or by closing the terminal / terminating the task).
// Jobs execute native code over workspace files, so they never run in an untrusted workspace.

import * as vscode from 'vscode';
import type { JobLogEntry, ProgressInfo } from '../core/jobs/index';
import { describeError, isHybridCompressError } from '../core/errors';
import type { CurveStore } from './viewmodel/curve-store';
import { cliEquivalent, type JobRequest } from './viewmodel/task-params';
import { launchJob, type LaunchOutcome } from './viewmodel/job-launch';

export interface JobOutput {
  line(text: string): void;
}

export interface JobEvents {
  onStart?(req: JobRequest): void;
  onEnd?(req: JobRequest, outcome: 'done' | 'failed' | 'cancelled', result?: LaunchOutcome): void;
}

export const UNTRUSTED_MESSAGE =
  'Hybrid Compress jobs are disabled in an untrusted workspace: they run native code (ONNX Runtime) over model and data files from this workspace. Inspection still works. Trust the workspace (Workspaces: Manage Workspace Trust) to run calibrate, prune, search, distill or eval.';

/** "layer 3/12 · 45% · 1,234 tok/s · ETA 12s" */
export function formatProgress(p: ProgressInfo): string {
  const parts = [p.phase];
  if (p.total > 0) parts.push(`${p.done}/${p.total} ${p.unit}`.trim(), `${Math.floor((100 * p.done) / p.total)}%`);
  else if (p.done > 0) parts.push(`${p.done} ${p.unit}`.trim());
  if (p.tokensPerS !== undefined) parts.push(`${Math.round(p.tokensPerS).toLocaleString('en-US')} tok/s`);
  if (p.etaS !== undefined) parts.push(`ETA ${Math.round(p.etaS)}s`);
  if (p.message) parts.push(p.message);
  return parts.join(' · ');
}

export class JobService implements vscode.Disposable {
  readonly #status: vscode.StatusBarItem;
  readonly #active = new Map<string, { req: JobRequest; abort: AbortController; text: string }>();

  constructor(
    private readonly curves: CurveStore,
    private readonly events: JobEvents,
  ) {
    this.#status = vscode.window.createStatusBarItem('hybridCompress.jobs', vscode.StatusBarAlignment.Left, 50);
    this.#status.name = 'Hybrid Compress jobs';
    this.#status.command = 'hybridCompress.cancelJobs';
  }

  get running(): JobRequest[] {
    return [...this.#active.values()].map((a) => a.req);
  }

  cancelAll(): void {
    for (const a of this.#active.values()) a.abort.abort();
  }

  /** Runs the job to its end; resolves with the exit code for the task (0 = done). */
  async run(req: JobRequest, out: JobOutput, cancel: AbortSignal): Promise<number> {
    out.line(`$ ${cliEquivalent(req)}`);
    if (!vscode.workspace.isTrusted) {
      out.line(UNTRUSTED_MESSAGE);
      return 1;
    }
    const abort = new AbortController();
    const onCancel = () => abort.abort();
    cancel.addEventListener('abort', onCancel);
    const entry = { req, abort, text: req.label };
    this.#active.set(req.runDir, entry);
    this.#render();
    const tracksCurve = req.action === 'distill';
    if (tracksCurve) {
      this.curves.ensure(req.runDir, `${req.label} — loss`, req.runDir);
      this.curves.setStatus(req.runDir, 'running');
    }
    this.events.onStart?.(req);

    let lastPhase = '';
    let lastPrint = 0;
    const t0 = Date.now();
    let reportProgress: ((p: ProgressInfo) => void) | undefined;
    const job = launchJob(req, {
      signal: abort.signal,
      onProgress: (p) => {
        reportProgress?.(p);
        entry.text = `${req.label} ${p.total > 0 ? `${Math.floor((100 * p.done) / p.total)}%` : p.phase}`;
        this.#render();
        const now = Date.now();
        // The terminal gets a line per phase change and at most one per second within a phase.
        if (p.phase !== lastPhase || now - lastPrint >= 1000 || (p.total > 0 && p.done === p.total)) {
          out.line(formatProgress(p));
          lastPhase = p.phase;
          lastPrint = now;
        }
      },
      onLog: (e: JobLogEntry) => out.line(e.level === 'error' || e.level === 'warn' ? `[${e.level}] ${e.text}` : e.text),
      onMetric: (point) => {
        if (!tracksCurve) {
          this.curves.ensure(req.runDir, `${req.label} — curves`, req.runDir);
        }
        this.curves.add(req.runDir, [point]);
      },
    });

    const notification = vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Hybrid Compress: ${req.label}`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => abort.abort());
        let lastPct = 0;
        reportProgress = (p) => {
          const pct = p.total > 0 ? (100 * p.done) / p.total : lastPct;
          progress.report({ message: formatProgress(p), increment: Math.max(0, pct - lastPct) });
          lastPct = pct;
        };
        return job.then(
          () => undefined,
          () => undefined,
        );
      },
    );

    let code = 0;
    let outcome: 'done' | 'failed' | 'cancelled' = 'done';
    let result: LaunchOutcome | undefined;
    try {
      result = await job;
      out.line(result.summary);
      out.line(`done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    } catch (e) {
      if (isHybridCompressError(e) && e.code === 'CANCELLED') {
        outcome = 'cancelled';
        out.line('cancelled; the worker was stopped');
      } else {
        outcome = 'failed';
        out.line(`failed: ${describeError(e)}`);
      }
      code = 1;
    } finally {
      cancel.removeEventListener('abort', onCancel);
      this.#active.delete(req.runDir);
      this.#render();
      await notification;
    }
    if (this.curves.has(req.runDir)) this.curves.setStatus(req.runDir, outcome);
    this.events.onEnd?.(req, outcome, result);
    return code;
  }

  #render(): void {
    const a = [...this.#active.values()];
    if (a.length === 0) {
      this.#status.hide();
      return;
    }
    this.#status.text = `$(sync~spin) ${a.map((x) => x.text).join(' | ')}`;
    this.#status.tooltip = 'Hybrid Compress: click to cancel the running job(s)';
    this.#status.show();
  }

  dispose(): void {
    this.cancelAll();
    this.#status.dispose();
  }
}
