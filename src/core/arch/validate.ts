// Checks the tensors on disk against the spec derived from config.json. Any disagreement is an error
// naming the tensor, the expected and actual shape, and the config keys the expectation comes from.

import { HybridCompressError } from '../errors';
import { allTensorSpecs, type HybridModelSpec } from './spec';

export interface TensorOnDisk {
  shape: number[];
  dtype: string;
  file?: string;
}

/** Tensors a checkpoint may carry that no stage reads. */
const IGNORED = [/^mtp\./, /\.rotary_emb\.inv_freq$/];

export function validateTensors(spec: HybridModelSpec, tensors: ReadonlyMap<string, TensorOnDisk>, source = 'checkpoint'): void {
  if (!spec.runnable && spec.family !== 'nemotron_h') return; // inspection-only specs are built from the tensors themselves
  const expected = allTensorSpecs(spec);
  const expectedNames = new Set(expected.map((t) => t.name));
  const missing: string[] = [];
  for (const t of expected) {
    const actual = tensors.get(t.name);
    if (!actual) {
      missing.push(t.name);
      continue;
    }
    if (actual.shape.length !== t.shape.length || actual.shape.some((d, i) => d !== t.shape[i])) {
      throw new HybridCompressError(
        'SHAPE_MISMATCH',
        `${actual.file ?? source}: tensor "${t.name}" has shape [${actual.shape.join(', ')}] but config.json implies [${t.shape.join(', ')}] (from ${t.keys.join(', ')})`,
        { file: actual.file ?? source, tensor: t.name },
      );
    }
    if (!['F32', 'F16', 'BF16', 'F64'].includes(actual.dtype)) {
      throw new HybridCompressError('CHECKPOINT_INVALID', `${actual.file ?? source}: tensor "${t.name}" has dtype ${actual.dtype}; expected a float dtype (F32, F16, BF16)`, {
        file: actual.file ?? source,
        tensor: t.name,
      });
    }
  }
  if (missing.length > 0) {
    const hint = missing.includes('lm_head.weight') ? ' (set "tie_word_embeddings": true if the head shares the embedding)' : '';
    throw new HybridCompressError(
      'CHECKPOINT_INVALID',
      `${source}: ${missing.length} tensor(s) required by config.json are missing, e.g. "${missing[0]}"${missing.length > 1 ? `, "${missing[1]}"` : ''}${hint}`,
      { file: source, tensor: missing[0] },
    );
  }
  const unexpected = [...tensors.keys()].filter((n) => !expectedNames.has(n) && !IGNORED.some((r) => r.test(n)));
  if (unexpected.length > 0) {
    throw new HybridCompressError(
      'CHECKPOINT_INVALID',
      `${source}: ${unexpected.length} tensor(s) not described by config.json, e.g. "${unexpected[0]}" — the config disagrees with the weights (check use_bias, use_conv_bias, attention_bias, mlp_bias, the layer pattern and num_hidden_layers)`,
      { file: source, tensor: unexpected[0] },
    );
  }
}
