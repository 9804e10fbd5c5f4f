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
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { buildSpec, type HybridModelSpec } from '../arch/index';
import { decodeConfig } from '../arch/config-codec';
import { HybridCompressError } from '../errors';
import { parseJson } from '../util/json';
import type { RecipeData } from './data';
import { exportConfigFromChanges, exportConfigFromConfigs, modelTypeOf, PLAN_FORMAT, type ExportConfigResult } from './export-config';
import { shq } from './shell';

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
const MOUNT_SAFE_RE = /^[^,:]+$/;
const SBATCH_SAFE_RE = /^[A-Za-z0-9_@%+=.,/-]+$/;

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
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new HybridCompressError('CHECKPOINT_INVALID', `${role} folder ${dir} has no readable config.json (expected a Hugging Face checkpoint folder)`, { file });
  }
  return decodeConfig(text, file);
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

/** Folders to mount into the container: each input's folder, nested ones dropped. */
export function mountDirs(paths: string[]): string[] {
  const uniq = [...new Set(paths.map((p) => resolve(p)))].sort();
  return uniq.filter((p) => !uniq.some((q) => q !== p && !relative(q, p).startsWith('..') && !isAbsolute(relative(q, p))));
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

function humanTokens(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)}T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  return String(n);
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
  const planFile = o.planFile !== undefined ? resolve(o.planFile) : join(student.path, 'pruning_plan.json');
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

interface ScriptContext {
  o: MegatronRecipeOptions;
  data: RecipeData;
  s: ResolvedSettings;
  teacher: ModelInput;
  student: ModelInput;
  dataSources: DataSource[];
  exportConfig?: ExportConfigResult;
  time: string;
  warnings: string[];
}

function header(ctx: ScriptContext, what: string): string[] {
  const { data } = ctx;
  const src = data.taken_from['model_optimizer_distill'];
  return [
    '#!/usr/bin/env bash',
    `# ${what}`,
    `# Generated by hybrid-compress${ctx.o.toolVersion ? ` ${ctx.o.toolVersion}` : ''} on ${(ctx.o.now ?? new Date()).toISOString()}. Review it; nothing has been run.`,
    `# Knowledge distillation of a pruned student from its teacher with NVIDIA ModelOpt on Megatron-Bridge.`,
    `# Entry point ${data.distill.entry_point} of ${src?.repo ?? 'Model-Optimizer'}${src ? ` (flags as of commit ${src.commit.slice(0, 12)})` : ''};`,
    `# container ${ctx.o.container ?? data.container.image}. All assumptions: recipe.json → "assumptions".`,
  ];
}

/** The variable block naming every input and output path. */
function inputsBlock(ctx: ScriptContext): string[] {
  const { s, teacher, student } = ctx;
  const lines = ['', '# ---- inputs and outputs: every path this run reads or writes ----'];
  lines.push(`TEACHER=${shq(teacher.path)}${teacher.hubId ? '  # Hugging Face Hub id' : ''}`);
  lines.push(`STUDENT=${shq(student.path)}`);
  if (ctx.dataSources.length > 0) {
    lines.push('# Megatron blend: weight prefix [weight prefix ...]; each prefix needs <prefix>.bin and <prefix>.idx');
    lines.push(`DATA_PATHS=(${ctx.dataSources.map((d) => `${d.weight} ${shq(d.prefix)}`).join(' ')})`);
  }
  lines.push(`OUTPUT_DIR=${shq(s.outputDir)}`);
  lines.push('DATA_CACHE="$OUTPUT_DIR/data_cache"');
  if (s.hfExport) lines.push('HF_EXPORT="$OUTPUT_DIR/hf_export"');
  return lines;
}

function checksBlock(ctx: ScriptContext, modelOptVar: string): string[] {
  const { teacher } = ctx;
  const lines = [
    '',
    'fail() { echo "distill: $*" >&2; exit 1; }',
    'need_file() { [ -f "$1" ] || fail "$2 not found: $1"; }',
  ];
  if (!teacher.hubId) lines.push('need_file "$TEACHER/config.json" "teacher checkpoint (config.json)"');
  lines.push('need_file "$STUDENT/config.json" "student checkpoint (config.json)"');
  if (ctx.dataSources.length > 0) {
    lines.push('for ((i = 1; i < ${#DATA_PATHS[@]}; i += 2)); do');
    lines.push('  need_file "${DATA_PATHS[i]}.bin" "dataset"');
    lines.push('  need_file "${DATA_PATHS[i]}.idx" "dataset index"');
    lines.push('done');
  }
  lines.push(`need_file "${modelOptVar}/${ctx.data.distill.entry_point}" "ModelOpt ${ctx.data.distill.entry_point} (set ${modelOptVar.slice(1)} to a Model-Optimizer checkout)"`);
  return lines;
}

/** distill.py's arguments, one per line, as shell words. */
function distillArgs(ctx: ScriptContext, entry: string): string[] {
  const { s, data } = ctx;
  const f = data.distill.flags;
  const a: string[] = [entry, `${f.teacher} "$TEACHER"`, `${f.student} "$STUDENT"`];
  if (s.trustRemoteCode) a.push(f.trust_remote_code);
  a.push(`${f.tp} ${s.tp}`, `${f.pp} ${s.pp}`);
  if (ctx.dataSources.length > 0) a.push(`${f.data_paths} "\${DATA_PATHS[@]}"`, `${f.data_cache} "$DATA_CACHE"`);
  else a.push(f.mock_data);
  a.push(
    `${f.seq_length} ${s.seqLen}`,
    `${f.micro_batch} ${s.microBatch}`,
    `${f.global_batch} ${s.globalBatch}`,
    `${f.train_iters} ${s.steps}`,
    `${f.lr} ${s.lr}`,
    `${f.min_lr} ${s.minLr}`,
    `${f.warmup} ${s.warmup}`,
    `${f.eval_interval} ${s.evalInterval}`,
    `${f.eval_iters} ${s.evalIters}`,
    `${f.log_interval} ${s.logInterval}`,
    `${f.kd_loss_scale} ${s.kdLossScale}`,
  );
  if (s.lmLoss) a.push(f.no_skip_lm_loss);
  a.push(`${f.seed} ${s.seed}`, `${f.output_dir} "$OUTPUT_DIR"`);
  if (s.hfExport) a.push(`${f.hf_export} "$HF_EXPORT"`);
  return a;
}

function continued(cmd: string, args: string[], indent = '  '): string[] {
  const all = [cmd, ...args];
  return all.map((x, i) => (i === 0 ? x : indent + x) + (i < all.length - 1 ? ' \\' : ''));
}

function dockerHint(ctx: ScriptContext): string[] {
  const { data } = ctx;
  const mounts = mountDirs(scriptPaths(ctx)).map((p) => `-v ${shq(`${p}:${p}`)}`);
  const mo = data.container.modelopt_mounts.map(([sub, target]) => `-v "$MODELOPT_HOST_DIR${sub ? '/' + sub : ''}":${shq(target)}`);
  return [
    '# Run it inside the container on every node, e.g.:',
    `#   docker run ${data.container.docker_flags.join(' ')} ${mo.join(' ')} \\`,
    `#     ${mounts.join(' ')} \\`,
    `#     ${ctx.o.container ?? data.container.image} bash ${shq(join(resolve(ctx.o.out), 'distill_torchrun.sh'))}`,
    '# (MODELOPT_HOST_DIR = your Model-Optimizer checkout; multi-node: also pass -e NODE_RANK=<0..N-1> -e MASTER_ADDR=<node 0>.)',
  ];
}

/** Local paths the run touches (for container mounts). */
function scriptPaths(ctx: ScriptContext): string[] {
  const p: string[] = [];
  if (!ctx.teacher.hubId) p.push(ctx.teacher.path);
  p.push(ctx.student.path, ...ctx.dataSources.map((d) => dirname(d.prefix)), ctx.s.outputDir);
  return p;
}

function torchrunScript(ctx: ScriptContext): string {
  const { s, data } = ctx;
  const lines = [...header(ctx, 'Launch with torchrun (inside the NeMo container, or any environment with ModelOpt + Megatron-Bridge).'), ...dockerHint(ctx), 'set -euo pipefail'];
  lines.push(...inputsBlock(ctx));
  lines.push(`MODELOPT_DIR="\${MODELOPT_DIR:-${data.container.modelopt_dir}}"`);
  lines.push('', '# ---- parallelism ----');
  lines.push(`NNODES=${s.nodes}`, `GPUS_PER_NODE=${s.gpusPerNode}  # TP=${s.tp} × PP=${s.pp} × DP=${s.dp} = ${s.worldSize} GPUs`);
  if (s.nodes > 1) {
    lines.push('NODE_RANK="${NODE_RANK:?set NODE_RANK to the index of this node, 0..$((NNODES - 1))}"');
    lines.push('MASTER_ADDR="${MASTER_ADDR:?set MASTER_ADDR to the address of node 0}"');
    lines.push(`MASTER_PORT="\${MASTER_PORT:-${data.slurm.master_port}}"`);
  } else lines.push('NODE_RANK=0');
  lines.push(...checksBlock(ctx, '$MODELOPT_DIR'));
  lines.push(`if [ "\${HC_SKIP_ENV_CHECK:-0}" != 1 ]; then`);
  lines.push(`  python -c ${shq(data.container.env_check)} 2>/dev/null || fail "ModelOpt / Megatron-Bridge are not importable here: run this inside ${ctx.o.container ?? data.container.image} (or set HC_SKIP_ENV_CHECK=1)"`);
  lines.push('fi');
  lines.push('mkdir -p "$OUTPUT_DIR/logs"', '');
  const launcher = s.nodes > 1
    ? ['torchrun', '--nnodes "$NNODES"', '--nproc_per_node "$GPUS_PER_NODE"', '--node_rank "$NODE_RANK"', '--master_addr "$MASTER_ADDR"', '--master_port "$MASTER_PORT"']
    : ['torchrun', '--standalone', '--nnodes "$NNODES"', '--nproc_per_node "$GPUS_PER_NODE"'];
  const cmd = continued(launcher[0]!, [...launcher.slice(1), ...distillArgs(ctx, `"$MODELOPT_DIR/${data.distill.entry_point}"`)]);
  cmd[cmd.length - 1] += ' \\';
  cmd.push('  2>&1 | tee -a "$OUTPUT_DIR/logs/distill_node${NODE_RANK}.log"');
  lines.push(...cmd, '');
  return lines.join('\n');
}

function sbatchScript(ctx: ScriptContext): string {
  const { s, data, o } = ctx;
  const container = o.container === null ? undefined : (o.container ?? data.container.image);
  const lines = [...header(ctx, 'Slurm batch script: one task per node, each running torchrun (c10d rendezvous).')];
  lines.push(`#SBATCH --job-name=${o.jobName ?? 'hc-distill'}`);
  lines.push(`#SBATCH --nodes=${s.nodes}`, '#SBATCH --ntasks-per-node=1', `#SBATCH --gpus-per-node=${s.gpusPerNode}`, '#SBATCH --exclusive', `#SBATCH --time=${ctx.time}`);
  if (o.partition) lines.push(`#SBATCH --partition=${o.partition}`);
  if (o.account) lines.push(`#SBATCH --account=${o.account}`);
  const logOut = `${s.outputDir}/logs/slurm-%j.out`;
  if (SBATCH_SAFE_RE.test(logOut)) lines.push(`#SBATCH --output=${logOut}`);
  else ctx.warnings.push(`the output folder's path has characters an #SBATCH line cannot carry; pass --output=<file> to sbatch yourself`);
  lines.push(`# Submit: sbatch ${shq(join(resolve(o.out), 'distill_slurm.sbatch'))}   (re-submitting resumes from $OUTPUT_DIR/${data.distill.outputs.checkpoints})`);
  lines.push('set -euo pipefail');
  lines.push(...inputsBlock(ctx));
  const modelOptHost = o.modelOptDir !== undefined ? resolve(o.modelOptDir) : undefined;
  if (container) {
    lines.push('# Model-Optimizer checkout on the cluster, mounted into the container');
    lines.push(modelOptHost !== undefined ? `MODELOPT_HOST_DEFAULT=${shq(modelOptHost)}` : 'MODELOPT_HOST_DEFAULT="$HOME/Model-Optimizer"');
    lines.push('MODELOPT_HOST_DIR="${MODELOPT_HOST_DIR:-$MODELOPT_HOST_DEFAULT}"');
    lines.push(`MODELOPT_DIR=${shq(data.container.modelopt_dir)}  # its path inside the container`);
    lines.push(`CONTAINER_IMAGE="\${CONTAINER_IMAGE:-${container}}"`);
  } else {
    lines.push(modelOptHost !== undefined ? `MODELOPT_DEFAULT=${shq(modelOptHost)}` : 'MODELOPT_DEFAULT="$HOME/Model-Optimizer"');
    lines.push('MODELOPT_DIR="${MODELOPT_DIR:-$MODELOPT_DEFAULT}"');
  }
  lines.push(...checksBlock(ctx, container ? '$MODELOPT_HOST_DIR' : '$MODELOPT_DIR'));
  lines.push('mkdir -p "$OUTPUT_DIR/logs"');
  // mapfile rather than `| head -n 1`: under pipefail, head closing the pipe early kills scontrol (SIGPIPE) and the job.
  lines.push('', 'mapfile -t NODES < <(scontrol show hostnames "$SLURM_JOB_NODELIST")', '[ "${#NODES[@]}" -gt 0 ] || fail "scontrol listed no hosts for SLURM_JOB_NODELIST=${SLURM_JOB_NODELIST:-}"', 'MASTER_ADDR="${NODES[0]}"', `MASTER_PORT=${data.slurm.master_port}`);
  const srun: string[] = [];
  if (container) {
    const dirs = mountDirs(scriptPaths(ctx));
    const unsafe = dirs.filter((d) => !MOUNT_SAFE_RE.test(d));
    if (unsafe.length > 0) throw optErr('out', `pyxis --container-mounts cannot express paths containing "," or ":" (${unsafe.join(', ')}); rename them or use --no-container`);
    lines.push('case "$MODELOPT_HOST_DIR" in *,* | *:*) fail "MODELOPT_HOST_DIR must not contain , or : (pyxis mount syntax)";; esac');
    lines.push(`MOUNTS=${shq(dirs.map((d) => `${d}:${d}`).join(','))}`);
    for (const [sub, target] of data.container.modelopt_mounts) lines.push(`MOUNTS+=",$MODELOPT_HOST_DIR${sub ? '/' + sub : ''}:${target}"`);
    const px = data.slurm.pyxis_flags;
    srun.push(`${px.image}="$CONTAINER_IMAGE"`, `${px.mounts}="$MOUNTS"`, `${px.workdir}="$MODELOPT_DIR/${dirname(data.distill.entry_point)}"`);
  }
  lines.push('');
  const args = [
    ...srun,
    'torchrun',
    '--nnodes "$SLURM_NNODES"',
    `--nproc_per_node ${s.gpusPerNode}`,
    '--rdzv_id "$SLURM_JOB_ID"',
    '--rdzv_backend c10d',
    '--rdzv_endpoint "$MASTER_ADDR:$MASTER_PORT"',
    ...distillArgs(ctx, `"$MODELOPT_DIR/${data.distill.entry_point}"`),
  ];
  lines.push(...continued('srun', args), '');
  return lines.join('\n');
}

function pruneReplayScript(ctx: ScriptContext): string {
  const { data, exportConfig } = ctx;
  const f = data.prune.flags;
  const src = data.taken_from['model_optimizer_prune'];
  const pp = ctx.o.prunePp ?? 1;
  const lines = [
    '#!/usr/bin/env bash',
    '# Replays the prune on Megatron-Bridge with ModelOpt: cuts the teacher to the student\'s architecture.',
    `# Generated by hybrid-compress on ${(ctx.o.now ?? new Date()).toISOString()}. Review it; nothing has been run.`,
    `# Entry point ${data.prune.entry_point}${src ? ` (${src.repo} at ${src.commit.slice(0, 12)})` : ''}; ${data.prune.world_size_rule}.`,
    `# ModelOpt ranks channels with its own calibration (default ${data.prune.calibration_default}),`,
    '# so this reproduces the shape, not the exact channels kept here. Notes:',
    ...(exportConfig?.notes.length ? exportConfig.notes.map((n) => `#   - ${n}`) : ['#   (none)']),
    'set -euo pipefail',
    '',
    `TEACHER=${shq(ctx.teacher.path)}`,
    `PRUNED_OUT=${shq(join(ctx.s.outputDir, 'modelopt_pruned_hf'))}`,
    `EXPORT_CONFIG=${shq(JSON.stringify(exportConfig!.exportConfig))}`,
    `MODELOPT_DIR="\${MODELOPT_DIR:-${data.container.modelopt_dir}}"`,
    `PRUNE_PP=${pp}`,
    '',
    'fail() { echo "prune_replay: $*" >&2; exit 1; }',
    '[ -f "$TEACHER/config.json" ] || fail "teacher checkpoint not found: $TEACHER"',
    `[ -f "$MODELOPT_DIR/${data.prune.entry_point}" ] || fail "ModelOpt ${data.prune.entry_point} not found under MODELOPT_DIR=$MODELOPT_DIR"`,
    '',
  ];
  const args = [`"$MODELOPT_DIR/${data.prune.entry_point}"`, `${f.model} "$TEACHER"`];
  if (ctx.s.trustRemoteCode) args.push(f.trust_remote_code);
  args.push(`${f.pp} "$PRUNE_PP"`, `${f.export_config} "$EXPORT_CONFIG"`, `${f.seq_length} ${ctx.s.seqLen}`, `${f.output_hf} "$PRUNED_OUT"`);
  lines.push(...continued('torchrun', ['--standalone', '--nproc_per_node "$PRUNE_PP"', ...args]), '');
  return lines.join('\n');
}

function recipeJson(ctx: ScriptContext, files: RecipeFile[]): unknown {
  const { s, data } = ctx;
  return {
    format: 'hybrid-compress/recipe@1',
    kind: 'megatron-bridge-distill',
    generated_at: (ctx.o.now ?? new Date()).toISOString(),
    inputs: {
      teacher: { path: ctx.teacher.path, hub_id: ctx.teacher.hubId },
      student: { path: ctx.student.path },
      data: ctx.dataSources.map((d) => ({ weight: d.weight, prefix: d.prefix, files: [`${d.prefix}.bin`, `${d.prefix}.idx`] })),
      mock_data: ctx.o.mockData ?? false,
      output_dir: s.outputDir,
    },
    parallelism: { nodes: s.nodes, gpus_per_node: s.gpusPerNode, world_size: s.worldSize, tp: s.tp, pp: s.pp, dp: s.dp, grad_accum: s.gradAccum },
    training: {
      steps: s.steps, global_batch: s.globalBatch, micro_batch: s.microBatch, seq_length: s.seqLen, lr: s.lr, min_lr: s.minLr, warmup: s.warmup,
      eval_interval: s.evalInterval, eval_iters: s.evalIters, log_interval: s.logInterval, kd_loss_scale: s.kdLossScale, lm_loss: s.lmLoss, seed: s.seed,
      tokens_per_step: s.tokensPerStep, total_tokens: s.totalTokens, schedule: data.distill.schedule,
    },
    outputs: {
      checkpoints: join(s.outputDir, data.distill.outputs.checkpoints),
      tensorboard: join(s.outputDir, data.distill.outputs.tensorboard),
      logs: join(s.outputDir, 'logs'),
      ...(s.hfExport ? { hf_export: join(s.outputDir, 'hf_export') } : {}),
    },
    export_config: ctx.exportConfig ? { values: ctx.exportConfig.exportConfig, source: ctx.exportConfig.source, notes: ctx.exportConfig.notes } : null,
    assumptions: {
      container: ctx.o.container === null ? null : (ctx.o.container ?? data.container.image),
      container_note: data.container.note,
      distill_entry_point: data.distill.entry_point,
      prune_entry_point: data.prune.entry_point,
      trust_remote_code: s.trustRemoteCode,
      resume: data.distill.resume,
      data_format: data.distill.data_format,
      slurm_launcher: data.slurm.launcher,
      taken_from: data.taken_from,
    },
    warnings: ctx.warnings,
    files: files.map((f) => f.name),
  };
}

function readme(ctx: ScriptContext, files: RecipeFile[]): string {
  const { s, data } = ctx;
  const has = (n: string) => files.some((f) => f.name === n);
  const ec = ctx.exportConfig;
  return [
    '# Distillation on a cluster (Megatron-Bridge + ModelOpt)',
    '',
    `Generated by hybrid-compress on ${(ctx.o.now ?? new Date()).toISOString()}. Nothing has been run. Review, then start one of the scripts.`,
    '',
    '| | |',
    '| --- | --- |',
    `| teacher | \`${ctx.teacher.path}\`${ctx.teacher.hubId ? ' (Hub id)' : ''} |`,
    `| student | \`${ctx.student.path}\` |`,
    `| data | ${ctx.dataSources.length > 0 ? ctx.dataSources.map((d) => `${d.weight} × \`${d.prefix}\``).join(', ') : 'mock data'} |`,
    `| output | \`${s.outputDir}\` (checkpoints/, ${data.distill.outputs.tensorboard}/, logs/${s.hfExport ? ', hf_export/' : ''}) |`,
    `| GPUs | ${s.nodes} node(s) × ${s.gpusPerNode} = ${s.worldSize}: TP ${s.tp} × PP ${s.pp} × DP ${s.dp} |`,
    `| batch | global ${s.globalBatch} = micro ${s.microBatch} × DP ${s.dp} × accumulation ${s.gradAccum}, sequence ${s.seqLen} (${humanTokens(s.tokensPerStep)} tokens/step) |`,
    `| schedule | ${s.steps} steps (${humanTokens(s.totalTokens)} tokens), LR ${s.lr} → ${s.minLr}, warmup ${s.warmup}; ${data.distill.schedule} |`,
    `| loss | logit KD (forward KL)${s.lmLoss ? ' + LM loss' : ''}, kd_loss_scale ${s.kdLossScale} |`,
    `| container | ${ctx.o.container === null ? 'none (srun in the host environment)' : (ctx.o.container ?? data.container.image)} |`,
    '',
    '## Files',
    '',
    '- `distill_torchrun.sh`: run on each node inside the container (the header shows a `docker run` line).',
    '- `distill_slurm.sbatch`: `sbatch distill_slurm.sbatch`; one task per node, pyxis container flags. Re-submitting resumes from the latest checkpoint.',
    ...(has('modelopt_export_config.json') ? ['- `modelopt_export_config.json`: the ModelOpt `export_config` of this prune (' + (ec?.source === 'pruning_plan' ? 'from pruning_plan.json' : 'from the teacher and student configs') + ').'] : []),
    ...(has('prune_replay.sh') ? ['- `prune_replay.sh`: replays the cut with `prune_minitron.py --prune_export_config` (same shape; ModelOpt ranks channels itself).'] : []),
    '- `recipe.json`: every setting and assumption, with the upstream commits the flag names were taken from.',
    '',
    '## Following the run',
    '',
    `\`hybrid-compress curves ${shq(s.outputDir)} --follow\` (or "Open Training Curves…" in VS Code) reads \`${data.distill.outputs.tensorboard}/\` or the Megatron log as it grows.`,
    '',
    ...(ctx.warnings.length > 0 ? ['## Warnings', '', ...ctx.warnings.map((w) => `- ${w}`), ''] : []),
    ...(ec && ec.notes.length > 0 ? ['## export_config notes', '', ...ec.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}
