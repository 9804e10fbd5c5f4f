// Every file name of a run folder, in one place. A run lives in `<workspace>/.hybrid-compress/runs/<id>/`
// (or a folder the user named with --out) and is written by exactly one process at a time. The CLI, the
// extension, the worker and the curve readers all take names from here.
//
//   run.json                  the run record: kind, status, inputs, settings, result, error (run-record.ts)
//   metrics.jsonl             one metric point per line (metric-point.ts), appended live
//   report.json               the full report of prune, search and eval runs (the CLI's --json value)
//   importance.safetensors    calibrate: the scores (format: calibrate/importance-file.ts)
//   state.json                calibrate: resumable accumulator state
//   summary.md                calibrate: a human summary of the scores
//   checkpoints/step-NNNNNNN  distill/train: model + optimizer + trainer-state.json per checkpoint
//   checkpoints/latest        distill/train: the name of the newest complete checkpoint
//   final/                    distill/train: the trained model as a Hugging Face folder
//   .lock                     the live writer's pid (one writer per run folder)

export const STATE_DIR = '.hybrid-compress';
export const RUNS_DIR = 'runs';
export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';
export const REPORT_FILE = 'report.json';
export const IMPORTANCE_FILE = 'importance.safetensors';
export const CALIBRATION_STATE_FILE = 'state.json';
export const SUMMARY_FILE = 'summary.md';
export const CHECKPOINTS_DIR = 'checkpoints';
export const LATEST_POINTER = 'latest';
export const FINAL_DIR = 'final';
export const TRAINER_STATE_FILE = 'trainer-state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const LOCK_FILE = '.lock';

/**
 * The marker of a checkpoint folder this tool wrote (a pruned model, a distilled final/, a fixture): --force
 * may replace such a folder, never any other (runs/output-guard.ts).
 */
export const OUTPUT_MARKER = '.hybrid-compress-output';

/** Files a pruned checkpoint carries beside its weights: the plan that produced it (replayable). */
export const PLAN_FILE = 'pruning_plan.json';
