// Validation loss of the student during training: the --eval-data rows are read once (the first time
// they are needed) and the student runs as a forward graph whose weights are inputs, so every
// evaluation sees the current parameters without rebuilding a session.

import { HybridCompressError } from '../errors';
import type { Checkpoint } from '../checkpoint/checkpoint';
import type { RowBatch } from '../data/index';
import { nextTokenNll, openModelDataset } from '../eval/model-data';
import type { NamedArray } from './train-checkpoint';
import type { Engines, LogitsSource, TrainSettings } from './train-types';

export class HeldOutEval {
  private rows: RowBatch[] | undefined;
  private engine: LogitsSource | undefined;

  constructor(
    private readonly student: Checkpoint,
    private readonly s: Pick<TrainSettings, 'evalData' | 'seqLen' | 'batch' | 'packing' | 'evalSamples' | 'device' | 'threads'>,
    private readonly engines: Engines,
  ) {}

  async evaluate(params: readonly NamedArray[]): Promise<{ val_loss: number; val_ppl: number }> {
    const rows = await this.loadRows();
    this.engine ??= await this.engines.forward(this.student, { device: this.s.device, threads: this.s.threads, paramsAsInputs: true });
    const current = new Map(params.map((p) => [p.name, p.value]));
    let sum = 0;
    let count = 0;
    for (const b of rows) {
      const r = nextTokenNll(await this.engine.logits(b.ids, b.batch, b.seq, current), b.ids, b.batch, b.seq, this.student.spec.vocabSize);
      sum += r.sum;
      count += r.count;
    }
    return { val_loss: sum / count, val_ppl: Math.exp(sum / count) };
  }

  async release(): Promise<void> {
    await this.engine?.release();
  }

  private async loadRows(): Promise<RowBatch[]> {
    if (this.rows) return this.rows;
    const s = this.s;
    const ds = await openModelDataset(this.student.dir, this.student.spec, { data: s.evalData!, seqLen: s.seqLen, batch: s.batch, packing: s.packing, samples: s.evalSamples });
    const rows: RowBatch[] = [];
    try {
      for await (const b of ds.batches()) rows.push(b);
    } finally {
      await ds.close();
    }
    if (rows.length === 0) throw new HybridCompressError('DATA_INVALID', `${s.evalData}: no evaluation rows of ${s.seqLen} tokens`, { file: s.evalData, option: 'eval-data' });
    this.rows = rows;
    return rows;
  }
}
