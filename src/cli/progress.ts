// Renders job progress for the CLI in one of three modes:
// - tty:   one bar redrawn in place (phase, done/total, tokens/s, ETA), at most ~10 redraws/s;
//          finished phases stay on screen as a line each; log lines are printed above the bar.
// - plain: (output is not a terminal) a line every `plainIntervalMs` of a phase and one at its end (with
//          duration); a phase shorter than that prints only its end line (no "0/1 (0%)" starts).
// - json:  (--json) one JSON object per line: {"type":"progress",...}, {"type":"log",...},
//          {"type":"metric","point":{...}}; strict JSON, so non-finite numbers become null.
// createProgressRenderer picks the streams: tty and json on stdout, plain on stderr (so a
// redirected stdout keeps only the command's result).

import type { JobLogEntry, RunJobOptions } from '../core/jobs/client';
import type { LogLevel, MetricPoint, ProgressInfo } from '../core/jobs/protocol';
import type { CommandContext } from './command';

export type ProgressMode = 'tty' | 'json' | 'plain';

export interface ProgressRendererOptions {
  mode: ProgressMode;
  stream: NodeJS.WritableStream & { columns?: number };
  /** Lowest log level shown in tty/plain modes (default 'info'; json emits every level). */
  minLogLevel?: LogLevel;
  /** Minimum ms between two redraws of the bar (default 100, i.e. ≤ 10/s); json mode uses it too. */
  minRedrawMs?: number;
  /** ms between two plain progress lines of one phase (default 10000). */
  plainIntervalMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const BAR_WIDTH = 24;

/** "45s", "3m05s", "2h07m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "987", "12.3k", "4.56M" */
export function formatRate(perS: number): string {
  if (perS >= 1e6) return `${(perS / 1e6).toPrecision(3)}M`;
  if (perS >= 1e4) return `${(perS / 1e3).toPrecision(3)}k`;
  return perS >= 100 ? String(Math.round(perS)) : perS.toPrecision(3);
}

function fraction(info: ProgressInfo): number | undefined {
  return info.total > 0 ? Math.min(1, Math.max(0, info.done / info.total)) : undefined;
}

function countText(info: ProgressInfo): string {
  const unit = info.unit ? ` ${info.unit}` : '';
  return info.total > 0 ? `${info.done}/${info.total}${unit}` : `${info.done}${unit}`;
}

function details(info: ProgressInfo, elapsedS?: number): string[] {
  const parts: string[] = [];
  if (info.tokensPerS !== undefined) parts.push(`${formatRate(info.tokensPerS)} tok/s`);
  if (elapsedS !== undefined) parts.push(formatDuration(elapsedS));
  else if (info.etaS !== undefined && !(info.total > 0 && info.done >= info.total)) parts.push(`ETA ${formatDuration(info.etaS)}`);
  if (info.message) parts.push(info.message);
  return parts;
}

/** The in-place bar line, cut to `columns` - 1 characters so the terminal never wraps it. */
export function formatBarLine(info: ProgressInfo, columns: number, elapsedS?: number): string {
  const f = fraction(info);
  const bar = f === undefined ? '' : `${'█'.repeat(Math.round(f * BAR_WIDTH))}${'░'.repeat(BAR_WIDTH - Math.round(f * BAR_WIDTH))} `;
  const pct = f === undefined ? '' : ` ${String(Math.floor(f * 100)).padStart(3)}%`;
  const line = [`${info.phase}  ${bar}${countText(info)}${pct}`, ...details(info, elapsedS)].join('  ');
  const max = Math.max(10, columns - 1);
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}

/** The plain-text progress line. */
export function formatPlainLine(info: ProgressInfo, elapsedS?: number): string {
  const f = fraction(info);
  const head = `${info.phase}: ${countText(info)}${f === undefined ? '' : ` (${Math.floor(f * 100)}%)`}`;
  return [head, ...details(info, elapsedS)].join(', ');
}

/** JSON with non-finite numbers as null, as JSON.stringify does. */
function jsonLine(v: unknown): string {
  return JSON.stringify(v) + '\n';
}

export class ProgressRenderer {
  readonly mode: ProgressMode;
  readonly #stream: ProgressRendererOptions['stream'];
  readonly #now: () => number;
  readonly #minRedrawMs: number;
  readonly #plainIntervalMs: number;
  readonly #minLog: number;
  #latest: ProgressInfo | undefined;
  #phaseStart = 0;
  #lastDraw = -Infinity;
  #drawn: ProgressInfo | undefined;
  #barVisible = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ProgressRendererOptions) {
    this.mode = options.mode;
    this.#stream = options.stream;
    this.#now = options.now ?? (() => performance.now());
    this.#minRedrawMs = options.minRedrawMs ?? 100;
    this.#plainIntervalMs = options.plainIntervalMs ?? 10_000;
    this.#minLog = LEVEL_ORDER[options.minLogLevel ?? 'info'];
  }

  /** Callbacks to pass straight to runJob(). */
  get handlers(): Pick<RunJobOptions, 'onProgress' | 'onLog' | 'onMetric'> {
    return { onProgress: (p) => this.progress(p), onLog: (l) => this.log(l), onMetric: (m) => this.metric(m) };
  }

  progress(info: ProgressInfo): void {
    const now = this.#now();
    const prev = this.#latest;
    if (prev && prev.phase !== info.phase) this.#endPhase(prev, now);
    if (!prev || prev.phase !== info.phase) {
      this.#phaseStart = now;
      // Plain lines: the first one after an interval (a short phase prints only its end line).
      this.#lastDraw = this.mode === 'plain' ? now : -Infinity;
    }
    this.#latest = info;
    // Plain mode writes no trailing update: the phase's final state is printed when it ends.
    const interval = this.mode === 'plain' ? this.#plainIntervalMs : this.#minRedrawMs;
    if (now - this.#lastDraw >= interval) this.#draw(now);
    else if (this.mode !== 'plain') this.#scheduleDraw(interval - (now - this.#lastDraw));
  }

  log(entry: Pick<JobLogEntry, 'level' | 'text'> & { source?: JobLogEntry['source'] }): void {
    if (this.mode === 'json') {
      this.#stream.write(jsonLine({ type: 'log', level: entry.level, text: entry.text, ...(entry.source ? { source: entry.source } : {}) }));
      return;
    }
    if (LEVEL_ORDER[entry.level] < this.#minLog) return;
    const prefix = entry.level === 'warn' || entry.level === 'error' ? `${entry.level}: ` : '';
    this.#writeAbove(`${prefix}${entry.text}\n`);
  }

  metric(point: MetricPoint): void {
    // Curves are for the extension and metrics.jsonl; on a terminal the bar's message carries the loss.
    if (this.mode === 'json') this.#stream.write(jsonLine({ type: 'metric', point }));
  }

  /** Prints a line of the command's own output without breaking the bar. */
  print(text: string): void {
    this.#writeAbove(text.endsWith('\n') ? text : text + '\n');
  }

  /** A job is over: its last phase's final line goes out now (not when the next job's progress arrives), keeping the output in order. */
  endPhase(): void {
    if (this.#latest) this.#endPhase(this.#latest, this.#now());
    this.#latest = undefined;
  }

  /** Ends the display: draws the last state once more and leaves the cursor on a fresh line. */
  finish(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#latest) this.#endPhase(this.#latest, this.#now());
    this.#latest = undefined;
  }

  #scheduleDraw(ms: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#draw(this.#now());
    }, Math.max(0, ms));
    this.#timer.unref();
  }

  #draw(now: number): void {
    const info = this.#latest;
    if (!info || info === this.#drawn) return;
    this.#lastDraw = now;
    this.#drawn = info;
    if (this.mode === 'json') this.#stream.write(jsonLine({ type: 'progress', ...info }));
    else if (this.mode === 'plain') this.#stream.write(formatPlainLine(info) + '\n');
    else {
      this.#stream.write(`\r${formatBarLine(info, this.#stream.columns ?? 80)}\x1b[K`);
      this.#barVisible = true;
    }
  }

  /** A phase is over: its final state stays as a permanent line (with the phase's duration). */
  #endPhase(last: ProgressInfo, now: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const elapsedS = (now - this.#phaseStart) / 1000;
    if (this.mode === 'json') this.#draw(now);
    else if (this.mode === 'plain') this.#stream.write(formatPlainLine(last, elapsedS) + '\n');
    else {
      this.#stream.write(`\r${formatBarLine(last, this.#stream.columns ?? 80, elapsedS)}\x1b[K\n`);
      this.#barVisible = false;
    }
    this.#drawn = undefined;
  }

  #writeAbove(text: string): void {
    if (this.mode === 'tty' && this.#barVisible) {
      this.#stream.write(`\r\x1b[K${text}`);
      // Redraw the bar under the text at once (not throttled: it was already on screen).
      const info = this.#drawn;
      if (info) this.#stream.write(`${formatBarLine(info, this.#stream.columns ?? 80)}\x1b[K`);
      else this.#barVisible = false;
    } else {
      this.#stream.write(text);
    }
  }
}

/** The renderer a command should use: --json → json on stdout; a terminal → bar on stdout; otherwise plain lines on stderr. */
export function createProgressRenderer(ctx: Pick<CommandContext, 'stdout' | 'stderr' | 'isTTY'>, options: { json?: boolean; minLogLevel?: LogLevel } = {}): ProgressRenderer {
  const mode: ProgressMode = options.json ? 'json' : ctx.isTTY ? 'tty' : 'plain';
  const stream = mode === 'plain' ? ctx.stderr : ctx.stdout;
  return new ProgressRenderer({ mode, stream, ...(options.minLogLevel ? { minLogLevel: options.minLogLevel } : {}) });
}
