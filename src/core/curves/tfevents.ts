// TensorBoard event file (events.out.tfevents.*) → metric points, incrementally: TFRecord deframing,
// Event decoding, scalar extraction. Corrupt records are skipped and reported, never thrown.

import type { MetricPoint } from '../runs/metric-point';
import { decodeEvent, ScalarExtractor } from './tf-event';
import { TfRecordReader, type TfRecordStats } from './tfrecord';
import type { WarningSink } from './warnings';

export const EVENT_FILE_RE = /(^|[\\/])events\.out\.tfevents\.[^\\/]*$/;

export function isEventFileName(name: string): boolean {
  return EVENT_FILE_RE.test(name);
}

export interface TfEventsParserOptions {
  /** Prepended to every tag (e.g. "validation/" for an event file in a sub-folder). */
  tagPrefix?: string;
  onWarning?: WarningSink;
  /** File name for warning messages. */
  file?: string;
}

export class TfEventsParser {
  private readonly records: TfRecordReader;
  private readonly extractor: ScalarExtractor;
  private readonly onWarning: WarningSink;
  badEvents = 0;
  /** The `file_version` of the first event ("brain.Event:2"), once seen. */
  fileVersion?: string;

  constructor(private readonly opts: TfEventsParserOptions = {}) {
    this.onWarning = opts.onWarning ?? (() => {});
    this.records = new TfRecordReader(this.onWarning, opts.file);
    this.extractor = new ScalarExtractor(opts.tagPrefix ?? '');
  }

  get stats(): TfRecordStats & { badEvents: number } {
    return { ...this.records.stats, badEvents: this.badEvents };
  }

  get pendingBytes(): number {
    return this.records.pendingBytes;
  }

  push(bytes: Uint8Array): MetricPoint[] {
    const out: MetricPoint[] = [];
    for (const payload of this.records.push(bytes)) {
      let ev;
      try {
        ev = decodeEvent(payload);
      } catch (e) {
        this.badEvents++;
        this.onWarning({ kind: 'bad-event', message: `record is not a valid Event protobuf (${(e as Error).message}); skipped`, file: this.opts.file });
        continue;
      }
      if (ev.fileVersion !== undefined && this.fileVersion === undefined) this.fileVersion = ev.fileVersion;
      const p = this.extractor.extract(ev);
      if (p) out.push(p);
    }
    return out;
  }
}
