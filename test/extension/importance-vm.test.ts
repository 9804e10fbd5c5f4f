import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { ImportanceScores, importanceLayout } from '../../src/core/calibrate/importance-file';
import { Rng } from '../../src/core/util/random';
import { histogram, importanceVM, sortedChannels, thresholdOf } from '../../src/extension/viewmodel/importance-vm';

const spec = buildSpec(fixtureConfig({ hiddenSize: 48, pattern: 'M-M*M-', mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 40, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 12 }));

function scores(seed: number): ImportanceScores {
  const rng = new Rng(seed);
  const t = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const { name, shape } of importanceLayout(spec)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.next() * 10;
    t.set(name, { shape, data });
  }
  // As calibrate writes them: head scores are the L2 norm of each head's row of raw activation scores.
  for (const [name, v] of t) {
    if (!name.endsWith('.mamba.activations')) continue;
    const [H, P] = v.shape as [number, number];
    const heads = t.get(name.replace('activations', 'heads'))!.data;
    for (let h = 0; h < H; h++) heads[h] = Math.hypot(...v.data.subarray(h * P, (h + 1) * P));
  }
  return new ImportanceScores('test', { format: 'hybrid-compress/importance@1' }, t);
}
const run = { id: 'r1', dir: '/w/.hybrid-compress/runs/r1', created: '2026-01-01T00:00:00Z' };

test('heatmap: one cell per Mamba head and layer; kept heads are the best of each group, same count per group', () => {
  const s = scores(1);
  const st = importanceVM(spec, s, { mambaNumHeads: 4 }, run, '/w/models/m');
  assert.equal(st.planError, undefined);
  const m = st.mamba!;
  assert.equal(m.rows.length, 3);
  assert.equal(m.rows.reduce((a, r) => a + r.cells.length, 0), 3 * 8);
  for (const row of m.rows) {
    const hs = s.require(`layers.${row.layer}.mamba.heads`, [8], 't');
    for (const g of [0, 1]) {
      const inGroup = row.cells.filter((c) => c.group === g);
      assert.equal(inGroup.length, 4);
      assert.equal(inGroup.filter((c) => c.kept).length, 2, `layer ${row.layer} group ${g}`);
      // Brute force: the two largest head scores of the group.
      const best = [...inGroup].sort((a, b) => hs[b.head]! - hs[a.head]!).slice(0, 2).map((c) => c.head).sort();
      assert.deepEqual(inGroup.filter((c) => c.kept).map((c) => c.head).sort(), best);
      for (const c of inGroup) assert.equal(c.score, hs[c.head]);
    }
  }
});

test('FFN threshold is the lowest kept score; histogram counts every neuron; attention and embedding cuts', () => {
  const s = scores(2);
  const st = importanceVM(spec, s, { ffnHiddenSize: 10, numAttentionHeads: 2, hiddenSize: 30 }, run, '/w/models/m');
  for (const row of st.mlp!.rows) {
    const v = Array.from(s.require(`layers.${row.layer}.mlp.neurons`, [40], 't'));
    const sorted = [...v].sort((a, b) => b - a);
    assert.equal(row.threshold, sorted[9]);
    assert.equal(row.bins.reduce((a, b) => a + b.count, 0), 40);
  }
  const att = st.attention!.rows[0]!;
  assert.equal(att.heads.filter((h) => h.kept).length, 2);
  // One kept head per KV group (4 query heads, 2 KV groups).
  assert.equal(att.heads.filter((h) => h.kept && h.head < 2).length, 1);
  const emb = st.embedding!;
  assert.equal(emb.keep, 30);
  for (let i = 1; i < emb.sorted.length; i++) assert.ok(emb.sorted[i - 1]!.score >= emb.sorted[i]!.score);
  assert.ok(emb.sorted.some((p) => p.rank === 29) && emb.sorted.some((p) => p.rank === 30));
});

test('illegal targets: everything drawn as kept and the reason given', () => {
  const st = importanceVM(spec, scores(3), { mambaNumHeads: 3 }, run, '/w/models/m');
  assert.match(st.planError ?? '', /mamba-num-heads 3 is not legal/);
  assert.ok(st.mamba!.rows.every((r) => r.cells.every((c) => c.kept)));
});

test('layer targets mark the dropped layers by depth score', () => {
  const s = scores(4);
  const st = importanceVM(spec, s, { numLayers: 4 }, run, '/w/models/m');
  const kl = s.require('depth.kl', [6], 't');
  const order = Array.from(kl, (v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const dropped = order.slice(0, 2).map(([, i]) => i).sort();
  assert.deepEqual(st.layers.filter((l) => !l.kept).map((l) => l.index), dropped);
});

test('helpers: histogram, threshold, sorted channels', () => {
  assert.deepEqual(histogram([0, 1, 2, 3], 2).map((b) => b.count), [2, 2]);
  assert.deepEqual(histogram([NaN, Infinity], 3), []);
  assert.equal(histogram([5, 5, 5], 4).reduce((a, b) => a + b.count, 0), 3);
  assert.equal(thresholdOf([3, 1, 2], [0, 2]), 2);
  assert.equal(thresholdOf([3, 1, 2], []), -Infinity);
  const sc = sortedChannels(Float32Array.from({ length: 2000 }, (_, i) => (i * 7919) % 2000), 700, 100);
  assert.ok(sc.length <= 110);
  assert.equal(sc[0]!.score, 1999);
  assert.equal(sc[sc.length - 1]!.rank, 1999);
});
