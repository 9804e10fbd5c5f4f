// The compression pipeline — calibrate → prune → distill → evaluate — written once and served by two
// kinds of stages: through the worker and the launchers (run folders; `hybrid-compress demo`), or as
// in-process library calls (`npm run reproduce`, which times stages without worker start-up).

import type { CalibrationResult } from '../calibrate/calibrate';
import type { CalibrationSettings } from '../calibrate/settings';
import type { TrainResult, TrainSettings } from '../distill/train-types';
import type { EvalReport, EvalSettings } from '../eval/lm-eval';
import type { JobHandlers } from '../jobs/launcher';
import type { PipelineContext, PruneJobParams } from '../prune/job-params';
import type { PruneReport } from '../prune/prune-job';
import type { PruneTargets } from '../prune/targets';

export interface Stages {
  /** Calibrates into `out` (a finished identical run may be reused). */
  calibrate(s: CalibrationSettings, out: string): Promise<{ dir: string; reused: boolean; result: CalibrationResult }>;
  prune(p: PruneJobParams): Promise<PruneReport>;
  distill(s: TrainSettings): Promise<TrainResult>;
  evaluate(s: EvalSettings): Promise<EvalReport>;
}

/** Stages in the compute worker, each with its run folder (launchers of src/core/<stage>/launch.ts). */
export function workerStages(workspace: string, h: JobHandlers): Stages {
  return {
    async calibrate(s, out) {
      const { launchCalibration } = await import('../calibrate/launch');
      const l = await launchCalibration(workspace, s, { out }, h);
      return { dir: l.run.dir, reused: l.action === 'reuse', result: l.result };
    },
    async prune(p) {
      const { launchPrune } = await import('../prune/launch');
      return (await launchPrune(workspace, p, h)).report;
    },
    async distill(s) {
      const { launchTraining } = await import('../distill/launch');
      return (await launchTraining(workspace, 'distill', s, h)).result;
    },
    async evaluate(s) {
      const { launchEval } = await import('../eval/launch');
      return (await launchEval(workspace, s, {}, h)).result;
    },
  };
}

/** Stages as library calls in this process (loads the engine here); `log` receives warnings and progress lines. */
export function inProcessStages(log: (line: string) => void = () => undefined): Stages {
  const ctx: PipelineContext = { signal: new AbortController().signal, progress: () => undefined, log: (text, level) => (level === 'warn' || level === 'error' ? log(`${level}: ${text}`) : undefined) };
  return {
    async calibrate(s, out) {
      const [{ runCalibration }, { calibrationKey }] = await Promise.all([import('../calibrate/calibrate'), import('../calibrate/calibration-run')]);
      const { key } = await calibrationKey(s);
      return { dir: out, reused: false, result: await runCalibration(s, out, key, { log }) };
    },
    async prune(p) {
      const { runPrune } = await import('../prune/prune-job');
      return runPrune(p, ctx);
    },
    async distill(s) {
      const [{ train }, { ortTrainStep }, { forwardLogitsSource }] = await Promise.all([import('../distill/trainer'), import('../distill/ort-train-step'), import('../distill/forward-source')]);
      const every = Math.max(1, Math.floor(s.steps / 5));
      return train(s, { step: ortTrainStep, forward: forwardLogitsSource }, { onProgress: (x) => x.step % every === 0 && log(`${s.loss} step ${x.step}/${x.steps}: loss ${x.loss.toFixed(4)}`) });
    },
    async evaluate(s) {
      const { evaluateLm } = await import('../eval/lm-eval');
      return evaluateLm(s);
    },
  };
}

/** One compression of a teacher: the settings of each stage (models and data paths filled in by the pipeline). */
export interface CompressPlan {
  teacher: string;
  /** Calibration and training text; held-out text for evaluation. */
  train: string;
  val: string;
  calibration: Omit<CalibrationSettings, 'model' | 'data'>;
  calibrationDir: string;
  targets: PruneTargets;
  prunedDir: string;
  distill: Omit<TrainSettings, 'student' | 'teacher' | 'data' | 'evalData'>;
  eval: Omit<EvalSettings, 'model' | 'data'>;
}

export interface CompressOutcome {
  calibration: { dir: string; reused: boolean };
  prune: PruneReport;
  distill: TrainResult;
  /** Held-out evaluation of the teacher, the pruned model before retraining, and after it. */
  evals: { name: 'teacher' | 'pruned' | 'distilled'; report: EvalReport }[];
}

/** Runs the whole recipe; `onStage` hears each stage's title before it starts. */
export async function runCompressPipeline(stages: Stages, p: CompressPlan, onStage: (title: string) => void = () => undefined): Promise<CompressOutcome> {
  onStage(`calibrate on ${p.calibration.samples} training rows × ${p.calibration.seqLen} tokens`);
  const cal = await stages.calibrate({ ...p.calibration, model: p.teacher, data: p.train }, p.calibrationDir);
  onStage(`prune to ${Object.entries(p.targets).map(([k, v]) => `${k} ${String(v)}`).join(', ')} (group-aware)`);
  const pruned = await stages.prune({ model: p.teacher, importance: cal.dir, out: p.prunedDir, targets: p.targets, force: true, verify: false, mambaHeadRanking: 'group', metric: 'activation', device: p.eval.device ?? 'cpu' });
  onStage(`distill ${p.distill.steps} steps (${p.distill.loss === 'kd' ? 'forward KL from the teacher' : p.distill.loss})`);
  const distilled = await stages.distill({ ...p.distill, student: p.prunedDir, teacher: p.teacher, data: p.train, evalData: p.val });
  const evals: CompressOutcome['evals'] = [];
  for (const [name, model] of [['teacher', p.teacher], ['pruned', p.prunedDir], ['distilled', distilled.final]] as const) {
    onStage(`evaluate the ${name} model on the held-out split`);
    evals.push({ name, report: await stages.evaluate({ ...p.eval, model, data: p.val }) });
  }
  return { calibration: { dir: cal.dir, reused: cal.reused }, prune: pruned, distill: distilled, evals };
}
