// Resuming a training run from its newest checkpoint, trusting nothing on disk: the `latest` pointer must
// name a step folder inside the run (a missing pointer falls back to the newest complete step folder, and
// says so), trainer-state.json must parse and agree with its folder and the optimizer file, and
// metrics.jsonl is cut back to the checkpoint's step with torn or garbled lines dropped (and reported).

import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HybridCompressError } from '../errors';
import { CHECKPOINTS_DIR, LATEST_POINTER, OPTIMIZER_FILE, TRAINER_STATE_FILE } from '../runs/layout';
import { isInside } from '../runs/output-guard';
import { parseJson } from '../util/json';
import type { TrainerState } from './train-checkpoint';

const STEP_DIR = /^step-(\d{7})$/;

function invalid(file: string, what: string): HybridCompressError {
  return new HybridCompressError('CHECKPOINT_INVALID', `${file}: ${what}; remove the run folder to start over, or resume another run`, { file });
}

/** The checkpoint folder to resume from (undefined: the run has none yet). */
export function resumeCheckpointDir(outDir: string, log: (line: string) => void = () => undefined): string | undefined {
  const root = join(outDir, CHECKPOINTS_DIR);
  if (!existsSync(root)) return undefined;
  const pointer = join(root, LATEST_POINTER);
  if (existsSync(pointer)) {
    const name = readFileSync(pointer, 'utf8').trim();
    if (!STEP_DIR.test(name)) throw invalid(pointer, `names ${JSON.stringify(name)}, not a checkpoint folder of this run (step-NNNNNNN)`);
    const dir = join(root, name);
    if (!existsSync(dir)) throw invalid(pointer, `names ${name}, which does not exist`);
    // A step folder that is a symbolic link out of the run would load another run's weights.
    if (!isInside(realpathSync(root), realpathSync(dir))) throw invalid(pointer, `names ${name}, which leads outside ${root}`);
    return dir;
  }
  const complete = readdirSync(root)
    .filter((n) => STEP_DIR.test(n) && existsSync(join(root, n, TRAINER_STATE_FILE)) && existsSync(join(root, n, OPTIMIZER_FILE)))
    .sort();
  const newest = complete.at(-1);
  if (newest) log(`${pointer} is missing; resuming from ${newest}, the newest complete checkpoint`);
  return newest ? join(root, newest) : undefined;
}

/** trainer-state.json of a checkpoint folder, checked against the folder's name. */
export function readTrainerState(dir: string): TrainerState {
  const file = join(dir, TRAINER_STATE_FILE);
  if (!existsSync(file)) throw invalid(dir, `has no ${TRAINER_STATE_FILE}`);
  let v: unknown;
  try {
    v = parseJson(readFileSync(file, 'utf8'));
  } catch (e) {
    throw invalid(file, `is not valid JSON (${(e as Error).message}): the checkpoint was cut short`);
  }
  const s = v as Partial<TrainerState>;
  if (s?.format !== 'hybrid-compress/trainer-state@1') throw invalid(file, `is not a trainer state (format ${JSON.stringify(s?.format)})`);
  for (const k of ['step', 'metricsLines', 'tokens'] as const) if (!Number.isSafeInteger(s[k]) || (s[k] as number) < 0) throw invalid(file, `"${k}" is ${JSON.stringify(s[k])}, not a count`);
  if (typeof s.key !== 'string' || typeof s.cursor !== 'object' || s.cursor === null) throw invalid(file, 'lacks its trajectory key or data cursor');
  const m = STEP_DIR.exec(dir.split(/[\\/]/).pop()!);
  if (m && Number(m[1]) !== s.step) throw invalid(file, `says step ${s.step} but its folder is ${m[0]}`);
  return s as TrainerState;
}

/**
 * Cuts metrics.jsonl back to the points of steps ≤ `step` (what the checkpoint has seen), dropping torn and
 * garbled lines; returns the lines kept. Says when points of those steps are missing.
 */
export function repairMetrics(path: string, step: number, expectedLines: number, log: (line: string) => void = () => undefined): number {
  if (!existsSync(path)) {
    if (step > 0) log(`${path} is missing: the curve restarts at step ${step + 1}`);
    return 0;
  }
  const kept: string[] = [];
  let bad = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const p = parseJson(line, { allowNonFinite: true }) as { step?: unknown };
      if (typeof p.step === 'number' && Number.isInteger(p.step) && p.step <= step) kept.push(line);
    } catch {
      bad++;
    }
  }
  if (bad > 0) log(`${path}: dropped ${bad} unreadable line(s) (torn or garbled)`);
  if (kept.length < expectedLines) log(`${path}: ${expectedLines - kept.length} point(s) of steps ≤ ${step} are missing from the curve`);
  writeFileSync(path, kept.map((l) => l + '\n').join(''));
  return kept.length;
}
