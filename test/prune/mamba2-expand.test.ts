// Pure Mamba2 pruning targets are limited to what transformers' Mamba2Config can express: an integer
// expand with hidden_size × expand = num_heads × head_dim. Checked against brute-force enumeration.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from '../../src/core/arch/index';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { completeMamba2, legalWithOthers, mamba2ExpandOk, reachableValues, type Mamba2Axis, type Mamba2Widths } from '../../src/core/prune/mamba2-expand';
import { applyPruneAxis, axisRanges, checkTargets } from '../../src/core/prune/targets';
import { configChanges, sourceDims } from '../../src/core/prune/config';
import { enumerateCandidates } from '../../src/core/prune/search';
import { randomImportance } from '../../src/core/prune/importance';

const m2 = buildSpec(fixtureConfig({ family: 'mamba2', numLayers: 3, hiddenSize: 24, mambaHeads: 6, mambaHeadDim: 8, nGroups: 2, stateSize: 8 }));
const nh = buildSpec(fixtureConfig({ pattern: 'M-M*', hiddenSize: 24, mambaHeads: 6, mambaHeadDim: 8, nGroups: 2, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 6 }));
const AXES: Mamba2Axis[] = ['hiddenSize', 'mambaNumHeads', 'mambaHeadDim'];

/** Every width triple the per-axis rules allow (hidden 1..24, heads 2,4,6, head dim 1..8). */
function allTriples(): Mamba2Widths[] {
  const out: Mamba2Widths[] = [];
  for (let d = 1; d <= 24; d++) for (let h = 2; h <= 6; h += 2) for (let p = 1; p <= 8; p++) out.push({ hiddenSize: d, mambaNumHeads: h, mambaHeadDim: p });
  return out;
}

test('checkTargets accepts exactly the mamba2 widths with (heads × head_dim) % hidden = 0; nemotron_h has no such rule', () => {
  for (const w of allTriples()) {
    const legal = (w.mambaNumHeads * w.mambaHeadDim) % w.hiddenSize === 0;
    let ok = true;
    try {
      checkTargets(m2, w);
    } catch {
      ok = false;
    }
    assert.equal(ok, legal, JSON.stringify(w));
    assert.doesNotThrow(() => checkTargets(nh, w), JSON.stringify(w));
  }
  assert.match(axisRanges(m2).mambaHeadDim!.rule, /integer expand/);
  assert.doesNotMatch(axisRanges(nh).mambaHeadDim!.rule, /expand/);
});

test('legal and reachable values match brute force; completions are legal, keep the moved axis and are nearest', () => {
  const triples = allTriples();
  const ok = triples.filter((w) => mamba2ExpandOk(w));
  for (const w of triples) {
    for (const axis of AXES) {
      const brute = [...new Set(ok.filter((x) => AXES.every((a) => a === axis || x[a] === w[a])).map((x) => x[axis]))].sort((a, b) => a - b);
      assert.deepEqual(legalWithOthers(m2, axis, w), brute, `${axis} ${JSON.stringify(w)}`);
      // Reachable: some legal triple has this value (holding the hidden size when a Mamba axis moves).
      const hold = (x: Mamba2Widths) => axis === 'hiddenSize' || x.hiddenSize === w.hiddenSize;
      const reach = [...new Set(ok.filter(hold).map((x) => x[axis]))].sort((a, b) => a - b);
      assert.deepEqual(reachableValues(m2, axis, w), reach, `reachable ${axis} ${JSON.stringify(w)}`);
      const c = completeMamba2(m2, w, axis);
      const candidates = ok.filter((x) => hold(x) && x[axis] === w[axis]);
      if (candidates.length === 0) {
        assert.equal(c, undefined);
        continue;
      }
      assert.ok(c && mamba2ExpandOk(c) && c[axis] === w[axis] && hold(c), `${axis} ${JSON.stringify(w)} → ${JSON.stringify(c)}`);
      const dInner = (x: Mamba2Widths) => Math.abs(x.mambaNumHeads * x.mambaHeadDim - w.mambaNumHeads * w.mambaHeadDim);
      // When a Mamba axis moved and the other alone can fix it, only that one changes.
      const other = axis === 'mambaNumHeads' ? 'mambaHeadDim' : axis === 'mambaHeadDim' ? 'mambaNumHeads' : undefined;
      const single = other ? candidates.filter((x) => AXES.every((a) => a === other || x[a] === w[a])) : [];
      const pool = single.length > 0 ? single : candidates;
      assert.equal(dInner(c), Math.min(...pool.map(dInner)), `nearest inner size for ${axis} ${JSON.stringify(w)}`);
    }
  }
});

test('the pruned config carries an integer expand; illegal widths never reach the config', () => {
  const base = sourceDims(m2);
  assert.deepEqual(configChanges(m2, { ...base, hiddenSize: 16, mambaNumHeads: 4 }), { hidden_size: 16, num_heads: 4 }, '32 / 16: expand stays 2');
  assert.deepEqual(configChanges(m2, { ...base, hiddenSize: 8, mambaNumHeads: 4 }), { hidden_size: 8, num_heads: 4, expand: 4 });
  assert.deepEqual(configChanges(m2, { ...base, mambaHeadDim: 4 }), { head_dim: 4, expand: 1 });
  assert.throws(() => configChanges(m2, { ...base, mambaHeadDim: 5 }), /integer expand/);
  // Without an expand key, the default (2) is not written when it still holds.
  const noExpand = fixtureConfig({ family: 'mamba2', numLayers: 1, hiddenSize: 24, mambaHeads: 6, mambaHeadDim: 8, nGroups: 2 });
  delete noExpand['expand'];
  const s = buildSpec(noExpand);
  assert.deepEqual(configChanges(s, { ...sourceDims(s), hiddenSize: 12, mambaHeadDim: 4 }), { hidden_size: 12, head_dim: 4 });
  assert.deepEqual(configChanges(s, { ...sourceDims(s), mambaHeadDim: 4 }), { head_dim: 4, expand: 1 });
});

test('search and --prune-axis only produce expressible mamba2 widths', () => {
  const { candidates, gridSize } = enumerateCandidates(m2, randomImportance(m2, 1), { targetParams: m2.params.total * 0.6, tolerance: 0.3, maxWidthPruning: 0.75, maxDepthPruning: 0.5, steps: { hidden: 2, mambaHeadDim: 1 } });
  assert.ok(candidates.length > 0 && candidates.length < gridSize);
  for (const c of candidates) {
    assert.ok(mamba2ExpandOk({ hiddenSize: c.dims.hiddenSize, mambaNumHeads: c.dims.mambaNumHeads!, mambaHeadDim: c.dims.mambaHeadDim! }), JSON.stringify(c.dims));
    assert.doesNotThrow(() => checkTargets(m2, c.targets));
  }
  const heads = applyPruneAxis(m2, { hiddenSize: 16, mambaHeadDim: 4 }, 'heads');
  assert.deepEqual(heads.targets, { hiddenSize: 16, mambaNumHeads: 2, mambaHeadDim: 8 });
  assert.match(heads.note, /a multiple of hidden_size 16/);
  const channels = applyPruneAxis(m2, { mambaNumHeads: 2 }, 'channels');
  assert.deepEqual(channels.targets, { mambaNumHeads: 6, mambaHeadDim: 4 });
  for (const r of [heads, channels]) assert.doesNotThrow(() => checkTargets(m2, r.targets));
});
