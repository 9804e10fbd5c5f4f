// The six comparisons of docs/RESULTS.md, as measurements on a Lab. Architectures come from fixed
// rules in configs.ts, except section 4's, which the project's own search chooses (on the calibration
// rows); every model is evaluated on the same held-out rows.

import { topK } from '../../src/core/calibrate/ranking';
import { archParams, chooseDepth, describeArch, scaled } from './configs';
import type { Lab, PruneRecipe, SearchRecipe } from './lab';
import type { PruneTargets } from '../../src/core/prune/targets';
import { SEARCH_KD_DEFAULTS } from '../../src/core/prune/job-params';
import { formatWidthLimits, PAPER_DEPTH_LIMIT, PAPER_WIDTH_LIMITS } from '../../src/core/prune/search-space';
import { SECTIONS, type ArchRow, type DropRow, type FfnTapRow, type GroupRow, type HeadsChannelsRow, type LayerRow, type MetricRow, type Results, type SearchSummary } from './results';
import { orderDescending } from './stats';



const pctOf = (x: number, of: number) => `${((100 * x) / of).toFixed(1)} %`;

export async function runExperiments(lab: Lab): Promise<Omit<Results, 'meta'>> {
  const spec = lab.spec;
  const m = spec.mamba;
  const mlp = spec.mlp;
  const att = spec.attention;
  if (!m || !spec.pattern.includes('M') || !mlp || !spec.pattern.includes('-')) {
    throw new Error(`reproduce needs a model with Mamba (M) and MLP (-) layers; ${lab.teacher} has pattern ${spec.pattern}`);
  }
  const { numHeads: H, headDim: P, nGroups: G } = m;
  // Booked to the caller's current section (setup).
  const teacher = await lab.teacherLoss();
  const headCuts = [0.75, 0.5].map((f) => scaled(H, f, G));

  // 1. group-aware vs global
  lab.section(SECTIONS[0]);
  const groupAware: GroupRow[] = [];
  for (const h of headCuts) {
    const group: PruneRecipe = { targets: { mambaNumHeads: h }, ranking: 'group' };
    const global: PruneRecipe = { targets: { mambaNumHeads: h }, ranking: 'global' };
    const gz = await lab.zeroShot(group, `group-aware ${H}→${h} heads`);
    const nz = await lab.zeroShot(global, `global ${H}→${h} heads`);
    const gk = await lab.distill(group, 'kd', `group-aware ${H}→${h} heads`);
    const nk = await lab.distill(global, 'kd', `global ${H}→${h} heads`);
    groupAware.push({
      heads: `${H}→${h} (${h / G} per group)`,
      params: gz.params,
      group: { zs: gz.loss, kd: gk.loss, misgrouped: gz.misgrouped },
      global: { zs: nz.loss, kd: nk.loss, misgrouped: nz.misgrouped, kept: nz.keptMambaHeads },
    });
  }

  // 2. heads vs head channels, the same inner size
  lab.section(SECTIONS[1]);
  const headsVsChannels: HeadsChannelsRow[] = [];
  for (const h of headCuts) {
    const p = Math.max(1, Math.round((h * P) / H));
    const byHeads: PruneRecipe = { targets: { mambaNumHeads: h } };
    const byChannels: PruneRecipe = { targets: { mambaHeadDim: p } };
    const hz = await lab.zeroShot(byHeads, `group-aware ${H}→${h} heads`);
    const cz = await lab.zeroShot(byChannels, `head channels ${P}→${p}`);
    const hk = await lab.distill(byHeads, 'kd', `group-aware ${H}→${h} heads`);
    const ck = await lab.distill(byChannels, 'kd', `head channels ${P}→${p}`);
    headsVsChannels.push({
      cut: `${pctOf(H * P - h * P, H * P)} (${H * P}→${h * P})`,
      heads: { config: `${h} heads × ${P}`, params: hz.params, zs: hz.loss, kd: hk.loss },
      channels: { config: `${H} heads × ${p}`, params: cz.params, zs: cz.loss, kd: ck.loss },
    });
  }

  // 4. width vs depth vs mixed at equal parameters (computed before section 3, whose last row uses its winner)
  lab.section(SECTIONS[3]);
  const { kl, bi } = await lab.layerScores();
  const L = spec.numLayers;
  const wd = await widthVsDepth(lab, kl);
  const width = wd.rows.find((r) => r.name === 'width-only');
  const widthTargets = wd.targets.get('width-only');
  if (!width || !widthTargets) throw new Error('the search found no width-only candidate at the budget; widen the search window (settings.ts)');

  // 3. activation vs FLAP vs random, zero-shot; FFN scored before vs after relu²
  lab.section(SECTIONS[2]);
  const metrics: MetricRow[] = [];
  const ffnTap: FfnTapRow[] = [];
  const metricRow = async (axis: MetricRow['axis'], config: string, targets: PruneRecipe['targets'], flap: boolean) => {
    const act = await lab.zeroShot({ targets }, `activation ${config}`);
    const fl = flap ? await lab.zeroShot({ targets, metric: 'flap' }, `FLAP ${config}`) : undefined;
    const random: number[] = [];
    for (const seed of lab.s.randomSeeds) random.push((await lab.zeroShot({ targets, randomSeed: seed }, `random(seed ${seed}) ${config}`)).loss);
    metrics.push({ axis, config, params: act.params, activation: act.loss, flap: fl?.loss, random });
    return act;
  };
  for (const h of headCuts) await metricRow('Mamba heads', `${H}→${h}`, { mambaNumHeads: h }, true);
  for (const f of [0.75, 0.5, 0.375]) {
    const n = scaled(mlp.intermediateSize, f, 8);
    const config = `${mlp.intermediateSize}→${n}`;
    const post = await metricRow('FFN neurons', config, { ffnHiddenSize: n }, true);
    const pre = await lab.zeroShot({ targets: { ffnHiddenSize: n }, ffnTap: 'pre' }, `activation before relu² ${config}`);
    ffnTap.push({ config, params: post.params, post: post.loss, pre: pre.loss });
  }
  if (att && spec.pattern.includes('*') && att.numHeads > att.numKvHeads) {
    const a = scaled(att.numHeads, 0.5, att.numKvHeads);
    await metricRow('Attention heads', `${att.numHeads}→${a}`, { numAttentionHeads: a }, false);
  }
  await metricRow('Width-only mix', width.config, widthTargets, true);

  // 5. KD vs CE on the width-only student
  lab.section(SECTIONS[4]);
  const wr: PruneRecipe = { targets: widthTargets };
  const kdRun = await lab.distill(wr, 'kd', `width-only (${width.config})`);
  const ceRun = await lab.distill(wr, 'ce', `width-only (${width.config})`);
  const kdVsCe = {
    config: width.config,
    params: kdRun.params,
    zeroShot: kdRun.zeroShot,
    kd: { loss: kdRun.loss, firstTrainLoss: kdRun.firstTrainLoss, lastTrainLoss: kdRun.lastTrainLoss },
    ce: { loss: ceRun.loss, firstTrainLoss: ceRun.firstTrainLoss, lastTrainLoss: ceRun.lastTrainLoss },
    msPerStep: { kd: kdRun.msPerStep, ce: ceRun.msPerStep },
  };

  // 6. depth metrics: every single-layer drop measured, then top- vs bottom-ranked drops
  lab.section(SECTIONS[5]);
  const layers: LayerRow[] = [];
  for (const l of spec.layers) {
    const z = await lab.zeroShot({ targets: { dropLayers: [l.index] } }, `drop layer ${l.index} (${l.kind})`);
    layers.push({ index: l.index, kind: l.kind, bi: bi[l.index]!, kl: kl[l.index]!, dropLoss: z.loss });
  }
  const drops: DropRow[] = [];
  for (const k of [1, 2].filter((n) => n < L)) {
    for (const [metric, scores] of [['BI', bi], ['KL', kl]] as const) {
      const order = orderDescending(Array.from(scores));
      for (const [which, picked] of [['top-ranked', order.slice(0, k)], ['bottom-ranked', order.slice(-k)]] as const) {
        const dropLayers = [...picked].sort((a, b) => a - b);
        const z = await lab.zeroShot({ targets: { dropLayers } }, `drop ${which} by ${metric}: ${dropLayers.join(', ')}`);
        drops.push({ metric, which, layers: dropLayers, loss: z.loss });
      }
    }
  }

  return {
    teacher: { loss: teacher.loss, params: teacher.params, tokensPerS: teacher.tokensPerS },
    groupAware,
    headsVsChannels,
    metrics,
    ffnTap,
    widthDepth: { search: wd.search, rows: wd.rows, depthNote: wd.note },
    kdVsCe,
    depth: { layers, drops },
  };
}

type Kind = ArchRow['name'];

/** The kind of a search candidate: all layers kept (width-only), all widths kept (depth-only), or both cut. */
function kindOf(spec: Lab['spec'], row: Record<string, unknown>): Kind {
  if (row['num_layers'] === spec.numLayers) return 'width-only';
  const full = row['hidden_size'] === spec.hiddenSize && (row['ffn_hidden_size'] ?? spec.mlp?.intermediateSize) === spec.mlp?.intermediateSize && (row['mamba_num_heads'] ?? spec.mamba?.numHeads) === spec.mamba?.numHeads && (row['mamba_head_dim'] ?? spec.mamba?.headDim) === spec.mamba?.headDim;
  return full ? 'depth-only' : 'mixed';
}

function targetsOf(row: Record<string, unknown>): PruneTargets {
  const t: PruneTargets = { hiddenSize: row['hidden_size'] as number, numLayers: row['num_layers'] as number };
  if (row['ffn_hidden_size'] !== undefined) t.ffnHiddenSize = row['ffn_hidden_size'] as number;
  if (row['mamba_num_heads'] !== undefined) t.mambaNumHeads = row['mamba_num_heads'] as number;
  if (row['mamba_head_dim'] !== undefined) t.mambaHeadDim = row['mamba_head_dim'] as number;
  return t;
}

/**
 * Section 4 as the paper's Table 1: the budget is the depth-only model nearest half the teacher's
 * parameters (the layers with the highest KL score); the product's search enumerates every candidate
 * between (1 − window) × that budget and the budget itself, scores each zero-shot on the calibration
 * rows and gives the top K a short KD; each kind's best by that ranking (a kind with no candidate in the
 * top K gets the same short KD on its own, as the paper added its depth-only models) then gets the
 * retraining every student here gets, and is evaluated on the held-out rows.
 */
async function widthVsDepth(lab: Lab, kl: Float32Array): Promise<{ rows: ArchRow[]; targets: Map<Kind, PruneTargets>; search: SearchSummary; note: string }> {
  const spec = lab.spec;
  const T = spec.params.total;
  const L = spec.numLayers;
  const ss = lab.s.search;
  const step = (size: number, share: number) => Math.max(1, Math.round(size * share));
  const steps = [`hidden-size=${step(spec.hiddenSize, ss.stepShares.hidden)}`];
  if (spec.mlp) steps.push(`ffn-hidden-size=${step(spec.mlp.intermediateSize, ss.stepShares.ffn)}`);
  if (spec.mamba) steps.push(`mamba-head-dim=${step(spec.mamba.headDim, ss.stepShares.headDim)}`);
  // The smallest width-only model the paper's width limits allow: the depth-only budget may not be below it,
  // or no width-only model could be compared at equal parameters.
  const widthOnly = await lab.candidates({ targetParams: String(T), tolerance: 1, maxWidthPruning: formatWidthLimits(PAPER_WIDTH_LIMITS), maxDepthPruning: 0, gridSteps: steps.join(',') });
  const floor = Math.min(...widthOnly.candidates.map((c) => c['params'] as number));
  const depth = chooseDepth(spec, kl, 0.5 * T, floor);
  const budget = depth.params;
  const k = depth.keptLayers.length;
  const target = Math.round(budget * (1 - ss.window / 2));
  const recipe: SearchRecipe = {
    targetParams: String(target),
    // The window [2·target − budget, budget]: no candidate has more parameters than the depth-only model.
    tolerance: (budget - target) / target,
    maxWidthPruning: formatWidthLimits(PAPER_WIDTH_LIMITS),
    maxDepthPruning: Math.max(PAPER_DEPTH_LIMIT, 1 - k / L),
    gridSteps: steps.join(','),
    kdSteps: ss.kdSteps,
    kdLr: ss.kdLr,
  };
  const report = await lab.search(recipe, `${(100 * ss.window).toFixed(0)} % below ${budget.toLocaleString('en-US')} parameters`);
  const cands = report.candidates;
  const byKind = { width: 0, depth: 0, mixed: 0 };
  const counter = { 'width-only': 'width', 'depth-only': 'depth', mixed: 'mixed' } as const;
  for (const c of cands) byKind[counter[kindOf(spec, c)]]++;
  const rows: ArchRow[] = [];
  const targets = new Map<Kind, PruneTargets>();
  for (const name of ['width-only', 'depth-only', 'mixed'] as const) {
    // The search's order: distilled candidates by their loss after the short KD, then the rest zero-shot.
    const best = cands.find((c) => c['rank'] !== null && kindOf(spec, c) === name);
    if (!best) {
      if (name === 'depth-only') throw new Error(`the search has no depth-only candidate at ${budget} parameters (check the window and the depth limit)`);
      continue;
    }
    const t = targetsOf(best);
    const kept = topK(kl, t.numLayers!, {}, 'layers');
    const config = describeArch(spec, t, kept);
    const inTopK = typeof best['loss_after_kd'] === 'number';
    const shortKd = inTopK ? (best['loss_after_kd'] as number) : (await lab.shortKd(t, recipe, `${name} (${config})`)).lossAfter;
    const label = `${name} (${config})`;
    const zs = await lab.zeroShot({ targets: t }, label);
    const kd = await lab.distill({ targets: t }, 'kd', label);
    targets.set(name, t);
    rows.push({ name, config, params: zs.params, layers: kept.length, searchLoss: best['loss'] as number, searchRank: (best['zero_shot_rank'] ?? best['rank']) as number, shortKd, inTopK, zs: zs.loss, kd: kd.loss, tokensPerS: zs.tokensPerS });
  }
  const embShare = (spec.params.byComponent.embedding + spec.params.byComponent.lm_head) / T;
  const neighbours = [k - 1, k + 1]
    .filter((n) => n >= 1 && n < L)
    .map((n) => `${n} layer${n === 1 ? '' : 's'}: ${pctOf(archParams(spec, {}, topK(kl, n, {}, 'layers')), T)}`)
    .join(', ');
  const search: SearchSummary = {
    budget,
    lower: 2 * target - budget,
    depthKept: depth.keptLayers,
    gridSize: report.grid_size,
    candidates: report.within_tolerance,
    byKind,
    gridSteps: recipe.gridSteps!,
    widthLimits: recipe.maxWidthPruning!,
    depthLimit: recipe.maxDepthPruning!,
    rows: { count: report.rows!.count, seqLen: report.rows!.seq_len },
    kdSteps: ss.kdSteps,
    kdLr: ss.kdLr,
    topK: report.kd?.top_k ?? 0,
    seconds: report.kd?.seconds ?? 0,
  };
  const note =
    `Budget: the embedding and LM head alone are ${(100 * embShare).toFixed(1)} % of this teacher's parameters, so depth-only pruning reaches about half the parameters only by keeping ${k} of ${L} layers (highest KL score) = ${pctOf(budget, T)} (${neighbours}; the layer count nearest half the teacher among those at or above the smallest width-only model the paper's width limits allow, ${pctOf(floor, T)}); that model's ${budget.toLocaleString('en-US')} parameters are the budget, and every candidate lies between ${search.lower.toLocaleString('en-US')} and it, so no side has more parameters than depth-only. ` +
    `Search: the project's \`search\` with the paper's width limits (${search.widthLimits}), depth up to ${(100 * search.depthLimit).toFixed(0)} % (the paper's 50 %, or what the depth-only model needs), grid steps ${search.gridSteps} (coarser than the default so every candidate is scored in minutes); ${search.candidates} candidates (${byKind.width} width-only, ${byKind.depth} depth-only, ${byKind.mixed} mixed), each scored zero-shot on the ${search.rows.count} calibration rows × ${search.rows.seqLen} tokens, the top ${search.topK} (the paper's share, ${Math.round(100 * SEARCH_KD_DEFAULTS.topKFraction)} %) given a ${search.kdSteps}-step KD (batch ${SEARCH_KD_DEFAULTS.batch}, lr ${search.kdLr}) and ranked by the loss after it. ` +
    `Each kind's best by that ranking ("short KD" column; a kind with no candidate in the top ${search.topK} got the same short KD on its own, as the paper added its depth-only models to Table 1) then got the retraining every student here gets and was evaluated on the held-out rows.`;
  return { rows, targets, search, note };
}
