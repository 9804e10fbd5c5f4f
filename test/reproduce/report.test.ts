import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combine, renderReport, verdicts } from '../../scripts/reproduce/report';
import { SECTIONS } from '../../scripts/reproduce/results';
import { fakeResults } from './fake-results';

const byId = <T extends { id: string }>(v: T[], id: string): T => {
  const x = v.find((y) => y.id === id);
  assert.ok(x, `finding ${id}`);
  return x;
};

test('every verdict agrees when the made-up numbers follow the paper', () => {
  const v = verdicts(fakeResults());
  // Every section has at least one finding, each names its source, and ids are unique.
  for (let n = 1; n <= SECTIONS.length; n++) assert.ok(v.some((x) => x.section === n), `section ${n} has a finding`);
  assert.equal(new Set(v.map((x) => x.id)).size, v.length);
  assert.ok(v.every((x) => x.source.length > 0));
  assert.deepEqual(
    v.map((x) => x.agreement),
    v.map(() => 'agrees'),
  );
  // The depth findings carry the Spearman values computed from the layer table (KL order = measured order).
  assert.match(byId(v, '6b').sentence, /Spearman 1\.00 vs /);
  assert.match(byId(v, '6c').sentence, /first layer ranks 1 and the last 2 of 4/);
  // Findings of the earlier Minitron papers are attributed to them.
  assert.match(byId(v, '5a').source, /^Minitron \(arXiv 2407\.14679\)/);
  assert.match(byId(v, '6b').source, /^Minitron Approach/);
});

test('the report has a table row per measurement, the settings, and the summary count', () => {
  const r = fakeResults();
  const md = renderReport(r);
  assert.match(md, /do not edit by hand/);
  assert.doesNotMatch(md, /--quick/);
  for (const s of SECTIONS) assert.ok(md.includes(`. ${s}`), `section "${s}" present`);
  // Section 1: two rows per head cut.
  assert.equal((md.match(/\| 16→12 \(3 per group\) \|/g) ?? []).length, 2);
  assert.ok(md.includes('| 16→8 (2 per group) | 860,000 (86.0 %) | global (naive) | 11 of 32 | 5.400 | 4.500 |'));
  // Section 3: random column is mean [min – max].
  assert.ok(md.includes('| 4.800 [4.700 – 4.900] |'));
  assert.ok(md.includes('| Attention heads | 8→4 | 980,000 (98.0 %) | 4.100 | n/a |'));
  // Settings that shape every number are printed.
  assert.ok(md.includes(`${r.meta.settings.kd.steps} steps × batch ${r.meta.settings.kd.batch} × ${r.meta.settings.kd.seqLen} tokens`));
  assert.ok(md.includes('seeded uniform scores, 3 seeds (1, 2, 3)'));
  assert.ok(md.includes('Test CPU, 2 cores'));
  assert.ok(md.includes('commit `1234abc`; source hash `feedbeef`'));
  assert.ok(md.includes('Wall time: 10.0 min.'));
  assert.match(md, new RegExp(`${verdicts(r).length} of ${verdicts(r).length} findings held outright`));
  assert.doesNotMatch(md, /Where this run disagrees/);
  // Section 3's FFN tap table and section 4's search columns.
  assert.ok(md.includes('| 1024→768 | 930,000 (93.0 %) | 4.200 | 4.300 |'));
  assert.ok(md.includes('| depth-only | layers 4→2 | 540,000 (54.0 %) | 2 | 7.400 (50) | 5.800 † | 7.500 | 5.400 |'));
});

test('a reversed comparison is reported as a disagreement, in the section and in the summary', () => {
  const r = fakeResults();
  r.kdVsCe.ce.loss = 4.4; // CE-only now better than KD (4.6)
  const v = verdicts(r);
  assert.equal(byId(v, '5a').agreement, 'disagrees');
  const md = renderReport(r);
  assert.match(md, /\*\*Here\.\*\* Disagrees: the same pruned student reaches 4\.600 with KD and 4\.400 with CE only/);
  assert.match(md, /\| 5a \| Distillation .* \| \*\*disagrees\*\* \|/);
  assert.match(md, new RegExp(`${v.length - 1} of ${v.length} findings held outright at this scale, 0 held in part, 1 did not`));
  // A disagreement is listed again after the summary table, with its source.
  assert.match(md, /Where this run disagrees with the paper it tests[^]*- \*\*5a\*\* Distillation .*\(Minitron \(arXiv 2407\.14679\)/);
});

test('differences within the tie threshold are neither wins nor losses', () => {
  const r = fakeResults();
  r.kdVsCe.ce.loss = r.kdVsCe.kd.loss + r.meta.settings.tieNats / 2;
  assert.equal(byId(verdicts(r), '5a').agreement, 'inconclusive');
  // One lost comparison among wins: partly.
  r.groupAware[0]!.global.kd = 4.0;
  const v = verdicts(r);
  assert.equal(byId(v, '1a').agreement, 'partly agrees');
  assert.match(byId(v, '1a').sentence, /in 3 of 4 comparisons \(1 the other way\)/);
});

test('activation losing to FLAP and to random for Mamba heads is a disagreement, said as the reverse of the paper', () => {
  const r = fakeResults();
  r.metrics[0]!.activation = 5.0; // FLAP 4.5, random mean 4.8
  const v = verdicts(r);
  assert.equal(byId(v, '3a').agreement, 'disagrees');
  assert.match(byId(v, '3a').sentence, /the reverse of the paper/);
  assert.equal(byId(v, '3c').agreement, 'disagrees');
  assert.match(byId(v, '3c').sentence, /did worse than random/);
});

test('a last layer ranked low by KL disagrees in part with "first and last layers matter most"', () => {
  const r = fakeResults();
  const last = r.depth.layers[r.depth.layers.length - 1]!;
  last.kl = -1; // least important by KL
  const v = verdicts(r);
  assert.equal(byId(v, '6c').agreement, 'partly agrees');
  assert.match(byId(v, '6c').sentence, /the last layer ranks 4 of 4, against the paper/);
});

test('a --quick run is marked as meaningless', () => {
  const r = fakeResults();
  r.meta.quick = true;
  assert.match(renderReport(r), /`--quick` run: .* These numbers mean nothing/);
});

test('combine: all agree, all disagree, mixtures and ties', () => {
  assert.equal(combine(['agrees', 'agrees']), 'agrees');
  assert.equal(combine(['disagrees', 'disagrees']), 'disagrees');
  assert.equal(combine(['agrees', 'disagrees']), 'partly agrees');
  assert.equal(combine(['agrees', 'inconclusive']), 'partly agrees');
  assert.equal(combine(['disagrees', 'inconclusive']), 'disagrees');
  assert.equal(combine(['inconclusive']), 'inconclusive');
});

test('speeds are shown only when the machine was not shared during the measurements', () => {
  const r = fakeResults();
  let md = renderReport(r);
  assert.ok(md.includes('| teacher | unpruned | 1,000,000 (100 %) | 4 | — | — | 4.000 | — | 5000 |'));
  assert.match(md, /used 1\.90 CPU-seconds per wall-second/);
  assert.doesNotMatch(md, /Speed is not compared/);
  r.meta.machine.usage = { cpuPerWall: 0.6, loadMedian: 8, loadMax: 11 };
  md = renderReport(r);
  assert.ok(md.includes('| teacher | unpruned | 1,000,000 (100 %) | 4 | — | — | 4.000 | — |\n'));
  assert.match(md, /Speed is not compared here/);
  assert.match(md, /other jobs shared the machine and the wall times are inflated/);
});
