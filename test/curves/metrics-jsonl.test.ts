import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsJsonlParser } from '../../src/core/curves/metrics-jsonl';
import { makePoint, parseMetricPoint, seriesNames, seriesValues } from '../../src/core/runs/metric-point';
import { WarningTally } from '../../src/core/curves/warnings';

const LINES = [
  '{"step":1,"loss":2.5,"kd_loss":2.5,"lr":0.0001,"grad_norm":1.5,"tokens_per_s":1200,"elapsed_s":0.8}',
  '{"step":2,"loss":2.25,"kd_loss":2.0,"ce_loss":3.0,"lr":0.0002,"grad_norm":1.25,"tokens_per_s":1250,"elapsed_s":1.6}',
  '{"step":2,"val_loss":2.75,"val_ppl":15.642631884188171}',
];

test('training and evaluation lines of the local metrics.jsonl become points with the same names', () => {
  const pts = new MetricsJsonlParser().push(LINES.join('\n') + '\n');
  assert.equal(pts.length, 3);
  assert.deepEqual(pts[0], { step: 1, loss: 2.5, kd_loss: 2.5, lr: 0.0001, grad_norm: 1.5, tokens_per_s: 1200, elapsed_s: 0.8 });
  assert.deepEqual(pts[2], { step: 2, val_loss: 2.75, val_ppl: 15.642631884188171 });
  assert.deepEqual(seriesNames(pts), ['loss', 'kd_loss', 'lr', 'grad_norm', 'tokens_per_s', 'elapsed_s', 'ce_loss', 'val_loss', 'val_ppl']);
  assert.deepEqual(seriesValues(pts, 'ce_loss'), { steps: [2], values: [3] });
});

test('NaN/Infinity tokens (Python json) are accepted and those values dropped; bad lines are counted', () => {
  const tally = new WarningTally();
  const parser = new MetricsJsonlParser(tally.sink, 'm.jsonl');
  const pts = parser.push(['{"step":3,"loss":NaN,"lr":0.1}', 'not json', '{"loss":1}', '[1,2]', '{"step":4,"loss":Infinity}', '{"step":5,"note":"text only"}', '{"step":6,"loss":1.0}'].join('\n') + '\n');
  assert.deepEqual(pts, [{ step: 3, lr: 0.1 }, { step: 6, loss: 1 }]);
  assert.equal(parser.badLines, 3);
  assert.equal(tally.counts.get('bad-line'), 3);
  assert.match(tally.first.get('bad-line')!, /m\.jsonl: line 2 /);
});

test('a line cut mid-write is completed on the next push; flush takes a complete unterminated line', () => {
  const p = new MetricsJsonlParser();
  const text = LINES.join('\n');
  const cut = text.indexOf('"grad_norm":1.25') + 5;
  assert.equal(p.push(text.slice(0, cut)).length, 1);
  assert.equal(p.push(text.slice(cut)).length, 1);
  assert.equal(p.flush().length, 1);
  const q = new MetricsJsonlParser();
  q.push('{"step":9,"loss":1.');
  assert.deepEqual(q.flush(), [], 'a half-written object is skipped at end of stream');
});

test('makePoint keeps finite series only; parseMetricPoint keeps every number and names a bad field', () => {
  assert.deepEqual(makePoint(4, Object.entries({ loss: 1.5, lr: NaN })), { step: 4, loss: 1.5 });
  assert.equal(makePoint(4, []), undefined);
  assert.equal(makePoint(1.5, [['loss', 1]]), undefined);
  const p = parseMetricPoint({ step: 2, loss: NaN });
  assert.ok(Number.isNaN(p['loss']));
  assert.throws(() => parseMetricPoint({ step: 2, loss: '1' }), /metric "loss" must be a number/);
  assert.throws(() => parseMetricPoint({ step: -1 }), /"step" must be a non-negative integer/);
});
