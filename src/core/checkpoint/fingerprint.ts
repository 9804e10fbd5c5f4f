// A content fingerprint of a checkpoint: hash of config.json (canonical) + hash of the tensor headers
// + sampled data windows of every tensor (start, middle, end), so that two checkpoints with the same
// shapes but different weights differ, while copying a folder does not change it. Cheap: a few small
// reads per tensor, never the whole file.

import { createHash } from 'node:crypto';
import { stringifyJson } from '../util/json';
import type { Checkpoint } from './checkpoint';

const WINDOW = 256;

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

export interface Fingerprint {
  config: string;
  tensors: string;
  /** `config.slice(0,16) + "-" + tensors.slice(0,16)`: the value stored in outputs. */
  id: string;
}

export async function checkpointFingerprint(ckpt: Checkpoint): Promise<Fingerprint> {
  const config = createHash('sha256').update(stringifyJson(canonical(ckpt.config), 0)).digest('hex');
  const h = createHash('sha256');
  const names = [...ckpt.tensors.keys()].sort();
  for (const name of names) {
    const t = ckpt.tensors.get(name)!;
    h.update(`${name}|${t.dtype}|${t.shape.join('x')}|${t.byteLength}\n`);
    const starts = new Set([0, Math.max(0, Math.floor(t.byteLength / 2) - WINDOW / 2), Math.max(0, t.byteLength - WINDOW)]);
    for (const s of starts) h.update(await ckpt.readBytes(name, s, Math.min(t.byteLength, s + WINDOW)));
  }
  const tensors = h.digest('hex');
  return { config, tensors, id: `${config.slice(0, 16)}-${tensors.slice(0, 16)}` };
}
