import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { decodeConfigText, encodeConfig, pythonFloatRepr, upstreamFieldType } from '../../src/core/arch/config-codec';
import { Rng } from '../../src/core/util/random';

// What transformers 5.18 save_pretrained writes (json.dumps(indent=2, sort_keys=True), tagged non-finite floats).
const V5 = `{
  "attention_dropout": 0.0,
  "hidden_size": 64,
  "layer_norm_epsilon": 1e-05,
  "model_type": "nemotron_h",
  "routed_scaling_factor": 1.0,
  "time_step_limit": [
    0.0,
    {
      "__float__": "Infinity"
    }
  ],
  "time_step_min": 0.001
}
`;
// What transformers 4.x / plain json.dumps wrote: bare tokens; plus hand-edited formatting.
const V4 = `{"model_type": "mamba2", "hidden_size": 64,   "expand": 2,
 "time_step_limit": [0.0, Infinity], "odd": -Infinity, "nan": NaN, "layer_norm_epsilon": 1E-5}`;

test('reads bare and tagged non-finite floats alike, and remembers which spelling the source used', () => {
  const a = decodeConfigText(V5);
  assert.deepEqual(a.values['time_step_limit'], [0, Infinity]);
  assert.equal(a.nonFinite, 'tagged');
  const b = decodeConfigText(V4);
  assert.deepEqual(b.values['time_step_limit'], [0, Infinity]);
  assert.equal(b.values['odd'], -Infinity);
  assert.ok(Number.isNaN(b.values['nan']));
  assert.equal(b.nonFinite, 'bare');
  // A lone "__float__" object with another payload is left as it is (as transformers does).
  assert.deepEqual(decodeConfigText('{"x": {"__float__": "big"}}').values['x'], { __float__: 'big' });
});

test('unchanged configs are written back byte for byte, whatever their formatting', () => {
  for (const text of [V5, V4 + '\n']) {
    const c = decodeConfigText(text);
    assert.equal(encodeConfig({ ...c.values }, c), text);
  }
});

test('changed members are replaced in place with their upstream type; the rest keeps its bytes; new keys go last', () => {
  const c = decodeConfigText(V5);
  const out = encodeConfig({ ...c.values, hidden_size: 48, attention_dropout: 1, time_step_min: 0.00001, head_dim: 16 }, c);
  assert.equal(
    out,
    V5.replace('"hidden_size": 64', '"hidden_size": 48')
      .replace('"attention_dropout": 0.0', '"attention_dropout": 1.0')
      .replace('"time_step_min": 0.001\n', '"time_step_min": 1e-05,\n  "head_dim": 16\n'),
  );
  // Non-finite values are written the way the source wrote them.
  const b = decodeConfigText(V4);
  const outB = encodeConfig({ ...b.values, time_step_limit: [0, -Infinity] }, b);
  assert.match(outB, /"time_step_limit": \[\n {4}0\.0,\n {4}-Infinity\n {2}\]/);
  assert.match(outB, /"odd": -Infinity, "nan": NaN/);
});

test('integer fields refuse fractions; unknown keys keep the number type the source wrote', () => {
  const c = decodeConfigText(V5);
  assert.throws(() => encodeConfig({ ...c.values, hidden_size: 48.5 }, c), /"hidden_size" must be an integer/);
  const d = decodeConfigText('{"model_type": "x", "a": 1.5, "b": 2}');
  assert.equal(encodeConfig({ ...d.values, a: 3, b: 4 }, d), '{"model_type": "x", "a": 3.0, "b": 4}\n');
  assert.equal(upstreamFieldType('mamba2', 'expand'), 'int');
  assert.equal(upstreamFieldType('nemotron_h', 'time_step_limit'), 'float[]');
});

test('a config made from scratch is written as transformers 5.x writes it', () => {
  const text = encodeConfig({ model_type: 'nemotron_h', hidden_size: 64, time_step_limit: [0, Infinity], hidden_dropout: 0, note: null });
  assert.equal(
    text,
    `{\n  "model_type": "nemotron_h",\n  "hidden_size": 64,\n  "time_step_limit": [\n    0.0,\n    {\n      "__float__": "Infinity"\n    }\n  ],\n  "hidden_dropout": 0.0,\n  "note": null\n}\n`,
  );
  assert.deepEqual(decodeConfigText(text).values['time_step_limit'], [0, Infinity]);
});

test('pythonFloatRepr matches Python repr on known values', () => {
  const cases: Array<[number, string]> = [
    [1, '1.0'], [0, '0.0'], [-0, '-0.0'], [0.1, '0.1'], [0.0001, '0.0001'], [0.00001, '1e-05'], [1.5e-7, '1.5e-07'],
    [1e15, '1000000000000000.0'], [1e16, '1e+16'], [3e20, '3e+20'], [-2.5, '-2.5'], [123.456, '123.456'], [1 / 3, '0.3333333333333333'],
  ];
  for (const [x, want] of cases) assert.equal(pythonFloatRepr(x), want, String(x));
});

test('pythonFloatRepr equals CPython repr on random doubles (when python3 is on PATH)', (t) => {
  const rng = new Rng(11);
  const xs: number[] = [];
  for (let i = 0; i < 300; i++) xs.push((rng.next() - 0.5) * 10 ** Math.round(rng.next() * 44 - 22));
  const r = spawnSync('python3', ['-c', 'import sys,json\nfor x in json.load(sys.stdin): print(repr(float(x)))'], { input: JSON.stringify(xs), encoding: 'utf8' });
  if (r.error) {
    t.skip('python3 is not on PATH');
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(xs.map(pythonFloatRepr), r.stdout.trim().split('\n'));
});
