// Parser for a local run's metrics.jsonl (written by the training engine, see runs/metrics-file.ts):
// one flat JSON object per line, `{step, loss, kd_loss?, ce_loss?, lr, grad_norm, tokens_per_s,
// elapsed_s}` per step and `{step, val_loss, val_ppl}` per evaluation. Every numeric field other
// than `step` becomes a series of the same name. Python-style NaN/Infinity tokens are accepted and
// those values dropped. A line that is not such an object is skipped with a warning; an
// unterminated last line waits for its newline.

import { parseJson } from '../util/json';
import { LineSplitter } from './lines';
import { makePoint, type MetricPoint } from '../runs/metric-point';
import type { WarningSink } from './warnings';

export class MetricsJsonlParser {
  private readonly lines = new LineSplitter();
  private lineNo = 0;
  badLines = 0;

  constructor(
    private readonly onWarning: WarningSink = () => {},
    private readonly file?: string,
  ) {}

  push(chunk: Uint8Array | string): MetricPoint[] {
    const out: MetricPoint[] = [];
    for (const l of this.lines.push(chunk)) this.take(l, out);
    return out;
  }

  /** End of a finished file: the last line counts if it is a complete JSON object. */
  flush(): MetricPoint[] {
    const out: MetricPoint[] = [];
    const rest = this.lines.flush();
    if (rest !== undefined) this.take(rest, out);
    return out;
  }

  private take(line: string, out: MetricPoint[]): void {
    this.lineNo++;
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = parseJson(line, { allowNonFinite: true });
    } catch {
      v = undefined;
    }
    const step = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)['step'] : undefined;
    if (typeof step !== 'number' || !Number.isFinite(step)) {
      this.badLines++;
      this.onWarning({ kind: 'bad-line', message: `line ${this.lineNo} is not a JSON object with a numeric "step"; skipped`, file: this.file });
      return;
    }
    const pairs: [string, number][] = [];
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (k !== 'step' && typeof x === 'number') pairs.push([k, x]);
    const p = makePoint(step, pairs);
    if (p) out.push(p);
  }
}
