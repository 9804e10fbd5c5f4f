import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combine, renderReport, verdicts } from '../../scripts/reproduce/report';
import { SECTIONS } from '../../scripts/reproduce/results';
import { fakeResults } from './fake-results';

test('every verdict agrees when the made-up numbers follow the paper', () => {
  const v = verdicts(fakeResults());
  assert.equal(v.length, SECTIONS.length);
  assert.deepEqual(
    v.map((x) => x.agreement),
    v.map(() => 'agrees'),
  );
  // The depth sentence carries the Spearman values computed from the layer table (KL order = measured order).
  assert.match(v[5]!.sentence, /Spearman 1\.00 vs /);
  assert.match(v[5]!.sentence, /first layer ranks 1 and the last 2 of 4/);
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
  assert.match(md, /6 of 6 findings held outright/);
});

test('a reversed comparison is reported as a disagreement, in the section and in the summary', () => {
  const r = fakeResults();
  r.kdVsCe.ce.loss = 4.4; // CE-only now better than KD (4.6)
  const v = verdicts(r);
  assert.equal(v[4]!.agreement, 'disagrees');
  const md = renderReport(r);
  assert.match(md, /\*\*Here\.\*\* Disagrees: the same pruned student reaches 4\.600 with KD and 4\.400 with CE only/);
  assert.match(md, /\| 5 \| Distillation .* \| \*\*disagrees\*\* \|/);
  assert.match(md, /5 of 6 findings held outright at this scale, 0 held in part, 1 did not/);
});

test('differences within the tie threshold are neither wins nor losses', () => {
  const r = fakeResults();
  r.kdVsCe.ce.loss = r.kdVsCe.kd.loss + r.meta.settings.tieNats / 2;
  assert.equal(verdicts(r)[4]!.agreement, 'inconclusive');
  // One lost comparison among wins: partly.
  r.groupAware[0]!.global.kd = 4.0;
  const v = verdicts(r);
  assert.equal(v[0]!.agreement, 'partly agrees');
  assert.match(v[0]!.sentence, /in 3 of 4 comparisons \(1 the other way\)/);
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
  assert.ok(md.includes('| teacher | unpruned | 1,000,000 (100 %) | 4 | 4.000 | — | 5000 |'));
  assert.match(md, /used 1\.90 CPU-seconds per wall-second/);
  assert.doesNotMatch(md, /Speed is not compared/);
  r.meta.machine.usage = { cpuPerWall: 0.6, loadMedian: 8, loadMax: 11 };
  md = renderReport(r);
  assert.ok(md.includes('| teacher | unpruned | 1,000,000 (100 %) | 4 | 4.000 | — |\n'));
  assert.match(md, /Speed is not compared here/);
  assert.match(md, /other jobs shared the machine and the wall times are inflated/);
});
