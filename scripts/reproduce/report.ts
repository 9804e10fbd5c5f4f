// docs/RESULTS.md from the measured numbers: per comparison a table, the paper's claim, and one plain
// sentence saying whether this small-scale run agrees — decided by fixed rules (lower held-out loss
// wins, differences within `tieNats` are ties), never by hand.

import { SECTIONS, SETUP, type Results } from './results';
import { agreement, mean, orderDescending, spearman, tally, type Agreement, type Tally } from './stats';

const loss = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));
const int = (x: number) => x.toLocaleString('en-US');
const secs = (s: number) => (s >= 90 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function pct(params: number, of: number): string {
  return `${((100 * params) / of).toFixed(1)} %`;
}

function table(head: string[], align: ('l' | 'r')[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** "in 3 of 4 comparisons (1 the other way)"; ties are defined once, in the report's introduction. */
function counted(t: Tally, n: number, noun: string): string {
  const rest: string[] = [];
  if (t.losses > 0) rest.push(`${t.losses} the other way`);
  if (t.ties > 0) rest.push(`${t.ties} ${t.ties === 1 ? 'tie' : 'ties'}`);
  return `in ${t.wins} of ${n} ${noun}${rest.length > 0 ? ` (${rest.join(', ')})` : ''}`;
}

/** Combines sub-verdicts: all agree → agrees, all disagree → disagrees, all inconclusive → inconclusive, else partly. */
export function combine(parts: Agreement[]): Agreement {
  const real = parts.filter((p) => p !== 'inconclusive');
  if (real.length === 0) return 'inconclusive';
  if (real.every((p) => p === 'agrees')) return parts.length === real.length ? 'agrees' : 'partly agrees';
  if (real.every((p) => p === 'disagrees')) return 'disagrees';
  return 'partly agrees';
}

export interface Verdict {
  /** Section number and letter, e.g. "3a". */
  id: string;
  section: number;
  title: string;
  /** The paper (or implementation) that makes the claim. */
  source: string;
  claim: string;
  agreement: Agreement;
  sentence: string;
}

const MINITRON_SSM = 'Minitron-SSM (arXiv 2504.11409)';
const MINITRON = 'Minitron (arXiv 2407.14679)';
const MINITRON_APPROACH = 'Minitron Approach (arXiv 2408.11796)';

/** The agreement of claims whose small effect a tie does not contradict: agrees on wins only, disagrees on losses only. */
function leaning(t: Tally): Agreement {
  return t.losses > 0 && t.wins === 0 ? 'disagrees' : t.wins > 0 && t.losses === 0 ? 'agrees' : t.losses === 0 ? 'inconclusive' : 'partly agrees';
}

export function verdicts(r: Results): Verdict[] {
  const tie = r.meta.settings.tieNats;
  const out: Verdict[] = [];
  const add = (v: Omit<Verdict, 'id'>) => {
    const n = out.filter((x) => x.section === v.section).length;
    out.push({ ...v, id: `${v.section}${String.fromCharCode(97 + n)}` });
  };

  // 1. group-aware vs global
  {
    const pairs = r.groupAware.flatMap((x) => [[x.group.zs, x.global.zs] as const, [x.group.kd, x.global.kd] as const]);
    const t = tally(pairs, tie);
    const a = agreement(t);
    const moved = r.groupAware.map((x) => `${x.global.misgrouped} of ${x.global.kept} kept heads (${x.heads.split(' ')[0]})`).join(' and ');
    add({
      section: 1,
      title: 'Group-aware Mamba head pruning beats naive (global) ranking',
      source: `${MINITRON_SSM}, Eq. 16–17, Fig. 3`,
      claim: 'Heads may only be selected within their B/C group (Eq. 16–17, Fig. 3); the paper argues this from the equations and gives no numeric ablation.',
      agreement: a,
      sentence: `${cap(a)}: group-aware ranking has the lower held-out loss ${counted(t, pairs.length, 'comparisons')}; the naive ranking moved ${moved} into another B/C group than the teacher had.`,
    });
  }
  // 2. heads vs channels
  {
    const pairs = r.headsVsChannels.flatMap((x) => [[x.heads.zs, x.channels.zs] as const, [x.heads.kd, x.channels.kd] as const]);
    const t = tally(pairs, tie);
    const a = agreement(t);
    add({
      section: 2,
      title: 'Pruning Mamba heads beats pruning head channels at the same cut',
      source: `${MINITRON_SSM}, §6.4, Fig. 7`,
      claim: 'Pruning Mamba heads (m_h) "consistently outperforms" pruning head channels (m_d): lower LM loss at every cut (§6.4, Fig. 7).',
      agreement: a,
      sentence: `${cap(a)}: cutting heads gives the lower held-out loss, zero-shot and after KD at each cut, ${counted(t, pairs.length, 'comparisons')}.`,
    });
  }
  // 3. activation vs FLAP vs random
  {
    const mamba = r.metrics.filter((m) => m.axis === 'Mamba heads' && m.flap !== undefined);
    const ffn = r.metrics.filter((m) => m.axis === 'FFN neurons' && m.flap !== undefined);
    const tm = tally(mamba.map((m) => [m.activation, m.flap!] as const), tie);
    const am = agreement(tm);
    add({
      section: 3,
      title: 'For Mamba heads, activation (L2) scoring beats FLAP',
      source: `${MINITRON_SSM}, Table 3`,
      claim: 'Zero-shot (Table 3), activation scoring of Mamba heads beats FLAP clearly: 1.305 vs 1.73 at 112 of 128 heads, 2.150 vs 4.59 at 96; after KD the two are equal.',
      agreement: am,
      sentence: `${cap(am)}: activation beats FLAP ${counted(tm, mamba.length, 'cuts')}${am === 'disagrees' ? '; here FLAP is the better Mamba head score, the reverse of the paper' : ''}.`,
    });
    const tf = tally(ffn.map((m) => [m.flap!, m.activation] as const), tie);
    const af = leaning(tf);
    add({
      section: 3,
      title: 'For FFN neurons, FLAP is slightly better than activation scoring',
      source: `${MINITRON_SSM}, Table 3`,
      claim: 'Zero-shot (Table 3), FLAP is slightly better for FFN neurons (1.32 vs 1.364 at 16384 of 21504); after KD they are equal.',
      agreement: af,
      sentence: `${cap(af)}: FLAP beats activation ${counted(tf, ffn.length, 'cuts')} (a tie does not contradict a small edge).`,
    });
    const randomClaim = (rows: typeof r.metrics, title: string, axes: string) => {
      const t = tally(rows.map((m) => [m.activation, mean(m.random)] as const), tie);
      const a = agreement(t);
      add({
        section: 3,
        title,
        source: `the premise of activation importance (${MINITRON}; ${MINITRON_SSM}); neither paper reports a random baseline`,
        claim: 'Activation-based importance identifies what to keep, so it prunes better than seeded random scores.',
        agreement: a,
        sentence: `${cap(a)}: for ${axes}, activation importance beats the mean of the random seeds ${counted(t, rows.length, rows.length === 1 ? 'row' : 'rows')}${a === 'disagrees' ? ': the activation scores did worse than random choices' : ''}.`,
      });
    };
    randomClaim(mamba, 'For Mamba heads, activation importance beats random importance', 'Mamba heads');
    const rest = r.metrics.filter((m) => m.axis !== 'Mamba heads');
    if (rest.length > 0) randomClaim(rest, 'For FFN neurons, attention heads and the width-only mix, activation importance beats random importance', [...new Set(rest.map((m) => m.axis.replace(/^(Attention|Width)/, (w) => w.toLowerCase())))].join(', '));
  }
  // 4. width vs depth vs mixed
  {
    const get = (n: string) => r.widthDepth.rows.find((x) => x.name === n);
    const w = get('width-only');
    const d = get('depth-only');
    const m = get('mixed');
    const versus = (other: typeof d, title: string, paper: string, claim: string) => {
      if (!w || !other) return;
      const t = tally([[w.kd, other.kd]], tie);
      const ts = tally([[w.shortKd, other.shortKd]], tie);
      const a = agreement(t);
      add({
        section: 4,
        title,
        source: `${MINITRON_SSM}, Table 1 (${paper})`,
        claim,
        agreement: a,
        sentence: `${cap(a)}: at ${int(w.params)} vs ${int(other.params)} parameters, held-out loss after the same retraining ${loss(w.kd)} (width-only) vs ${loss(other.kd)} (${other.name})${a === 'inconclusive' ? `, within ${tie} nats` : ''}; after the search's short KD, on the calibration rows, ${loss(w.shortKd)} vs ${loss(other.shortKd)} (${ts.wins ? 'width-only lower' : ts.losses ? `${other.name} lower` : 'a tie'}).`,
      });
    };
    versus(d, 'Width-only pruning beats depth-only pruning at equal parameters', '#1 vs #24', 'After the same lightweight KD (3.8B tokens), width-only (#1, 1.380) beats depth-only (#24, 26 of 52 layers, 1.533) by far; depth-only is the fastest (Table 1).');
    versus(m, 'Width-only pruning beats the best depth+width (mixed) model', '#1 vs #7', 'The best depth+width model (#7, 44 layers, 1.393) still trails width-only (#1, 1.380) after the same lightweight KD (Table 1).');
  }
  // 5. KD vs CE
  {
    const k = r.kdVsCe;
    const t = tally([[k.kd.loss, k.ce.loss]], tie);
    const a = agreement(t);
    add({
      section: 5,
      title: 'Distillation (forward KL) beats CE-only retraining with the same budget',
      source: `${MINITRON} (Minitron-SSM retrains with KD only, §5, and does not compare)`,
      claim: 'Minitron: retraining a pruned model by logit distillation from the unpruned teacher (forward KL) recovers more than conventional LM cross-entropy training with the same budget; Minitron-SSM adopts KD-only recovery without repeating the comparison.',
      agreement: a,
      sentence: `${cap(a)}: the same pruned student reaches ${loss(k.kd.loss)} with KD and ${loss(k.ce.loss)} with CE only (held-out CE, which is what CE training optimises directly)${a === 'inconclusive' ? `, a difference within ${tie} nats` : ''}.`,
    });
  }
  // 6. depth metrics
  {
    const d = r.depth;
    const drop = (metric: 'BI' | 'KL', which: 'top-ranked' | 'bottom-ranked', k: number) => d.drops.find((x) => x.metric === metric && x.which === which && x.layers.length === k);
    const ks = [...new Set(d.drops.map((x) => x.layers.length))].sort((a, b) => a - b);
    const pairsFor = (metric: 'BI' | 'KL') => ks.flatMap((k) => {
      const b = drop(metric, 'bottom-ranked', k);
      const t = drop(metric, 'top-ranked', k);
      return b && t ? [[b.loss, t.loss] as const] : [];
    });
    const tk = tally(pairsFor('KL'), tie);
    const tb = tally(pairsFor('BI'), tie);
    const ak = agreement(tk);
    add({
      section: 6,
      title: 'The KL layer metric ranks layers usefully',
      source: `${MINITRON_SSM}, §3.5, Fig. 4`,
      claim: 'Layers are ranked by the KL divergence between the full model\'s and the layer-dropped model\'s next-token distributions; dropping the least important costs least.',
      agreement: ak,
      sentence: `${cap(ak)}: dropping the layers the KL metric ranks least important costs less than dropping those it ranks most important ${counted(tk, pairsFor('KL').length, 'cases')} (Block Importance: ${counted(tb, pairsFor('BI').length, 'cases')}).`,
    });
    const measured = d.layers.map((l) => l.dropLoss);
    const rhoKl = spearman(d.layers.map((l) => l.kl), measured);
    const rhoBi = spearman(d.layers.map((l) => l.bi), measured);
    const klBetter: Agreement = !Number.isFinite(rhoKl) || !Number.isFinite(rhoBi) ? 'inconclusive' : rhoKl > rhoBi + 1e-9 ? 'agrees' : rhoKl < rhoBi - 1e-9 ? 'disagrees' : 'inconclusive';
    add({
      section: 6,
      title: 'A loss-based layer ranking (KL) tracks the measured drop loss better than Block Importance',
      source: `${MINITRON_APPROACH} (Block Importance itself is ${MINITRON}'s)`,
      claim: 'Minitron\'s one-pass Block Importance (1 − cos) under-performs loss-based layer ranking (Minitron Approach), which is why Minitron-SSM ranks layers by KL.',
      agreement: klBetter,
      sentence: `${cap(klBetter)}: KL's order matches the measured single-layer drop losses ${klBetter === 'agrees' ? 'better than' : klBetter === 'disagrees' ? 'worse than' : 'as well as'} BI's (Spearman ${rhoKl.toFixed(2)} vs ${rhoBi.toFixed(2)}).`,
    });
    const L = d.layers.length;
    const klOrder = orderDescending(d.layers.map((l) => l.kl));
    const rankOf = (i: number) => klOrder.indexOf(i) + 1;
    // "Most" / "least" important: among the quarter of the layers at that end of the ranking (at least two).
    const quarter = Math.max(2, Math.ceil(L / 4));
    const ends = [rankOf(0) <= quarter, rankOf(L - 1) <= quarter];
    const ae: Agreement = ends.every(Boolean) ? 'agrees' : ends.some(Boolean) ? 'partly agrees' : 'disagrees';
    const missed = [!ends[0] ? `the first layer ranks ${rankOf(0)}` : '', !ends[1] ? `the last layer ranks ${rankOf(L - 1)}` : ''].filter(Boolean).join(' and ');
    add({
      section: 6,
      title: 'The first and last layers matter most',
      source: `${MINITRON_SSM}, Fig. 4`,
      claim: 'By the KL metric, the most important layers are at the start and the end of the network (Fig. 4).',
      agreement: ae,
      sentence: `${cap(ae)}: by KL the first layer ranks ${rankOf(0)} and the last ${rankOf(L - 1)} of ${L} (counted as mattering most when among the ${quarter} most important)${missed ? `; ${missed} of ${L}, against the paper` : ''}.`,
    });
    const att = d.layers.find((l) => l.kind === '*');
    if (att) {
      const rank = rankOf(att.index);
      const aa: Agreement = rank > L - quarter ? 'agrees' : 'disagrees';
      add({
        section: 6,
        title: 'The first attention layer is among the least important',
        source: `${MINITRON_SSM}, Fig. 4`,
        claim: 'By the KL metric the first attention layer is among the least important layers (Fig. 4).',
        agreement: aa,
        sentence: `${cap(aa)}: the first attention layer (${att.index}) ranks ${rank} of ${L} by KL (counted as among the least important when among the ${quarter} lowest).`,
      });
    }
  }
  return out;
}

/** Whether other jobs loaded the machine during the measurements (then wall times and speeds are inflated). */
export function machineShared(m: Results['meta']): boolean {
  return m.machine.usage === undefined || m.machine.usage.loadMax > m.machine.cores + 0.5;
}

function usageSentence(m: Results['meta']): string {
  const u = m.machine.usage;
  if (!u) return '';
  return ` Over the measurements the script used ${u.cpuPerWall.toFixed(2)} CPU-seconds per wall-second (${m.machine.cores} would be every core to itself); the 1-minute load average after each measurement had median ${u.loadMedian.toFixed(1)} and maximum ${u.loadMax.toFixed(1)}${machineShared(m) ? ', so other jobs shared the machine and the wall times are inflated' : ''}.`;
}

export function renderReport(r: Results): string {
  const m = r.meta;
  const s = m.settings;
  const T = m.teacherParams;
  const V = verdicts(r);
  const L: string[] = [];
  const section = (n: number) => {
    const heading = SECTIONS[n - 1]!;
    L.push('', `## ${n}. ${heading}`, '', `Wall time: ${secs(m.sectionSeconds[heading] ?? 0)}.`, '');
  };
  const verdictLines = (n: number) => {
    for (const v of V.filter((x) => x.section === n)) L.push('', `**${v.id}. Paper** (${v.source}). ${v.claim}`, '', `**Here.** ${v.sentence}`);
  };

  L.push('# Results: the paper\'s comparisons at small scale', '');
  L.push('<!-- Generated by `npm run reproduce` (scripts/reproduce.ts) from the measurements it saves in its work folder (results.json); do not edit by hand. -->', '');
  if (m.quick) L.push('> **`--quick` run: a plumbing check with a handful of steps and rows. These numbers mean nothing.**', '');
  L.push(
    `The Minitron-SSM paper's comparisons (research notes: \`shared/research/paper.md\`), repeated on the bundled ${int(T)}-parameter teacher with this project's own calibration, pruning, distillation and evaluation. Every loss is the mean next-token cross-entropy (nats/token) on the **same held-out rows** of \`${m.data.val}\`, never used for training, calibration or distillation (except the "search" columns of section 4: the calibration rows the search ranks by). Lower is better. Each finding names the paper that makes it: Minitron-SSM (arXiv 2504.11409) unless stated; some come from the earlier Minitron papers. Differences of ${s.tieNats} nats or less count as ties.`,
  );

  L.push('', '## Setup', '');
  const kdTokens = s.kd.steps * s.kd.batch * s.kd.seqLen;
  L.push(
    `- **Teacher**: \`${m.teacher}\` — ${m.teacherDesc}; ${int(T)} parameters; fingerprint \`${m.fingerprint}\`. Held-out loss **${loss(r.teacher.loss)}** (perplexity ${Math.exp(r.teacher.loss).toFixed(1)})${m.unigramLoss !== undefined ? `; a unigram model of the training split scores ${loss(m.unigramLoss)} on the held-out split` : ''}.`,
    `- **Evaluation**: ${s.eval.samples} rows × ${s.eval.seqLen} tokens of \`${m.data.val}\` (documents shuffled with seed ${s.eval.seed}, packed), batch ${s.eval.batch}; the same rows for every model.`,
    `- **Calibration** (shared by every section): ${m.calibration.rows} rows × ${s.calibration.seqLen} tokens of \`${m.data.train}\` (documents shuffled with seed ${s.calibration.seed}) = ${int(m.calibration.tokens)} tokens; activation (mean over sequence, L2 over batch) and FLAP scores, Block Importance, and the paper's KL layer metric on ${m.calibration.depthRows} rows; FFN neurons scored after relu² (the project's default), and once more before it for section 3's comparison. ${secs(m.calibration.seconds)}.`,
    `- **Retraining** (every student, same budget): ${s.kd.steps} steps × batch ${s.kd.batch} × ${s.kd.seqLen} tokens = ${int(kdTokens)} tokens of \`${m.data.train}\` (seed ${s.kd.seed}); AdamW (β 0.9/0.95, weight decay ${s.kd.weightDecay}), lr ${s.kd.lr} → ${s.kd.minLr} cosine after ${s.kd.warmupSteps} warm-up steps, gradient clip ${s.kd.clip}. KD = forward KL from the teacher at temperature ${s.kd.temperature}, no CE term (as in the paper); CE-only = next-token cross-entropy on the data, no teacher.`,
    `- **Random importance**: seeded uniform scores, ${s.randomSeeds.length} seeds (${s.randomSeeds.join(', ')}); the tables give the mean and the range.`,
    '- **Pruning**: the project\'s pruner (`runPrune`): Mamba heads ranked within their B/C group on the kept head channels unless stated, FFN neurons and embedding channels by activation, layers by the KL metric. Every KD/CE run and every zero-shot number comes from a single run (no repeats), so small differences are within noise.',
    `- **Machine**: ${m.machine.cpu}, ${m.machine.cores} cores; ONNX Runtime ${m.machine.ort} on CPU, ${m.machine.threads}; Node ${m.machine.node}.${usageSentence(m)}`,
    `- **Code**: ${m.code.commit === 'unknown' ? 'not a git checkout' : `commit \`${m.code.commit}\`${m.code.dirty ? ' with uncommitted changes in src/ or scripts/' : ''}`}; source hash \`${m.code.hash}\` (src/ and the reproduce scripts).`,
    `- **Command**: \`${m.command}\` on ${m.date}; total wall time ${secs(m.totalSeconds)}, of which ${secs(m.sectionSeconds[SETUP] ?? 0)} for the setup (calibration, teacher evaluation)${m.reused > 0 ? `; ${m.measured === 0 ? 'every measurement was' : `${m.reused} of ${m.reused + m.measured} measurements were`} taken from the cache of an earlier run with identical settings, and the wall times and machine load are those of the original measurements` : ''}.`,
  );

  // 1
  section(1);
  L.push(
    table(
      ['Mamba heads', 'parameters', 'ranking', 'kept heads moved to another B/C group', 'zero-shot loss', `after KD (${s.kd.steps} steps)`],
      ['l', 'r', 'l', 'r', 'r', 'r'],
      r.groupAware.flatMap((x) => [
        [x.heads, `${int(x.params)} (${pct(x.params, T)})`, 'group-aware', `${x.group.misgrouped}`, loss(x.group.zs), loss(x.group.kd)],
        [x.heads, `${int(x.params)} (${pct(x.params, T)})`, 'global (naive)', `${x.global.misgrouped} of ${x.global.kept}`, loss(x.global.zs), loss(x.global.kd)],
      ]),
    ),
  );
  L.push('', 'Only the Mamba heads are pruned (all head channels, every other axis unchanged). "Global" keeps the best heads of the whole layer and packs them into groups in index order, as a pruner unaware of the groups would.');
  verdictLines(1);

  // 2
  section(2);
  L.push(
    table(
      ['cut of the Mamba inner size', 'pruned axis', 'configuration', 'parameters', 'zero-shot loss', `after KD (${s.kd.steps} steps)`],
      ['l', 'l', 'l', 'r', 'r', 'r'],
      r.headsVsChannels.flatMap((x) => [
        [x.cut, 'heads (m_h)', x.heads.config, `${int(x.heads.params)} (${pct(x.heads.params, T)})`, loss(x.heads.zs), loss(x.heads.kd)],
        [x.cut, 'head channels (m_d)', x.channels.config, `${int(x.channels.params)} (${pct(x.channels.params, T)})`, loss(x.channels.zs), loss(x.channels.kd)],
      ]),
    ),
  );
  L.push('', 'Both rows of a cut keep the same inner size (heads × head channels); cutting heads also removes their dt, A and D entries, so it removes a few parameters more.');
  verdictLines(2);

  // 3
  section(3);
  L.push(
    table(
      ['axis', 'configuration', 'parameters', 'activation (L2, mean)', 'FLAP', `random (mean [min – max], ${s.randomSeeds.length} seeds)`],
      ['l', 'l', 'r', 'r', 'r', 'r'],
      r.metrics.map((x) => [
        x.axis,
        x.config,
        `${int(x.params)} (${pct(x.params, T)})`,
        loss(x.activation),
        x.flap === undefined ? 'n/a' : loss(x.flap),
        `${loss(mean(x.random))} [${loss(Math.min(...x.random))} – ${loss(Math.max(...x.random))}]`,
      ]),
    ),
  );
  L.push('', 'FLAP: ‖W[:, j]‖² · Var(x_j) on the input of the Mamba out_proj (summed per head, ranked within groups) and of the FFN down_proj. The project computes no FLAP score for attention heads (n/a); the "width-only mix" row is the width-only winner of section 4\'s search with FLAP used where it exists (Mamba heads, FFN) and activation scores for the embedding channels.');
  if (r.ffnTap.length > 0) {
    const tt = tally(r.ffnTap.map((x) => [x.post, x.pre] as const), s.tieNats);
    L.push(
      '',
      'Where FFN neurons are scored (activation, zero-shot): after relu² on the down_proj input (the project\'s default, as ModelOpt) or before it on X·W₁ᵀ (the paper\'s Eq. 26, `calibrate --ffn-tap pre`):',
      '',
      table(['FFN neurons', 'parameters', 'after relu² (default)', 'before relu² (Eq. 26)'], ['l', 'r', 'r', 'r'], r.ffnTap.map((x) => [x.config, `${int(x.params)} (${pct(x.params, T)})`, loss(x.post), loss(x.pre)])),
      '',
      `Neither paper compares the two; here scoring after relu² gives the lower held-out loss ${counted(tt, r.ffnTap.length, 'cuts')}.`,
    );
  }
  verdictLines(3);

  // 4
  section(4);
  // Speeds are shown only when the machine was not shared: under other jobs' load they measure the load.
  const speed = !machineShared(m);
  const wd = r.widthDepth;
  const sr = wd.search;
  const withSpeed = (row: string[], tps: number) => (speed ? [...row, tps.toFixed(0)] : row);
  const head4 = ['pruning', 'configuration', 'parameters', 'layers', `search: zero-shot (rank of ${sr.candidates})`, `search: after ${sr.kdSteps}-step KD`, 'held-out zero-shot', `held-out after KD (${s.kd.steps} steps)`];
  L.push(
    table(
      [...head4, ...(speed ? ['tokens/s (evaluation pass)'] : [])],
      speed ? ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'] : ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
      [
        withSpeed(['teacher', 'unpruned', `${int(T)} (100 %)`, `${r.depth.layers.length}`, '—', '—', loss(r.teacher.loss), '—'], r.teacher.tokensPerS),
        ...wd.rows.map((x) => withSpeed([x.name, x.config, `${int(x.params)} (${pct(x.params, T)})`, `${x.layers}`, `${loss(x.searchLoss)} (${x.searchRank})`, `${loss(x.shortKd)}${x.inTopK ? '' : ' †'}`, loss(x.zs), loss(x.kd)], x.tokensPerS)),
      ],
    ),
  );
  L.push(
    '',
    `"Search" columns: the loss on the ${sr.rows.count} calibration rows × ${sr.rows.seqLen} tokens the search ranks by (training split); † = not in the search's top ${sr.topK}, given the same short KD on its own. "Held-out" columns: the evaluation rows every section uses.`,
    '',
    wd.depthNote,
    '',
    speed
      ? 'Tokens/s: one held-out evaluation pass per model on the CPU; one run each, so they show the direction, not a benchmark.'
      : 'Speed is not compared here: other jobs loaded the CPU during these measurements, so evaluation speeds would mostly measure that load (the paper\'s claim that depth-only pruning is the fastest is left untested).',
  );
  verdictLines(4);

  // 5
  section(5);
  const k = r.kdVsCe;
  L.push(
    `Student: the width-only model of section 4 (${k.config}; ${int(k.params)} parameters, zero-shot loss ${loss(k.zeroShot)}), retrained from the same weights with the same data, steps and optimizer.`,
    '',
    table(
      ['retraining', 'training loss (first → last step)', 'ms/step', 'held-out loss after'],
      ['l', 'l', 'r', 'r'],
      [
        ['KD: forward KL from the teacher', `${loss(k.kd.firstTrainLoss)} → ${loss(k.kd.lastTrainLoss)} (KL)`, k.msPerStep.kd.toFixed(0), loss(k.kd.loss)],
        ['CE only: next-token cross-entropy', `${loss(k.ce.firstTrainLoss)} → ${loss(k.ce.lastTrainLoss)} (CE)`, k.msPerStep.ce.toFixed(0), loss(k.ce.loss)],
      ],
    ),
  );
  verdictLines(5);

  // 6
  section(6);
  const d = r.depth;
  const biOrder = orderDescending(d.layers.map((l) => l.bi));
  const klOrder = orderDescending(d.layers.map((l) => l.kl));
  const dropOrder = orderDescending(d.layers.map((l) => l.dropLoss));
  const rank = (order: number[], i: number) => order.indexOf(i) + 1;
  const fmtScore = (x: number) => (Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(4) : x.toExponential(2));
  L.push(
    table(
      ['layer', 'kind', 'Block Importance (1 − cos)', 'BI rank', 'KL if dropped', 'KL rank', 'held-out loss with only this layer dropped', 'measured rank'],
      ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
      d.layers.map((l) => [l.index, l.kind, fmtScore(l.bi), rank(biOrder, l.index), fmtScore(l.kl), rank(klOrder, l.index), loss(l.dropLoss), rank(dropOrder, l.index)]),
    ),
  );
  const fmtOrder = (o: number[]) => o.map((i) => `${i} (${d.layers[i]!.kind})`).join(' > ');
  L.push(
    '',
    'Most important first:',
    '',
    `- Block Importance: ${fmtOrder(biOrder)}`,
    `- KL metric: ${fmtOrder(klOrder)}`,
    `- measured (loss when dropped alone): ${fmtOrder(dropOrder)}`,
    '',
    table(
      ['metric', 'layers dropped', 'which', 'held-out loss (zero-shot)'],
      ['l', 'l', 'l', 'r'],
      d.drops.map((x) => [x.metric, x.layers.map((i) => `${i} (${d.layers[i]!.kind})`).join(', '), x.which, loss(x.loss)]),
    ),
  );
  verdictLines(6);

  // summary
  L.push('', '## Summary', '', table(['#', 'finding', 'source', 'at this scale'], ['l', 'l', 'l', 'l'], V.map((v) => [v.id, v.title, v.source, `**${v.agreement}**`])), '');
  const count = (a: Agreement) => V.filter((v) => v.agreement === a).length;
  const inconclusive = count('inconclusive');
  L.push(
    `${count('agrees')} of ${V.length} findings held outright at this scale, ${count('partly agrees')} held in part, ${count('disagrees')} did not${inconclusive > 0 ? `, ${inconclusive} ${inconclusive === 1 ? 'was' : 'were'} inconclusive (ties)` : ''}. The teacher has ${int(T)} parameters and every student was retrained on ${int(kdTokens)} tokens, against 8B parameters and 3.8B–380B tokens in the paper, and each number is a single run; read the agreements and disagreements as indications at this scale, not as tests of the paper.`,
  );
  const against = V.filter((v) => v.agreement === 'disagrees' || v.agreement === 'partly agrees');
  if (against.length > 0) {
    L.push('', 'Where this run disagrees with the paper it tests (in full or in part):', '');
    for (const v of against) L.push(`- **${v.id}** ${v.title} (${v.source}). ${v.sentence}`);
  }
  L.push('');
  return L.join('\n');
}
