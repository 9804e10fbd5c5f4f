// Non-fatal problems met while reading training logs. Readers never throw on bad data: they skip
// the bad part, count it, and tell the caller through a sink (the CLI prints counts, the
// extension shows them next to the curve).

export type CurveWarningKind =
  | 'record-crc' // TFRecord payload CRC mismatch: that record was skipped
  | 'length-crc' // TFRecord length CRC mismatch: framing lost, bytes skipped until a valid header
  | 'bad-event' // a record whose payload is not a decodable Event protobuf
  | 'bad-line' // a metrics.jsonl line that is not a JSON object with a numeric step
  | 'file-reset'; // a followed file shrank or was replaced: reading restarted from its beginning

export interface CurveWarning {
  kind: CurveWarningKind;
  message: string;
  file?: string;
}

export type WarningSink = (w: CurveWarning) => void;

/** Counts warnings by kind (for a one-line summary) and keeps the first message of each kind. */
export class WarningTally {
  readonly counts = new Map<CurveWarningKind, number>();
  readonly first = new Map<CurveWarningKind, string>();

  readonly sink: WarningSink = (w) => {
    this.counts.set(w.kind, (this.counts.get(w.kind) ?? 0) + 1);
    if (!this.first.has(w.kind)) this.first.set(w.kind, w.file ? `${w.file}: ${w.message}` : w.message);
  };

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  summary(): string {
    return [...this.counts].map(([k, n]) => `${n} × ${k} (first: ${this.first.get(k)})`).join('; ');
  }
}
