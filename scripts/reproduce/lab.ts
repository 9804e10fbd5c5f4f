// The measuring bench of `npm run reproduce`: calibration, pruning, distillation and held-out evaluation
// as in-process library calls, every measurement cached in <work>/cache.json under a hash of everything
// that determines it (teacher fingerprint, settings, recipe), so an interrupted run continues where it
// stopped and a rerun with other report wording costs nothing. --fresh ignores the cache.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { HybridModelSpec } from '../../src/core/arch/spec';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { checkpointFingerprint } from '../../src/core/checkpoint/fingerprint';
import { CALIBRATION_DEFAULTS, type CalibrationSettings } from '../../src/core/calibrate/calibrate';
import { calibrationKey } from '../../src/core/calibrate/calibration-run';
import type { MambaHeadRanking } from '../../src/core/calibrate/ranking';
import { loadImportance } from '../../src/core/calibrate/importance-file';
import { buildPlan, planDims, PLAN_FILE, type ImportanceMetric, type PruningPlan } from '../../src/core/prune/plan';
import { defaultEvaluator } from '../../src/core/prune/evaluate';
import { countPrunedParams } from '../../src/core/prune/param-count';
import type { PipelineContext, SearchJobParams } from '../../src/core/prune/job-params';
import { distillCandidates, scoreCandidates } from '../../src/core/prune/search';
import { runSearch, type SearchReport } from '../../src/core/prune/search-job';
import { loadTrain, searchKdSettings, searchRows } from '../../src/core/prune/search-select';
import type { PruneTargets } from '../../src/core/prune/targets';
import { trainSettings } from '../../src/core/distill/settings';
import { inProcessStages, type Stages } from '../../src/core/pipeline/pipeline';
import { misgroupedHeads } from './plan-stats';
import type { ReproduceSettings } from './settings';
import { IMPORTANCE_FILE } from '../../src/core/runs/layout';

export interface PruneRecipe {
  targets: PruneTargets;
  /** Importance from the shared calibration run (default), or seeded random scores. */
  randomSeed?: number;
  /** FFN neurons scored before relu² (a second calibration with --ffn-tap pre; the default run scores after it). */
  ffnTap?: 'pre';
  ranking?: MambaHeadRanking;
  metric?: ImportanceMetric;
}

export interface ZeroShot {
  loss: number;
  params: number;
  tokensPerS: number;
  /** Kept Mamba heads that the pruned model places in another B/C group than the teacher did. */
  misgrouped: number;
  keptMambaHeads: number;
}

export interface Distilled {
  zeroShot: number;
  loss: number;
  params: number;
  msPerStep: number;
  firstTrainLoss: number;
  lastTrainLoss: number;
}

export interface CalibrationInfo {
  dir: string;
  rows: number;
  tokens: number;
  seconds: number;
  depthKlSeconds: number;
}

interface CacheEntry {
  value: unknown;
  seconds: number;
  /** CPU seconds this process used (all threads) and the 1-minute load average when it finished: how much of the machine the measurement had. */
  cpuSeconds?: number;
  load?: number;
  /** Hash of the source code that measured it: any code change invalidates the cache. */
  code?: string;
}

const hash = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);

export class Lab {
  private cache: Record<string, CacheEntry> = {};
  private counted = new Set<string>();
  private current = '';
  readonly seconds = new Map<string, number>();
  /** Over the measurements of this run (reused ones with their original figures). */
  readonly usage = { wall: 0, cpu: 0, loads: [] as number[] };
  /** Measurements reused from the cache, and measured now, in this run. */
  reused = 0;
  measured = 0;
  private readonly calibrations = new Map<string, CalibrationInfo>();
  /** The pipeline's stages as library calls (measured without worker start-up). */
  private readonly stages: Stages;

  private constructor(
    readonly teacher: string,
    readonly train: string,
    readonly val: string,
    readonly work: string,
    readonly s: ReproduceSettings,
    readonly spec: HybridModelSpec,
    readonly fingerprint: string,
    readonly threads: number | undefined,
    private readonly log: (line: string) => void,
    readonly code: string,
  ) {
    this.stages = inProcessStages((l) => this.log(`  ${l}`));
  }

  /** `code`: a hash of the source that measures (sourceHash), so a cached number is never from other code. */
  static async open(o: { teacher: string; train: string; val: string; work: string; settings: ReproduceSettings; fresh: boolean; threads?: number; code: string; log: (line: string) => void }): Promise<Lab> {
    const ckpt = await openCheckpoint(o.teacher);
    let spec: HybridModelSpec;
    let fp: string;
    try {
      spec = ckpt.spec;
      fp = (await checkpointFingerprint(ckpt)).id;
    } finally {
      await ckpt.close();
    }
    mkdirSync(o.work, { recursive: true });
    const lab = new Lab(resolve(o.teacher), resolve(o.train), resolve(o.val), resolve(o.work), o.settings, spec, fp, o.threads, o.log, o.code);
    const file = lab.cacheFile;
    if (!o.fresh && existsSync(file)) lab.cache = JSON.parse(readFileSync(file, 'utf8')) as Record<string, CacheEntry>;
    return lab;
  }

  private get cacheFile(): string {
    return join(this.work, 'cache.json');
  }

  /** Names the section the following measurements' time is booked to. */
  section(name: string): void {
    this.current = name;
    if (!this.seconds.has(name)) this.seconds.set(name, 0);
  }

  private book(id: string, e: CacheEntry): void {
    if (this.counted.has(id)) return;
    this.counted.add(id);
    this.seconds.set(this.current, (this.seconds.get(this.current) ?? 0) + e.seconds);
    if (e.cpuSeconds !== undefined) {
      this.usage.wall += e.seconds;
      this.usage.cpu += e.cpuSeconds;
    }
    if (e.load !== undefined) this.usage.loads.push(e.load);
  }

  private async cached<T>(id: string, what: string, fn: () => Promise<T>): Promise<T> {
    const hit = this.cache[id];
    if (hit && hit.code === this.code) {
      if (!this.counted.has(id)) this.reused++;
      this.book(id, hit);
      return hit.value as T;
    }
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const value = await fn();
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const entry: CacheEntry = { value, seconds, cpuSeconds: (c.user + c.system) / 1e6, load: loadavg()[0], code: this.code };
    this.cache[id] = entry;
    // Atomic, so an interrupted run never leaves a half-written cache behind.
    writeFileSync(`${this.cacheFile}.tmp`, JSON.stringify(this.cache, null, 1));
    renameSync(`${this.cacheFile}.tmp`, this.cacheFile);
    this.measured++;
    this.book(id, entry);
    this.log(`${what}: ${seconds.toFixed(1)} s`);
    return value;
  }

  private calibrationSettings(ffnTap: 'post' | 'pre'): CalibrationSettings {
    const c = this.s.calibration;
    // The FFN-pre variant only needs the width scores: no layer ranking.
    const depth = ffnTap === 'pre' ? 'none' : 'kl';
    return { ...CALIBRATION_DEFAULTS, model: this.teacher, data: this.train, samples: c.samples, seqLen: c.seqLen, batch: c.batch, shuffle: true, seed: c.seed, depth, depthSamples: c.depthSamples, ffnTap, device: 'cpu', threads: this.threads, mode: 'whole' };
  }

  /** The one calibration run every comparison shares (activation + FLAP scores, block importance, KL layer metric); `ffnTap: 'pre'` the variant scoring FFN neurons before relu². */
  async calibrate(ffnTap: 'post' | 'pre' = 'post'): Promise<CalibrationInfo> {
    const known = this.calibrations.get(ffnTap);
    if (known) return known;
    const cs = this.calibrationSettings(ffnTap);
    const { key } = await calibrationKey(cs);
    const dir = join(this.work, 'calibration', key);
    const id = `calibrate-${key}`;
    if (this.cache[id] && !existsSync(join(dir, IMPORTANCE_FILE))) delete this.cache[id];
    const what = ffnTap === 'pre' ? `calibrate (FFN scored before relu²) ${cs.samples} rows × ${cs.seqLen} tokens` : `calibrate ${cs.samples} rows × ${cs.seqLen} tokens (KL on ${cs.depthSamples} rows)`;
    const info = await this.cached(id, what, async () => {
      // A measurement starts clean: a leftover state.json would otherwise resume and skew the timing.
      await rm(dir, { recursive: true, force: true });
      const { result: r } = await this.stages.calibrate(cs, dir);
      return { dir, rows: r.rows, tokens: r.tokens, seconds: r.timings.total_s, depthKlSeconds: r.timings.depth_kl_s } satisfies CalibrationInfo;
    });
    this.calibrations.set(ffnTap, info);
    return info;
  }

  /** Block importance and KL per layer, from the shared calibration. */
  async layerScores(): Promise<{ bi: Float32Array; kl: Float32Array }> {
    const cal = await this.calibrate();
    const scores = await loadImportance(cal.dir);
    const L = [this.spec.numLayers];
    return { bi: scores.require('depth.block_importance', L, 'the depth section'), kl: scores.require('depth.kl', L, 'the depth section') };
  }

  private evalModel(model: string) {
    const e = this.s.eval;
    return this.stages.evaluate({ model, data: this.val, samples: e.samples, seqLen: e.seqLen, batch: e.batch, packing: 'concat', shuffle: true, seed: e.seed, device: 'cpu', threads: this.threads, mode: 'whole' });
  }

  async teacherLoss(): Promise<ZeroShot> {
    const id = `eval-teacher-${hash({ fp: this.fingerprint, e: this.s.eval })}`;
    return this.cached(id, 'evaluate the teacher', async () => {
      const r = await this.evalModel(this.teacher);
      const m = this.spec.mamba && this.spec.pattern.includes('M') ? this.spec.mamba.numHeads * this.spec.pattern.split('').filter((k) => k === 'M').length : 0;
      return { loss: r.loss, params: r.params, tokensPerS: r.tokensPerS, misgrouped: 0, keptMambaHeads: m } satisfies ZeroShot;
    });
  }

  private recipeId(r: PruneRecipe): string {
    // Defaults spelled out, so the same model is never pruned and measured twice under two ids.
    const targets = Object.fromEntries(Object.entries(r.targets).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));
    const importance = r.randomSeed !== undefined ? { random: r.randomSeed } : r.ffnTap === 'pre' ? { calibration: this.s.calibration, ffnTap: 'pre' } : { calibration: this.s.calibration };
    return hash({ fp: this.fingerprint, importance, targets, ranking: r.ranking ?? 'group', metric: r.metric ?? 'activation' });
  }

  /** Writes the pruned model (fast and deterministic, so redone whenever a measurement needs the folder). */
  private async prune(r: PruneRecipe): Promise<{ dir: string; params: number; misgrouped: number; keptMambaHeads: number }> {
    const id = this.recipeId(r);
    const dir = join(this.work, 'models', id);
    const importance = r.randomSeed !== undefined ? 'random' : (await this.calibrate(r.ffnTap ?? 'post')).dir;
    const rep = await this.stages.prune({ model: this.teacher, importance, seed: r.randomSeed, out: dir, targets: r.targets, verify: false, force: true, mambaHeadRanking: r.ranking ?? 'group', metric: r.metric ?? 'activation', device: 'cpu' });
    const plan = JSON.parse(readFileSync(join(dir, PLAN_FILE), 'utf8')) as PruningPlan;
    const g = misgroupedHeads(this.spec, plan);
    return { dir, params: rep.pruned.params, misgrouped: g.misgrouped, keptMambaHeads: g.kept };
  }

  /** Prune, then the held-out loss without any retraining. */
  async zeroShot(r: PruneRecipe, label: string): Promise<ZeroShot> {
    const id = `zs-${this.recipeId(r)}-${hash(this.s.eval)}`;
    return this.cached(id, `zero-shot ${label}`, async () => {
      const p = await this.prune(r);
      const e = await this.evalModel(p.dir);
      return { loss: e.loss, params: p.params, tokensPerS: e.tokensPerS, misgrouped: p.misgrouped, keptMambaHeads: p.keptMambaHeads } satisfies ZeroShot;
    });
  }

  /** Prune, retrain with the fixed budget (forward KL from the teacher, or CE on the data only), evaluate. */
  async distill(r: PruneRecipe, loss: 'kd' | 'ce', label: string): Promise<Distilled> {
    const zs = await this.zeroShot(r, label);
    const id = `${loss}-${this.recipeId(r)}-${hash({ e: this.s.eval, k: this.s.kd })}`;
    return this.cached(id, `${loss === 'kd' ? 'KD' : 'CE'} ${this.s.kd.steps} steps + evaluate: ${label}`, async () => {
      const p = await this.prune(r);
      const k = this.s.kd;
      const ts = trainSettings('distill', {
        student: p.dir,
        teacher: loss === 'kd' ? this.teacher : undefined,
        data: this.train,
        out: join(this.work, 'train', id),
        steps: k.steps,
        batch: k.batch,
        seqLen: k.seqLen,
        seed: k.seed,
        lr: k.lr,
        minLr: k.minLr,
        warmupSteps: k.warmupSteps,
        weightDecay: k.weightDecay,
        clip: k.clip,
        loss,
        temperature: k.temperature,
        evalEvery: 0,
        evalSamples: 0,
        saveEvery: 0,
        device: 'cpu',
        threads: this.threads,
      });
      const res = await this.stages.distill(ts);
      const e = await this.evalModel(res.final);
      return { zeroShot: zs.loss, loss: e.loss, params: p.params, msPerStep: res.msPerStep, firstTrainLoss: res.firstLoss, lastTrainLoss: res.lastLoss } satisfies Distilled;
    });
  }

  private searchContext(): PipelineContext {
    return { signal: new AbortController().signal, progress: () => {}, log: (l) => this.log(`  ${l}`) };
  }

  /** The product's `search` on the teacher with the shared calibration (scored on its rows), in process. */
  async search(r: SearchRecipe, label: string): Promise<SearchReport> {
    const id = `search-${hash({ fp: this.fingerprint, cal: this.s.calibration, r })}`;
    return this.cached(id, `search ${label}`, async () => {
      const cal = await this.calibrate();
      const work = join(this.work, 'search-work');
      mkdirSync(work, { recursive: true });
      return runSearch({ model: this.teacher, importance: cal.dir, device: 'cpu', workDir: work, ...r }, this.searchContext());
    });
  }

  /** The search's candidates with their parameter counts, unscored (`search --candidates-only`): seconds. */
  async candidates(r: SearchRecipe): Promise<SearchReport> {
    const cal = await this.calibrate();
    return runSearch({ model: this.teacher, importance: cal.dir, device: 'cpu', candidatesOnly: true, ...r }, this.searchContext());
  }

  /**
   * The search's short KD of one architecture it did not distill (same settings, same rows), as the
   * paper added its depth-only models to the lightweight-KD set of Table 1.
   */
  async shortKd(targets: PruneTargets, r: SearchRecipe, label: string): Promise<ShortKd> {
    const id = `shortkd-${hash({ fp: this.fingerprint, cal: this.s.calibration, targets, kdSteps: r.kdSteps, kdLr: r.kdLr })}`;
    return this.cached(id, `short KD ${r.kdSteps} steps: ${label}`, async () => {
      const cal = await this.calibrate();
      const ckpt = await openCheckpoint(this.teacher);
      try {
        const scores = await loadImportance(cal.dir);
        const rows = await searchRows(ckpt, scores, {}, []);
        const evaluate = await defaultEvaluator(rows, { device: 'cpu', threads: this.threads });
        const dims = planDims(this.spec, buildPlan(this.spec, scores, targets, this.fingerprint));
        const o = { plan: {}, fingerprint: this.fingerprint, workDir: join(this.work, 'search-work') };
        mkdirSync(o.workDir, { recursive: true });
        const [c] = await scoreCandidates(ckpt, scores, [{ id: 0, targets, dims, params: countPrunedParams(this.spec, dims) }], evaluate, o);
        if (c!.loss === null) throw new Error(`scoring ${label} failed: ${c!.error ?? 'unknown'}`);
        await distillCandidates(ckpt, scores, [c!], evaluate, { ...o, kd: searchKdSettings(this.teacher, rows, { kdSteps: r.kdSteps!, kdLr: r.kdLr, device: 'cpu' }), train: await loadTrain() });
        const after = c!.kd?.lossAfter;
        if (after === null || after === undefined) throw new Error(`short KD of ${label} failed: ${c!.kd?.error ?? 'unknown'}`);
        return { zeroShot: c!.loss, lossAfter: after } satisfies ShortKd;
      } finally {
        await ckpt.close();
      }
    });
  }
}

/** The search's parameters that decide its result (model, importance and work folder are the Lab's). */
export type SearchRecipe = Pick<SearchJobParams, 'targetParams' | 'tolerance' | 'maxWidthPruning' | 'maxDepthPruning' | 'gridSteps' | 'kdSteps' | 'kdLr'>;

/** What the short KD of one candidate gave, on the search's rows. */
export interface ShortKd {
  zeroShot: number;
  lossAfter: number;
}

/** SHA-256 over the given source files and every source file under the given folders (sorted paths and contents). */
export function sourceHash(paths: readonly string[]): string {
  const h = createHash('sha256');
  const walk = (p: string): string[] => {
    if (!existsSync(p)) return [];
    if (!statSync(p).isDirectory()) return [p];
    return readdirSync(p)
      .sort()
      .flatMap((name) => {
        const q = join(p, name);
        return statSync(q).isDirectory() ? walk(q) : /\.(ts|mjs|js|json)$/.test(name) ? [q] : [];
      });
  };
  for (const p of paths) for (const f of walk(p)) h.update(`${f}\n`).update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}
