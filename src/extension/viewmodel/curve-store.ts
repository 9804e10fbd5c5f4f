// The host's copy of every training curve a panel may show. Points arrive from two places — the
// worker's metric messages while a job runs in this window, and metrics.jsonl (tailed) for runs started
// elsewhere or finished — and both can deliver the same step: the store keeps one point per step, in
// step order. Listeners get batched appends (at most one per `flushMs`), so a fast trainer cannot flood
// a webview, while the ≥ 1 update/s the panel promises holds. No vscode import (unit-tested).

import type { MetricPoint, CurvesState } from '../../../webview/protocol';

export type CurveStatus = CurvesState['status'];

export interface CurveAppend {
  key: string;
  /** Index of the first appended point (= the number of points a listener already has). */
  from: number;
  points: MetricPoint[];
  status: CurveStatus;
}

type Listener = (e: CurveAppend | { key: string; reset: true }) => void;

class Curve {
  points: MetricPoint[] = [];
  /** Points already announced to listeners. */
  flushed = 0;
  status: CurveStatus = 'following';
  statusDirty = false;
  /** Set when a point arrived out of order: listeners must take a full snapshot. */
  reset = false;
  constructor(
    readonly key: string,
    public title: string,
    public source: string,
  ) {}
}

export class CurveStore {
  readonly #curves = new Map<string, Curve>();
  readonly #listeners = new Set<Listener>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly flushMs = 250) {}

  ensure(key: string, title: string, source: string): void {
    if (!this.#curves.has(key)) this.#curves.set(key, new Curve(key, title, source));
  }

  has(key: string): boolean {
    return this.#curves.has(key);
  }

  snapshot(key: string): CurvesState | undefined {
    const c = this.#curves.get(key);
    if (!c) return undefined;
    return { key, title: c.title, source: c.source, status: c.status, points: c.points.slice(0, c.flushed) };
  }

  /** Adds points (any order, duplicates by step replace nothing: the first value of a step wins). */
  add(key: string, points: readonly MetricPoint[]): void {
    const c = this.#curves.get(key);
    if (!c || points.length === 0) return;
    for (const p of points) {
      const last = c.points[c.points.length - 1];
      if (!last || p.step > last.step) {
        c.points.push({ ...p });
        continue;
      }
      // Out of order or a repeat: find its place (binary search on step).
      let lo = 0;
      let hi = c.points.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (c.points[mid]!.step < p.step) lo = mid + 1;
        else hi = mid;
      }
      const same = c.points[lo];
      if (same && same.step === p.step) {
        // Merge series a second source has and the first lacked (e.g. val_loss written to the file only).
        for (const [k, v] of Object.entries(p)) if (!(k in same)) same[k] = v;
        if (lo < c.flushed) c.reset = true;
        continue;
      }
      c.points.splice(lo, 0, { ...p });
      if (lo < c.flushed) c.reset = true;
    }
    this.#schedule();
  }

  /** Drops every point (the source file was replaced); listeners get a reset. */
  clear(key: string): void {
    const c = this.#curves.get(key);
    if (!c) return;
    c.points = [];
    c.reset = true;
    this.#schedule();
  }

  setStatus(key: string, status: CurveStatus): void {
    const c = this.#curves.get(key);
    if (!c || c.status === status) return;
    c.status = status;
    c.statusDirty = true;
    this.#schedule();
  }

  /** Listens for appends and resets; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends pending appends now (also called by the timer). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const c of this.#curves.values()) {
      if (c.reset) {
        c.reset = false;
        c.flushed = c.points.length;
        c.statusDirty = false;
        for (const l of this.#listeners) l({ key: c.key, reset: true });
        continue;
      }
      if (c.flushed === c.points.length && !c.statusDirty) continue;
      const e: CurveAppend = { key: c.key, from: c.flushed, points: c.points.slice(c.flushed), status: c.status };
      c.flushed = c.points.length;
      c.statusDirty = false;
      for (const l of this.#listeners) l(e);
    }
  }

  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#listeners.clear();
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => this.flush(), this.flushMs);
  }
}
