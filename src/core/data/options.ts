// The data options every engine action shares (calibrate, eval, distill, train, prune/search rows).

import type { OptionField } from '../util/option-schema';
import { PACKINGS, type Packing } from './dataset';

export const DATA_HELP = 'data file: .txt (one document per line), .jsonl with "text" or "input_ids", or .parquet with a "text" column';

/** --data, --samples, --seq-len, --batch, --packing, --shuffle, --seed with an action's defaults. */
export function dataFields(d: { seqLen: number; batch: number; samples?: number; dataRequired?: boolean; shuffle?: boolean }): OptionField[] {
  return [
    { key: 'data', type: 'path', required: d.dataRequired ?? true, placeholder: 'file', help: DATA_HELP },
    { key: 'samples', type: 'integer', min: 1, placeholder: 'N', ...(d.samples !== undefined ? { default: d.samples } : {}), help: 'rows of data to use (default: all)' },
    { key: 'seqLen', type: 'integer', min: 2, default: d.seqLen, placeholder: 'N', help: 'tokens per row' },
    { key: 'batch', type: 'integer', min: 1, default: d.batch, placeholder: 'N', help: 'rows per engine run' },
    { key: 'packing', type: 'string', choices: PACKINGS, default: 'concat', help: 'concat: documents joined with EOS and cut into rows; none: one document per row (shorter ones skipped)' },
    ...(d.shuffle === false ? [] : [{ key: 'shuffle', type: 'boolean', help: 'shuffle the rows (seeded by --seed)' } as OptionField]),
    { key: 'seed', type: 'integer', min: 0, default: 0, placeholder: 'S', help: 'seed of the row order' },
  ];
}

export const JSON_FIELD: OptionField = { key: 'json', type: 'boolean', cliOnly: true, help: 'JSON lines on stdout (progress events and the result) for scripts' };

/** The data settings of parsed values of dataFields (samples only when given or defaulted). */
export function dataSettingsFrom(v: Record<string, unknown>): { data: string; samples?: number; seqLen: number; batch: number; packing: Packing; shuffle: boolean; seed: number } {
  return {
    data: v['data'] as string,
    ...(v['samples'] !== undefined ? { samples: v['samples'] as number } : {}),
    seqLen: v['seqLen'] as number,
    batch: v['batch'] as number,
    packing: v['packing'] as Packing,
    shuffle: v['shuffle'] === true,
    seed: v['seed'] as number,
  };
}
