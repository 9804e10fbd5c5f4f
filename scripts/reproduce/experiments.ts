// The six comparisons of docs/RESULTS.md, as measurements on a Lab. Architectures come from fixed
// rules in configs.ts; every model is scored on the same held-out rows.

import { topK } from '../../src/core/calibrate/ranking';
import { archParams, chooseDepth, chooseWidth, describeArch, droppedLayers, scaled } from './configs';
import type { Lab, PruneRecipe } from './lab';
import { SECTIONS, type ArchRow, type DropRow, type GroupRow, type HeadsChannelsRow, type LayerRow, type MetricRow, type Results } from './results';
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
  const T = spec.params.total;
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

  // 3. activation vs FLAP vs random, zero-shot
  lab.section(SECTIONS[2]);
  const width = chooseWidth(spec, 0.5 * T);
  const metrics: MetricRow[] = [];
  const metricRow = async (axis: MetricRow['axis'], config: string, targets: PruneRecipe['targets'], flap: boolean) => {
    const act = await lab.zeroShot({ targets }, `activation ${config}`);
    const fl = flap ? await lab.zeroShot({ targets, metric: 'flap' }, `FLAP ${config}`) : undefined;
    const random: number[] = [];
    for (const seed of lab.s.randomSeeds) random.push((await lab.zeroShot({ targets, randomSeed: seed }, `random(seed ${seed}) ${config}`)).loss);
    metrics.push({ axis, config, params: act.params, activation: act.loss, flap: fl?.loss, random });
  };
  for (const h of headCuts) await metricRow('Mamba heads', `${H}→${h}`, { mambaNumHeads: h }, true);
  for (const f of [0.75, 0.5, 0.375]) {
    const n = scaled(mlp.intermediateSize, f, 8);
    await metricRow('FFN neurons', `${mlp.intermediateSize}→${n}`, { ffnHiddenSize: n }, true);
  }
  if (att && spec.pattern.includes('*') && att.numHeads > att.numKvHeads) {
    const a = scaled(att.numHeads, 0.5, att.numKvHeads);
    await metricRow('Attention heads', `${att.numHeads}→${a}`, { numAttentionHeads: a }, false);
  }
  await metricRow('Width-only mix', describeArch(spec, width.targets), width.targets, true);

  // 4. width vs depth vs mixed
  lab.section(SECTIONS[3]);
  const { kl, bi } = await lab.layerScores();
  const L = spec.numLayers;
  const depth = chooseDepth(spec, kl, width.params);
  const mixedKept = topK(kl, L - 1, {}, 'layers');
  const mixed = chooseWidth(spec, width.params, mixedKept);
  const archs: { name: ArchRow['name']; targets: PruneRecipe['targets']; kept: number[] }[] = [
    { name: 'width-only', targets: width.targets, kept: spec.layers.map((l) => l.index) },
    { name: 'depth-only', targets: { dropLayers: droppedLayers(spec, depth.keptLayers) }, kept: depth.keptLayers },
    { name: 'mixed', targets: { ...mixed.targets, dropLayers: droppedLayers(spec, mixedKept) }, kept: mixedKept },
  ];
  const rows: ArchRow[] = [];
  for (const a of archs) {
    const label = `${a.name} (${describeArch(spec, a.targets, a.kept)})`;
    const zs = await lab.zeroShot({ targets: a.targets }, label);
    const kd = await lab.distill({ targets: a.targets }, 'kd', label);
    rows.push({ name: a.name, config: describeArch(spec, a.targets, a.kept), params: zs.params, layers: a.kept.length, zs: zs.loss, kd: kd.loss, tokensPerS: zs.tokensPerS });
  }
  const embShare = (spec.params.byComponent.embedding + spec.params.byComponent.lm_head) / T;
  const k = depth.keptLayers.length;
  const neighbours = [k - 1, k + 1]
    .filter((n) => n >= 1 && n < L)
    .map((n) => `${n} layer${n === 1 ? '' : 's'}: ${pctOf(archParams(spec, {}, topK(kl, n, {}, 'layers')), T)}`)
    .join(', ');
  const depthNote =
    `Width-only: the most balanced grid point within 1 % of half the teacher (hidden in steps of ${spec.hiddenSize / 16}, FFN in steps of ${mlp.intermediateSize / 8}, Mamba heads in steps of ${G}; head channels and attention untouched, as in the paper's 4B). ` +
    `Depth-only: the embedding and LM head alone are ${(100 * embShare).toFixed(1)} % of this teacher's parameters, so whole layers can only approach half the parameters by dropping most of them; the number of kept layers (highest KL score) whose size is nearest the width-only model keeps ${k} of ${L} layers = ${pctOf(depth.params, T)} (${neighbours}). ` +
    `Mixed: drop the lowest-KL layer (${droppedLayers(spec, mixedKept).map((i) => `${i}, ${spec.pattern[i]}`).join('; ')}, cf. the paper's #7 that drops 8 of 52), then the width rule aimed at the width-only model's size.`;

  // 5. KD vs CE on the width-only student
  lab.section(SECTIONS[4]);
  const wr: PruneRecipe = { targets: width.targets };
  const kdRun = await lab.distill(wr, 'kd', `width-only (${describeArch(spec, width.targets)})`);
  const ceRun = await lab.distill(wr, 'ce', `width-only (${describeArch(spec, width.targets)})`);
  const kdVsCe = {
    config: describeArch(spec, width.targets),
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
    widthDepth: { rows, depthNote },
    kdVsCe,
    depth: { layers, drops },
  };
}
