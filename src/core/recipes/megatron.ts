// Launch recipe for distilling a pruned student from its teacher on a GPU cluster with NVIDIA
// ModelOpt on Megatron-Bridge: a torchrun script, an sbatch variant, the ModelOpt export_config of
// the prune (plus a script that replays the cut there), recipe.json and a README. Nothing is run;
// the user reviews the folder and starts it. Every flag name, default, container and entry point
// comes from the recipe data file (megatron-bridge.json), so upstream renames need no code change.
//
// Inputs are checked before anything is written: teacher/student configs (same vocabulary, TP
// divides every head count), world size vs TP×PP, global batch vs micro batch × data-parallel
// size, LR schedule. The scripts re-check every input path when they start on the cluster.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSpec, type HybridModelSpec } from '../arch/index';
import { HybridCompressError } from '../errors';
import { parseJson } from '../util/json';
import { readConfigText } from '../arch/config-codec';
import type { RecipeData } from './data';
import { exportConfigFromChanges, exportConfigFromConfigs, modelTypeOf, PLAN_FORMAT, type ExportConfigResult } from './export-config';
import { humanTokens, pruneReplayScript, readme, recipeJson, sbatchScript, torchrunScript, type ScriptContext } from './megatron-scripts';

export { mountDirs } from './megatron-scripts';
import { PLAN_FILE } from '../runs/layout';

export interface DataSource {
  weight: number;
  /** Megatron indexed-dataset prefix (the path without .bin / .idx). */
  prefix: string;
}

export interface MegatronRecipeOptions {
  /** Teacher HF checkpoint folder, or a Hugging Face Hub id (org/name) when not a local path. */
  teacher: string;
  /** Pruned student HF checkpoint folder (local: its config.json and pruning_plan.json are read). */
  student: string;
  data: DataSource[];
  /** Use Megatron's mock dataset instead of `data` (smoke tests only). */
  mockData?: boolean;
  /** Folder the recipe files are written to. */
  out: string;
  /** Megatron's --output_dir (checkpoints, tb_logs, logs); default `out`. */
  outputDir?: string;
  steps: number;
  tp?: number;
  pp?: number;
  nodes?: number;
  gpusPerNode?: number;
  globalBatch?: number;
  microBatch?: number;
  seqLen?: number;
  lr?: number;
  minLr?: number;
  warmup?: number;
  evalInterval?: number;
  evalIters?: number;
  logInterval?: number;
  kdLossScale?: number;
  /** Add the student's LM (cross-entropy) loss to the KD loss (ModelOpt's --no_skip_lm_loss). */
  lmLoss?: boolean;
  seed?: number;
  /** Export the final student as a Hugging Face checkpoint to <output_dir>/hf_export (default true). */
  hfExport?: boolean;
  /** Host path of a Model-Optimizer checkout (mounted into the container by the sbatch script). */
  modelOptDir?: string;
  /** Container image for the sbatch script (pyxis); null runs srun without a container. */
  container?: string | null;
  partition?: string;
  account?: string;
  time?: string;
  jobName?: string;
  /** pruning_plan.json to read config_changes from (default: the one in the student folder, if any). */
  planFile?: string;
  /** Pipeline-parallel size for the prune replay (its world size must equal it). */
  prunePp?: number;
  /** For reproducible output in tests. */
  now?: Date;
  toolVersion?: string;
}

export interface RecipeFile {
  name: string;
  content: string;
  executable: boolean;
}

export interface ModelInput {
  /** Absolute local path, or the Hub id. */
  path: string;
  hubId: boolean;
  config?: Record<string, unknown>;
  spec?: HybridModelSpec;
}

export interface MegatronRecipe {
  files: RecipeFile[];
  teacher: ModelInput;
  student: ModelInput;
  exportConfig?: ExportConfigResult;
  warnings: string[];
  /** The resolved settings (what recipe.json records). */
  settings: ResolvedSettings;
}

export interface ResolvedSettings {
  tp: number;
  pp: number;
  nodes: number;
  gpusPerNode: number;
  worldSize: number;
  dp: number;
  globalBatch: number;
  microBatch: number;
  gradAccum: number;
  seqLen: number;
  steps: number;
  lr: number;
  minLr: number;
  warmup: number;
  evalInterval: number;
  evalIters: number;
  logInterval: number;
  kdLossScale: number;
  lmLoss: boolean;
  seed: number;
  hfExport: boolean;
  tokensPerStep: number;
  totalTokens: number;
  outputDir: string;
  trustRemoteCode: boolean;
}

const HUB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function optErr(option: string, message: string): HybridCompressError {
  return new HybridCompressError('OPTION_INVALID', `--${option}: ${message}`, { option });
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

function readConfig(dir: string, role: string): Record<string, unknown> {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new HybridCompressError('CHECKPOINT_INVALID', `${role} folder ${dir} has no config.json (expected a Hugging Face checkpoint folder)`, { file });
  return readConfigText(file).values;
}

function modelInput(p: string, role: 'teacher' | 'student', allowHub: boolean): ModelInput {
  const abs = resolve(p);
  if (!existsSync(abs)) {
    if (allowHub && HUB_ID_RE.test(p) && !p.startsWith('.')) return { path: p, hubId: true };
    throw optErr(role, `${abs} does not exist${allowHub ? ' (give a checkpoint folder, or a Hugging Face Hub id like nvidia/Nemotron-H-8B-Base-8K)' : ' (give the pruned checkpoint folder)'}`);
  }
  const config = readConfig(abs, role);
  return { path: abs, hubId: false, config, spec: buildSpec(config) };
}

/** Head counts and widths TP must divide (for the layer kinds the model has); returns the offending facts. */
function tpProblems(spec: HybridModelSpec, tp: number, role: string): string[] {
  const has = (k: string) => spec.pattern.includes(k);
  const checks: [string, number | undefined][] = [
    ['num_attention_heads', has('*') ? spec.attention?.numHeads : undefined],
    ['num_key_value_heads', has('*') ? spec.attention?.numKvHeads : undefined],
    ['mamba_num_heads', has('M') ? spec.mamba?.numHeads : undefined],
    ['n_groups', has('M') ? spec.mamba?.nGroups : undefined],
    ['intermediate_size', has('-') ? spec.mlp?.intermediateSize : undefined],
  ];
  const out: string[] = [];
  for (const [k, v] of checks) if (v !== undefined && v % tp !== 0) out.push(`${role} ${k}=${v}`);
  return out;
}

function validTps(specs: HybridModelSpec[], gpusPerNode: number): number[] {
  return divisors(gpusPerNode).filter((tp) => specs.every((s) => tpProblems(s, tp, '').length === 0));
}

function nearbyBatches(unit: number, gbs: number): string {
  const lo = Math.max(unit, Math.floor(gbs / unit) * unit);
  const hi = Math.ceil(gbs / unit) * unit;
  return lo === hi ? String(lo) : `${lo} or ${hi}`;
}

function resolveSettings(o: MegatronRecipeOptions, data: RecipeData): ResolvedSettings {
  const d = data.distill.defaults;
  const int = (name: string, v: number | undefined, def: number, min: number): number => {
    const x = v ?? def;
    if (!Number.isInteger(x) || x < min) throw optErr(name, `must be an integer ≥ ${min}, got ${x}`);
    return x;
  };
  const steps = int('steps', o.steps, 0, 1);
  const tp = int('tp', o.tp, d.tp, 1);
  const pp = int('pp', o.pp, d.pp, 1);
  const nodes = int('nodes', o.nodes, 1, 1);
  const gpusPerNode = int('gpus-per-node', o.gpusPerNode, 8, 1);
  const globalBatch = int('global-batch', o.globalBatch, d.global_batch, 1);
  const microBatch = int('micro-batch', o.microBatch, d.micro_batch, 1);
  const seqLen = int('seq-len', o.seqLen, d.seq_length, 1);
  const warmup = int('warmup', o.warmup, d.warmup, 0);
  const evalInterval = int('eval-interval', o.evalInterval, d.eval_interval, 1);
  const evalIters = int('eval-iters', o.evalIters, d.eval_iters, 1);
  const logInterval = int('log-interval', o.logInterval, d.log_interval, 1);
  const seed = int('seed', o.seed, d.seed, 0);
  const lr = o.lr ?? d.lr;
  const minLr = o.minLr ?? d.min_lr;
  const kdLossScale = o.kdLossScale ?? d.kd_loss_scale;
  if (!(lr > 0) || !Number.isFinite(lr)) throw optErr('lr', `must be a positive number, got ${lr}`);
  if (!(minLr >= 0) || minLr > lr) throw optErr('min-lr', `must be between 0 and --lr (${lr}), got ${minLr}`);
  if (!(kdLossScale > 0) || !Number.isFinite(kdLossScale)) throw optErr('kd-loss-scale', `must be a positive number, got ${kdLossScale}`);
  if (warmup >= steps) throw optErr('warmup', `(${warmup}) must be smaller than --steps (${steps})`);
  const worldSize = nodes * gpusPerNode;
  if (worldSize % (tp * pp) !== 0) {
    const ok = divisors(worldSize).join(', ');
    throw optErr('tp', `TP×PP = ${tp}×${pp} = ${tp * pp} must divide the world size nodes×gpus-per-node = ${worldSize} (TP×PP may be any of ${ok})`);
  }
  if (tp > gpusPerNode) throw optErr('tp', `${tp} exceeds --gpus-per-node ${gpusPerNode}: tensor parallelism must stay inside a node`);
  const dp = worldSize / (tp * pp);
  if (globalBatch % (microBatch * dp) !== 0) {
    throw optErr('global-batch', `${globalBatch} must be a multiple of micro-batch × data-parallel size = ${microBatch}×${dp} = ${microBatch * dp} (e.g. ${nearbyBatches(microBatch * dp, globalBatch)})`);
  }
  return {
    tp, pp, nodes, gpusPerNode, worldSize, dp, globalBatch, microBatch, gradAccum: globalBatch / (microBatch * dp), seqLen, steps, lr, minLr, warmup,
    evalInterval, evalIters, logInterval, kdLossScale, lmLoss: o.lmLoss ?? false, seed, hfExport: o.hfExport ?? true,
    tokensPerStep: globalBatch * seqLen, totalTokens: globalBatch * seqLen * steps,
    outputDir: resolve(o.outputDir ?? o.out), trustRemoteCode: false,
  };
}

function readPlan(file: string): { changes: Record<string, unknown>; dropped: number[] } | { problem: string } {
  let v: unknown;
  try {
    v = parseJson(readFileSync(file, 'utf8'), { allowNonFinite: true });
  } catch (e) {
    return { problem: `${file} is not readable JSON (${(e as Error).message})` };
  }
  const o = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  if (!o || o['format'] !== PLAN_FORMAT) return { problem: `${file} is not a ${PLAN_FORMAT} pruning plan (format: ${JSON.stringify(o?.['format'])})` };
  const changes = o['config_changes'];
  if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) return { problem: `${file} has no "config_changes" object` };
  const dropped = Array.isArray(o['dropped_layers']) ? (o['dropped_layers'] as unknown[]).filter((x): x is number => typeof x === 'number') : [];
  return { changes: changes as Record<string, unknown>, dropped };
}


/** Checks the inputs and builds every file of the recipe (nothing is written). */
export function planMegatronRecipe(o: MegatronRecipeOptions, data: RecipeData): MegatronRecipe {
  const warnings: string[] = [];
  const s = resolveSettings(o, data);
  const teacher = modelInput(o.teacher, 'teacher', true);
  const student = modelInput(o.student, 'student', false);
  if (teacher.hubId) warnings.push(`teacher "${teacher.path}" is not a local folder and is used as a Hugging Face Hub id: the cluster needs Hub access (or HF_HOME with it cached)`);

  // KD needs one vocabulary; Megatron needs TP to divide every head count of both models.
  const specs = [student.spec!, ...(teacher.spec ? [teacher.spec] : [])];
  if (teacher.spec && teacher.spec.vocabSize !== student.spec!.vocabSize) {
    throw new HybridCompressError('CONFIG_INVALID', `teacher vocab_size ${teacher.spec.vocabSize} ≠ student vocab_size ${student.spec!.vocabSize}: distillation needs the same tokenizer and vocabulary`, { option: 'student' });
  }
  const tpBad = [...tpProblems(student.spec!, s.tp, 'student'), ...(teacher.spec ? tpProblems(teacher.spec, s.tp, 'teacher') : [])];
  if (tpBad.length > 0) throw optErr('tp', `${s.tp} does not divide ${tpBad.join(', ')} (valid TP values here: ${validTps(specs, s.gpusPerNode).join(', ')})`);
  for (const sp of specs) if (s.pp > sp.numLayers) throw optErr('pp', `${s.pp} exceeds the ${sp.numLayers} layers of ${sp === student.spec ? 'the student' : 'the teacher'}`);
  for (const sp of specs) if (!sp.runnable) warnings.push(`model_type ${sp.modelType} is not one this tool runs; check that Megatron-Bridge supports it`);
  s.trustRemoteCode = data.trust_remote_code_model_types.includes(String(student.config!['model_type']));

  // Data: Megatron indexed datasets (.bin/.idx); tokenized text is a preparation step away.
  if (o.mockData) {
    if (o.data.length > 0) throw optErr('mock-data', 'cannot be combined with --data');
    warnings.push('--mock-data: Megatron trains on random tokens; use this only as a smoke test of the launch');
  } else if (o.data.length === 0) {
    throw optErr('data', 'at least one Megatron dataset prefix is required (the path without .bin/.idx, e.g. /data/corpus_text_document), or --mock-data for a smoke test');
  }
  const data2: DataSource[] = o.data.map((d) => {
    if (!(d.weight > 0) || !Number.isFinite(d.weight)) throw optErr('data', `weight ${d.weight} of ${d.prefix} must be a positive number`);
    let prefix = resolve(d.prefix);
    const ext = /\.(bin|idx)$/.exec(prefix);
    if (ext) {
      prefix = prefix.slice(0, -4);
      warnings.push(`--data ${d.prefix}: using the dataset prefix ${prefix} (without .${ext[1]})`);
    }
    if (/\.(jsonl?|parquet|txt|arrow)$/i.test(prefix)) {
      throw optErr('data', `${prefix} looks like raw text; Megatron needs a tokenized indexed dataset (<prefix>.bin + <prefix>.idx). ${data.distill.data_format}`);
    }
    if (!existsSync(`${prefix}.bin`) || !existsSync(`${prefix}.idx`)) warnings.push(`${prefix}.bin/.idx not found on this machine; the scripts check again on the cluster`);
    return { weight: d.weight, prefix };
  });

  // export_config: from the plan beside the student, else from the two configs.
  let exportConfig: ExportConfigResult | undefined;
  const planFile = o.planFile !== undefined ? resolve(o.planFile) : join(student.path, PLAN_FILE);
  if (o.planFile !== undefined && !existsSync(planFile)) throw optErr('plan', `${planFile} does not exist`);
  if (existsSync(planFile)) {
    const plan = readPlan(planFile);
    if ('problem' in plan) warnings.push(`${plan.problem}; deriving the export_config from the configs instead`);
    else exportConfig = exportConfigFromChanges(plan.changes, modelTypeOf(student.config!), data, { teacherConfig: teacher.config, droppedLayers: plan.dropped, planFile });
  }
  if (!exportConfig && teacher.config) exportConfig = exportConfigFromConfigs(teacher.config, student.config!, data);
  if (!exportConfig) warnings.push('no export_config: the teacher is a Hub id and the student has no pruning_plan.json');
  else if (Object.keys(exportConfig.exportConfig).length === 0) warnings.push('the student has the teacher\'s shape: the export_config is empty (nothing was pruned?)');

  if (s.totalTokens < 1e9) warnings.push(`this run sees ${humanTokens(s.totalTokens)} tokens; ModelOpt's pruning guide: ${data.recommendations.text}`);
  for (const [name, v] of [['partition', o.partition], ['account', o.account], ['job-name', o.jobName]] as const) {
    if (v !== undefined && !/^[A-Za-z0-9_.,:-]+$/.test(v)) throw optErr(name, `${JSON.stringify(v)} may only contain letters, digits and _ . , : -`);
  }
  const time = o.time ?? data.slurm.default_time;
  if (!/^(\d+-)?\d{1,3}(:\d{2}){0,2}$/.test(time)) throw optErr('time', `${JSON.stringify(time)} is not a Slurm time limit (e.g. 04:00:00 or 2-00:00:00)`);

  const ctx: ScriptContext = { o, data, s, teacher, student, dataSources: data2, exportConfig, time, warnings };
  const files: RecipeFile[] = [
    { name: 'distill_torchrun.sh', content: torchrunScript(ctx), executable: true },
    { name: 'distill_slurm.sbatch', content: sbatchScript(ctx), executable: true },
  ];
  if (exportConfig && Object.keys(exportConfig.exportConfig).length > 0 && !teacher.hubId) {
    files.push({ name: 'modelopt_export_config.json', content: JSON.stringify(exportConfig.exportConfig, null, 2) + '\n', executable: false });
    files.push({ name: 'prune_replay.sh', content: pruneReplayScript(ctx), executable: true });
  } else if (exportConfig && Object.keys(exportConfig.exportConfig).length > 0) {
    files.push({ name: 'modelopt_export_config.json', content: JSON.stringify(exportConfig.exportConfig, null, 2) + '\n', executable: false });
  }
  files.push({ name: 'recipe.json', content: JSON.stringify(recipeJson(ctx, files), null, 2) + '\n', executable: false });
  files.push({ name: 'README.md', content: readme(ctx, files), executable: false });
  return { files, teacher, student, exportConfig, warnings, settings: s };
}

/** Writes the recipe into `o.out` (refusing to overwrite existing recipe files unless `force`). */
export function writeMegatronRecipe(dir: string, recipe: MegatronRecipe, opts: { force?: boolean } = {}): string[] {
  const out = resolve(dir);
  const clash = recipe.files.filter((f) => existsSync(join(out, f.name))).map((f) => f.name);
  if (clash.length > 0 && !opts.force) throw optErr('out', `${out} already has ${clash.join(', ')}; use --force to overwrite`);
  mkdirSync(out, { recursive: true });
  // Slurm does not create the folder of --output; the scripts write their logs there too.
  if (recipe.settings.outputDir === out) mkdirSync(join(out, 'logs'), { recursive: true });
  const written: string[] = [];
  for (const f of recipe.files) {
    const p = join(out, f.name);
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, f.content, { mode: f.executable ? 0o755 : 0o644 });
    renameSync(tmp, p);
    written.push(p);
  }
  return written;
}
