// Turns "done so far" into a ProgressInfo with throughput and ETA, so handlers do not each
// reinvent them. Rates are averaged over a sliding window of recent updates: the first batches
// (session creation, warm-up) would otherwise distort the ETA for the whole run.

import type { ProgressInfo } from './protocol';

export interface ProgressMeterOptions {
  /** Window over which rates are measured (default 10 s). */
  windowS?: number;
  /** Clock in ms (tests inject one). */
  now?: () => number;
}

export class ProgressMeter {
  readonly #now: () => number;
  readonly #windowMs: number;
  /** (time, done, tokens) samples inside the window, oldest first; the first is the window's start. */
  #samples: { t: number; done: number; tokens: number }[];
  #tokens = 0;

  constructor(
    readonly phase: string,
    /** 0 while unknown; update() may set it. */
    public total: number,
    readonly unit: string,
    options: ProgressMeterOptions = {},
  ) {
    this.#now = options.now ?? (() => performance.now());
    this.#windowMs = (options.windowS ?? 10) * 1000;
    this.#samples = [{ t: this.#now(), done: 0, tokens: 0 }];
  }

  /** Records that `done` units are complete and `tokens` more tokens were processed since the last call (and the total, once known). */
  update(done: number, opts: { tokens?: number; message?: string; total?: number } = {}): ProgressInfo {
    if (opts.total !== undefined) this.total = opts.total;
    const t = this.#now();
    this.#tokens += opts.tokens ?? 0;
    this.#samples.push({ t, done, tokens: this.#tokens });
    // Keep one sample at or before the window start so the window always spans ≥ windowMs once possible.
    while (this.#samples.length > 2 && this.#samples[1]!.t <= t - this.#windowMs) this.#samples.shift();
    const first = this.#samples[0]!;
    const dtS = (t - first.t) / 1000;
    const info: ProgressInfo = { phase: this.phase, done, total: this.total, unit: this.unit };
    if (dtS > 0) {
      if (this.#tokens > 0) info.tokensPerS = (this.#tokens - first.tokens) / dtS;
      const rate = (done - first.done) / dtS;
      if (this.total > 0 && rate > 0) info.etaS = Math.max(0, (this.total - done) / rate);
    }
    if (opts.message !== undefined) info.message = opts.message;
    return info;
  }
}
