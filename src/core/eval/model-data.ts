// Opening a data file for a given model: the model's tokenizer (when it has one; pre-tokenized .jsonl
// needs none), its EOS id, and its vocabulary as the bound for token ids.

import type { HybridModelSpec } from '../arch/spec';
import { hasTokenizer, loadTokenizer, openDataset, readModelTokenInfo, type Dataset, type Packing } from '../data/index';

export interface DataSettings {
  data: string;
  samples?: number;
  seqLen: number;
  batch: number;
  packing?: Packing;
  shuffle?: boolean;
  seed?: number;
  /** Read the data again and again (a new permutation each epoch when shuffling): training. */
  repeat?: boolean;
}

export async function openModelDataset(modelDir: string, spec: HybridModelSpec, s: DataSettings): Promise<Dataset> {
  const tokenizer = hasTokenizer(modelDir) ? loadTokenizer(modelDir) : undefined;
  const info = readModelTokenInfo(modelDir);
  return openDataset({
    path: s.data,
    tokenizer,
    seqLen: s.seqLen,
    batchSize: s.batch,
    packing: s.packing ?? 'concat',
    samples: s.samples,
    shuffle: s.shuffle,
    seed: s.seed ?? 0,
    repeat: s.repeat,
    vocabSize: spec.vocabSize,
    eosId: tokenizer?.eosId ?? info.eosId,
  });
}

/** Σ over positions t < seq−1 of −log softmax(logits[b,t])[ids[b,t+1]], in float64; returns {sum, count}. */
export function nextTokenNll(logits: Float32Array, ids: BigInt64Array, batch: number, seq: number, vocab: number): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t + 1 < seq; t++) {
      const base = (b * seq + t) * vocab;
      let max = -Infinity;
      for (let v = 0; v < vocab; v++) if (logits[base + v]! > max) max = logits[base + v]!;
      let s = 0;
      for (let v = 0; v < vocab; v++) s += Math.exp(logits[base + v]! - max);
      sum += max + Math.log(s) - logits[base + Number(ids[b * seq + t + 1]!)]!;
      count++;
    }
  }
  return { sum, count };
}
