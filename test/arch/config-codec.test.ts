// The config.json codec: reads bare non-finite tokens and transformers 5.x's {"__float__": …} tags,
// keeps untouched members byte for byte, writes changed values with transformers' declared types.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeConfig, decodeTaggedFloats, encodeConfig, pythonFloatRepr, withConfigChanges } from '../../src/core/arch/config-codec';
import { upstreamFieldType, upstreamNumberKind } from '../../src/core/arch/upstream-config-types';
import { fixtureConfig } from '../../src/core/testing/fixtures';
import { HybridCompressError } from '../../src/core/errors';
import { Rng } from '../../src/core/util/random';

// What transformers 5.18's save_pretrained writes for a small NemotronHConfig (json.dumps, indent 2,
// sorted keys, tagged non-finite floats), shortened to the keys that matter here.
const T5_TEXT = `{
  "architectures": [
    "NemotronHForCausalLM"
  ],
  "attention_dropout": 0.0,
  "hidden_size": 64,
  "layer_norm_epsilon": 1e-05,
  "layers_block_type": [
    "linear_attention",
    "mlp"
  ],
  "model_type": "nemotron_h",
  "routed_scaling_factor": 1.0,
  "time_step_limit": [
    0.0,
    {
      "__float__": "Infinity"
    }
  ],
  "time_step_min": 0.001,
  "transformers_version": "5.18.0"
}
`;

// A 4.x-era file: bare tokens, integers where floats are declared, unusual spacing and number forms.
const T4_TEXT = `{"model_type":"nemotron_h",  "hidden_size" : 64,
 "time_step_limit": [0, Infinity], "layer_norm_epsilon": 0.00001, "eps2": 1E-5, "attention_dropout": 0,
 "x": {"nested": [NaN, -Infinity]}, "transformers_version": "4.48.0"}`;

test('decodes bare tokens and {"__float__": …} tags in any list or dict; other objects stay objects', () => {
  const a = decodeConfig(T5_TEXT);
  assert.deepEqual(a['time_step_limit'], [0, Infinity]);
  const b = decodeConfig(T4_TEXT);
  assert.deepEqual(b['time_step_limit'], [0, Infinity]);
  const nested = (b['x'] as { nested: number[] }).nested;
  assert.ok(Number.isNaN(nested[0]) && nested[1] === -Infinity);
  const c = decodeTaggedFloats({ a: { __float__: 'NaN' }, b: [{ __float__: '-Infinity' }], keep: { __float__: 'inf' }, two: { __float__: 'NaN', y: 1 }, num: { __float__: 1 } }) as Record<string, unknown>;
  assert.ok(Number.isNaN(c['a']));
  assert.deepEqual(c['b'], [-Infinity]);
  assert.deepEqual(c['keep'], { __float__: 'inf' }, 'an unknown tag is left as transformers leaves it');
  assert.deepEqual(c['two'], { __float__: 'NaN', y: 1 });
  assert.deepEqual(c['num'], { __float__: 1 });
});

test('bad config text is a CONFIG_INVALID error naming the file', () => {
  for (const bad of ['{"a": ', '[1, 2]', 'null', '{"a": Inf}']) {
    assert.throws(
      () => decodeConfig(bad, '/m/config.json'),
      (e: unknown) => e instanceof HybridCompressError && e.code === 'CONFIG_INVALID' && e.context.file === '/m/config.json' && e.message.startsWith('/m/config.json: '),
      bad,
    );
  }
});

test('an unchanged config is written back byte for byte, whatever its formatting', () => {
  for (const text of [T5_TEXT, T4_TEXT, '{}', '{"a":1}\n', '{\n\t"a": [ 1.50, 2e3 ],\n\t"b": "\\u00e9"\n}\n']) {
    assert.equal(encodeConfig(decodeConfig(text)), text);
    assert.equal(encodeConfig(withConfigChanges(decodeConfig(text), {})), text);
  }
});

test('changing one key rewrites only that member; every other byte stays', () => {
  const c = withConfigChanges(decodeConfig(T5_TEXT), { hidden_size: 48 });
  const out = encodeConfig(c);
  assert.equal(out, T5_TEXT.replace('"hidden_size": 64', '"hidden_size": 48'));
  const c4 = withConfigChanges(decodeConfig(T4_TEXT), { hidden_size: 32 });
  assert.equal(encodeConfig(c4), T4_TEXT.replace('"hidden_size" : 64', '"hidden_size" : 32'));
});

test('changed and new values take the type transformers declares: floats keep ".0", ints stay ints', () => {
  const c = withConfigChanges(decodeConfig(T5_TEXT), { time_step_limit: [0, 5], attention_dropout: 1, layer_norm_epsilon: 1e-6, routed_scaling_factor: 2, hidden_size: 32, time_step_max: 1 });
  const back = encodeConfig(c);
  assert.match(back, /"time_step_limit": \[\n {4}0\.0,\n {4}5\.0\n {2}\]/);
  assert.match(back, /"attention_dropout": 1\.0,/);
  assert.match(back, /"layer_norm_epsilon": 1e-06,/);
  assert.match(back, /"routed_scaling_factor": 2\.0,/);
  assert.match(back, /"hidden_size": 32,/);
  assert.match(back, /\n {2}"time_step_max": 1\.0\n\}\n$/, 'a new key goes last with the source indentation');
  // The legacy alias takes its field's type.
  assert.equal(upstreamFieldType('nemotron_h', 'mamba_dt_limit'), 'list[float] | tuple[float, ...]');
  assert.match(encodeConfig(withConfigChanges(decodeConfig('{"model_type": "nemotron_h", "mamba_dt_limit": [0.0, 1.0]}'), { mamba_dt_limit: [0, 2] })), /\[0\.0, 2\.0\]/);
  // An undeclared key keeps the source's own number style; a declared int is never written as a float.
  assert.match(encodeConfig(withConfigChanges(decodeConfig('{"model_type": "nemotron_h", "my_scale": 1.0}'), { my_scale: 3 })), /"my_scale": 3\.0/);
  assert.match(encodeConfig(withConfigChanges(decodeConfig('{"model_type": "nemotron_h", "my_count": 1}'), { my_count: 3 })), /"my_count": 3\}/);
});

test('a non-integer value for a key transformers declares int is refused, naming the key', () => {
  const c = withConfigChanges(decodeConfig('{"model_type": "mamba2", "expand": 2}'), { expand: 1.5 });
  assert.throws(() => encodeConfig(c, { file: 'out/config.json' }), (e: unknown) => e instanceof HybridCompressError && e.code === 'CONFIG_INVALID' && /out\/config\.json: "expand" .*1\.5.*integer/.test(e.message));
  assert.equal(upstreamNumberKind('mamba2', 'expand'), 'int');
  assert.equal(upstreamNumberKind('mamba2', 'time_step_rank'), 'int');
  assert.equal(upstreamNumberKind('nemotron_h', 'hybrid_override_pattern'), undefined);
});

test('non-finite values are written the way the source wrote them; fresh configs as transformers 5.x does', () => {
  const change = { time_step_limit: [0, Infinity], extra: [NaN, -Infinity] };
  const tagged = encodeConfig(withConfigChanges(decodeConfig(T5_TEXT), change));
  assert.match(tagged, /"time_step_limit": \[\n {4}0\.0,\n {4}\{\n {6}"__float__": "Infinity"\n {4}\}\n {2}\]/);
  assert.match(tagged, /"extra": \[\n {4}\{\n {6}"__float__": "NaN"\n {4}\},\n {4}\{\n {6}"__float__": "-Infinity"\n {4}\}\n {2}\]/);
  const bare = encodeConfig(withConfigChanges(decodeConfig(T4_TEXT), { time_step_limit: [0, 1e9, Infinity] }));
  assert.match(bare, /"time_step_limit": \[0\.0, 1000000000\.0, Infinity\]/);
  assert.doesNotMatch(bare, /__float__/);
  // No non-finite value in the source: a 4.x file gets bare tokens, a 5.x (or unversioned) one tags.
  assert.match(encodeConfig(withConfigChanges(decodeConfig('{"transformers_version": "4.51.3"}'), { x: Infinity })), /"x": Infinity/);
  assert.match(encodeConfig(withConfigChanges(decodeConfig('{"a": 1}'), { x: Infinity })), /"x": \{"__float__": "Infinity"\}/);
  const fresh = encodeConfig(fixtureConfig({ family: 'mamba2' }));
  assert.match(fresh, /"time_step_limit": \[\n {4}0\.0,\n {4}\{\n {6}"__float__": "Infinity"\n {4}\}\n {2}\]/);
  assert.match(fresh, /"layer_norm_epsilon": 1e-05,/);
  assert.match(fresh, /"expand": 1,/);
  assert.ok(fresh.endsWith('}\n'));
  assert.deepEqual(JSON.parse(fresh)['time_step_limit'], [0, { __float__: 'Infinity' }], 'standard JSON');
  assert.deepEqual({ ...decodeConfig(fresh) }, { ...fixtureConfig({ family: 'mamba2' }) });
});

test("floats are written as Python's repr writes them", () => {
  // Values and their repr() in CPython 3.11.
  const cases: [number, string][] = [
    [0, '0.0'],
    [-0, '-0.0'],
    [1, '1.0'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [0.001, '0.001'],
    [123.456, '123.456'],
    [-2.5e-7, '-2.5e-07'],
    [1e15, '1000000000000000.0'],
    [1e16, '1e+16'],
    [1e100, '1e+100'],
    [0.1 + 0.2, '0.30000000000000004'],
    [12345678901234567890, '1.2345678901234567e+19'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
  ];
  for (const [x, s] of cases) assert.equal(pythonFloatRepr(x), s, String(x));
  const rng = new Rng(5);
  for (let i = 0; i < 2000; i++) {
    const x = (rng.next() - 0.5) * 10 ** (rng.int(60) - 30);
    const s = pythonFloatRepr(x);
    assert.equal(Number(s), x, s);
    assert.match(s, /^-?\d+\.\d+$|^-?\d(\.\d+)?e[+-]\d\d+$/, s);
  }
});
