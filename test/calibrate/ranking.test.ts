import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attentionHeadScores,
  mambaChannelScores,
  mambaHeadScores,
  rankAttentionHeads,
  rankMamba,
  rankMambaChannels,
  rankMambaHeads,
  rankOrder,
  topK,
  type HeadChannelScores,
} from '../../src/core/calibrate/index';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';

const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof HybridCompressError && e.code === c && (!re || re.test(e.message));

/** Checks a group-wise selection: same count per group, members in their group, and no dropped head of a group beats a kept one (ties → lower index kept). */
function checkGroupSelection(scores: ArrayLike<number>, nGroups: number, k: number, kept: number[]): void {
  const size = scores.length / nGroups;
  assert.deepEqual(kept, kept.slice().sort((a, b) => a - b), 'ascending');
  for (let g = 0; g < nGroups; g++) {
    const mine = kept.filter((h) => Math.floor(h / size) === g);
    assert.equal(mine.length, k, `group ${g} keeps ${k}`);
    for (let h = g * size; h < (g + 1) * size; h++) {
      if (mine.includes(h)) continue;
      for (const m of mine) assert.ok(scores[m]! > scores[h]! || (scores[m] === scores[h] && m < h), `group ${g}: dropped ${h} beats kept ${m}`);
    }
  }
  assert.equal(kept.length, k * nGroups);
}

test('topK / rankOrder: higher score first, ties broken by the lower index, ascending output by default', () => {
  const s = [1, 3, 3, 2, 3];
  assert.deepEqual(rankOrder(s), [1, 2, 4, 3, 0]);
  assert.deepEqual(topK(s, 2), [1, 2]);
  assert.deepEqual(topK(s, 4), [1, 2, 3, 4]);
  assert.deepEqual(topK(s, 4, { sortByImportance: true }), [1, 2, 4, 3]);
  assert.deepEqual(topK([-Infinity, Infinity, 0], 1), [1]);
  assert.throws(() => topK(s, 0), code('OPTION_INVALID', /from 1 to 5/));
  assert.throws(() => topK(s, 6), code('OPTION_INVALID'));
  assert.throws(() => topK([1, NaN], 1), code('NON_FINITE', /score 1 is NaN/));
});

test('group-aware Mamba head ranking on random scores: same count per group, heads stay in their group, best kept', () => {
  const rng = new Rng(31);
  for (const [H, G, k] of [[8, 2, 3], [12, 3, 1], [16, 4, 4], [6, 1, 2], [8, 8, 1]] as const) {
    const f = Float64Array.from({ length: H }, () => rng.next());
    const kept = rankMambaHeads(f, G, k, 'group');
    checkGroupSelection(f, G, k, kept);
    const byImp = rankMambaHeads(f, G, k, 'group', { sortByImportance: true });
    assert.deepEqual(byImp.slice().sort((a, b) => a - b), kept, 'same set');
    for (let g = 0; g < G; g++) {
      const part = byImp.slice(g * k, (g + 1) * k);
      part.forEach((h) => assert.equal(Math.floor(h / (H / G)), g, 'group order kept'));
      for (let i = 1; i < part.length; i++) assert.ok(f[part[i - 1]!]! >= f[part[i]!]!, 'descending inside the group');
    }
  }
  // All ties: the first k heads of every group.
  assert.deepEqual(rankMambaHeads(new Float64Array(8).fill(1), 2, 2, 'group'), [0, 1, 4, 5]);
});

test('global ranking differs from group ranking when the best heads crowd one group', () => {
  const f = [9, 8, 7, 6, 1, 2, 3, 4]; // group 0 = heads 0..3 holds the four best
  const group = rankMambaHeads(f, 2, 2, 'group');
  const global = rankMambaHeads(f, 2, 2, 'global');
  assert.deepEqual(group, [0, 1, 6, 7]);
  assert.deepEqual(global, [0, 1, 2, 3]);
  assert.notDeepEqual(group, global);
  // global = plain top (k·G) over the layer; packing in order puts heads 2, 3 (old group 0) into new group 1.
  assert.deepEqual(global, topK(f, 4));
  assert.deepEqual(rankMambaHeads(f, 2, 2, 'group', { sortByImportance: true }), [0, 1, 7, 6]);
  assert.throws(() => rankMambaHeads(f, 2, 5, 'global'), code('OPTION_INVALID', /from 1 to 4/));
  assert.throws(() => rankMambaHeads(f, 3, 1, 'group'), code('OPTION_INVALID', /not divisible into 3/));
  assert.throws(() => rankMambaHeads(f, 2, 1, 'best' as 'group'), code('OPTION_INVALID', /"group" or "global"/));
});

test('Mamba channel and head scores match the L2 definitions (brute force)', () => {
  const rng = new Rng(32);
  const H = 6;
  const P = 5;
  const s: HeadChannelScores = { numHeads: H, headDim: P, data: Float32Array.from({ length: H * P }, () => rng.next()) };
  const cs = mambaChannelScores(s);
  for (let d = 0; d < P; d++) {
    let ss = 0;
    for (let h = 0; h < H; h++) ss += s.data[h * P + d]! * s.data[h * P + d]!;
    assert.ok(Math.abs(cs[d]! - Math.sqrt(ss)) < 1e-12);
  }
  const sub = [4, 1];
  const hs = mambaHeadScores(s, sub);
  const hsAll = mambaHeadScores(s);
  for (let h = 0; h < H; h++) {
    assert.ok(Math.abs(hs[h]! - Math.hypot(s.data[h * P + 4]!, s.data[h * P + 1]!)) < 1e-12);
    let ss = 0;
    for (let d = 0; d < P; d++) ss += s.data[h * P + d]! ** 2;
    assert.ok(Math.abs(hsAll[h]! - Math.sqrt(ss)) < 1e-12);
  }
  const order = Array.from({ length: P }, (_, i) => i).sort((a, b) => cs[b]! - cs[a]! || a - b);
  assert.deepEqual(rankMambaChannels(s, 3), order.slice(0, 3).sort((a, b) => a - b));
  assert.deepEqual(rankMambaChannels(s, 3, { sortByImportance: true }), order.slice(0, 3));
  assert.throws(() => mambaHeadScores(s, [5]), code('OPTION_INVALID', /outside \[0, 5\)/));
  assert.throws(() => mambaChannelScores({ numHeads: 2, headDim: 3, data: [1, 2] }), code('SHAPE_MISMATCH'));
});

test('nested Mamba ranking: one shared channel set, head scores recomputed on the kept channels', () => {
  // Channel 0 wins the shared ranking; on channel 0 alone heads 2 and 3 tie (lower index wins),
  // while over all channels head 3 would beat head 2.
  const s: HeadChannelScores = { numHeads: 4, headDim: 2, data: [5, 0, 4, 0, 0, 3, 0, 3.5] };
  const pruned = rankMamba(s, { nGroups: 2, keepHeadsPerGroup: 1, keepChannels: 1 });
  assert.deepEqual(pruned.channels, [0]);
  assert.deepEqual(Array.from(pruned.headScores), [5, 4, 0, 0]);
  assert.deepEqual(pruned.heads, [0, 2]);
  const full = rankMamba(s, { nGroups: 2, keepHeadsPerGroup: 1 });
  assert.deepEqual(full.channels, [0, 1]);
  assert.deepEqual(full.heads, [0, 3]);

  const rng = new Rng(33);
  for (let trial = 0; trial < 20; trial++) {
    const H = 8;
    const P = 6;
    const G = [1, 2, 4][trial % 3]!;
    const data = Float64Array.from({ length: H * P }, () => rng.next() ** 2);
    const keepChannels = 1 + rng.int(P);
    const k = 1 + rng.int(H / G);
    const r = rankMamba({ numHeads: H, headDim: P, data }, { nGroups: G, keepHeadsPerGroup: k, keepChannels });
    const colNorm = Array.from({ length: P }, (_, d) => Math.sqrt(Array.from({ length: H }, (_, h) => data[h * P + d]! ** 2).reduce((a, b) => a + b)));
    const chans = Array.from({ length: P }, (_, i) => i).sort((a, b) => colNorm[b]! - colNorm[a]! || a - b).slice(0, keepChannels).sort((a, b) => a - b);
    assert.deepEqual(r.channels, chans);
    const f = Array.from({ length: H }, (_, h) => Math.sqrt(chans.reduce((acc, d) => acc + data[h * P + d]! ** 2, 0)));
    r.headScores.forEach((v, h) => assert.ok(Math.abs(v - f[h]!) < 1e-12));
    checkGroupSelection(f, G, k, r.heads);
  }
});

test('attention heads: L2 per head over its channels, ranked within each KV group', () => {
  const rng = new Rng(34);
  const Hq = 8;
  const d = 3;
  const ch = Float64Array.from({ length: Hq * d }, () => rng.next());
  const hs = attentionHeadScores(ch, Hq, d);
  hs.forEach((v, h) => assert.ok(Math.abs(v - Math.hypot(ch[h * d]!, ch[h * d + 1]!, ch[h * d + 2]!)) < 1e-12));
  for (const [Hkv, k] of [[2, 3], [4, 1], [1, 5]] as const) {
    const kept = rankAttentionHeads(hs, Hkv, k);
    checkGroupSelection(hs, Hkv, k, kept);
  }
  assert.throws(() => attentionHeadScores(ch, Hq, 4), code('SHAPE_MISMATCH'));
  assert.throws(() => rankAttentionHeads(hs, 3, 1), code('OPTION_INVALID'));
});
