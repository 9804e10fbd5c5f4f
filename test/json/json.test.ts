// The lenient JSON parser (bare Infinity/-Infinity/NaN from Python's json.dumps, duplicate keys,
// depth limit) and the stringifier that writes those tokens back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { JsonSyntaxError, parseJson, stringifyJson } from '../../src/core/util/json';
import { Rng } from '../../src/core/util/random';

const lenient = { allowNonFinite: true };

test('bare Infinity, -Infinity and NaN tokens parse only when allowed', () => {
  const text = '{"time_step_limit": [0.0, Infinity], "lo": -Infinity, "x": NaN, "n": [NaN, -Infinity]}';
  const v = parseJson(text, lenient) as Record<string, unknown>;
  assert.deepEqual(v['time_step_limit'], [0, Infinity]);
  assert.equal(v['lo'], -Infinity);
  assert.ok(Number.isNaN(v['x']));
  const n = v['n'] as number[];
  assert.ok(Number.isNaN(n[0]!) && n[1] === -Infinity);
  for (const bad of ['[Infinity]', '[-Infinity]', '[NaN]']) assert.throws(() => parseJson(bad), JsonSyntaxError, bad);
});

test('near-miss tokens are errors even when non-finite tokens are allowed', () => {
  for (const bad of ['[Inf]', '[infinity]', '[-NaN]', '[+Infinity]', '[Infinityx]', '[nan]', '[-]', '[- 1]', '[Infinity1]']) {
    assert.throws(() => parseJson(bad, lenient), JsonSyntaxError, bad);
  }
});

test('strings containing "Infinity" or "NaN" stay strings', () => {
  const v = parseJson('{"a": "Infinity", "b": "-Infinity", "c": "NaN is not a number", "Infinity": 1}', lenient) as Record<string, unknown>;
  assert.deepEqual({ ...v }, { a: 'Infinity', b: '-Infinity', c: 'NaN is not a number', Infinity: 1 });
});

test('standard JSON parses exactly like JSON.parse (random documents)', () => {
  const rng = new Rng(11);
  const gen = (d: number): unknown => {
    const k = rng.int(d > 3 ? 4 : 7);
    if (k === 0) return rng.next() < 0.5 ? rng.int(1000) - 500 : (rng.next() - 0.5) * 10 ** (rng.int(40) - 20);
    if (k === 1) return ['', 'a"b', 'x\\y', 'tab\tnl\n', 'é€😀', '\u0001', '/'][rng.int(7)];
    if (k === 2) return [true, false, null][rng.int(3)];
    if (k === 3) return rng.int(1e9);
    if (k < 6) return Array.from({ length: rng.int(4) }, () => gen(d + 1));
    return Object.fromEntries(Array.from({ length: rng.int(4) }, (_, i) => [`k${i}${rng.int(3)}`, gen(d + 1)]));
  };
  for (let i = 0; i < 500; i++) {
    const doc = gen(0);
    for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2)]) {
      assert.deepEqual(toPlain(parseJson(text, { rejectDuplicateKeys: false })), JSON.parse(text));
    }
  }
  assert.equal(parseJson('"\\ud83d\\ude00 \\u00e9"'), '😀 é');
  assert.equal(parseJson('  -0.5e+2 \n'), -50);
});

/** parseJson objects have no prototype; compare their content. */
function toPlain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toPlain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]));
  return v;
}

test('malformed JSON is a JsonSyntaxError with a position', () => {
  for (const bad of ['', '{', '{"a" 1}', '{"a":1,}', '[1,]', '01', '1.', '.5', '"\\x"', '"\\u12"', '"a\nb"', '{a:1}', "{'a':1}", '[1] 2', 'tru', 'nul']) {
    assert.throws(
      () => parseJson(bad, lenient),
      (e: unknown) => e instanceof JsonSyntaxError && Number.isInteger(e.position) && e.position >= 0 && e.position <= bad.length,
      JSON.stringify(bad),
    );
  }
});

test('duplicate keys: rejected by default with the key and depth, kept last-wins when allowed', () => {
  const text = '{"a": 1, "b": {"c": 1, "c": 2}, "a": 3}';
  assert.throws(
    () => parseJson(text),
    (e: unknown) => e instanceof JsonSyntaxError && e.duplicateKey?.key === 'c' && e.duplicateKey.depth === 2,
  );
  assert.throws(
    () => parseJson('{"a": 1, "a": 3}'),
    (e: unknown) => e instanceof JsonSyntaxError && e.duplicateKey?.key === 'a' && e.duplicateKey.depth === 1 && /duplicate key "a"/.test(e.message),
  );
  const v = parseJson(text, { rejectDuplicateKeys: false }) as Record<string, unknown>;
  assert.equal(v['a'], 3);
  assert.equal((v['b'] as Record<string, unknown>)['c'], 2);
});

test('"__proto__" is an ordinary key (no prototype pollution)', () => {
  const v = parseJson('{"__proto__": {"polluted": true}, "constructor": 1}') as Record<string, unknown>;
  assert.deepEqual(Object.keys(v), ['__proto__', 'constructor']);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('depth limit: deep nesting is a JsonSyntaxError, never a stack overflow', () => {
  assert.deepEqual(parseJson('[[[[1]]]]', { maxDepth: 4 }), [[[[1]]]]);
  assert.throws(() => parseJson('[[[[[1]]]]]', { maxDepth: 4 }), /nesting deeper than 4/);
  for (const open of ['[', '{"a":']) {
    const deep = open.repeat(200_000);
    assert.throws(() => parseJson(deep), (e: unknown) => e instanceof JsonSyntaxError && /nesting deeper than 64/.test(e.message));
  }
  const ok = '['.repeat(60) + ']'.repeat(60);
  assert.doesNotThrow(() => parseJson(ok));
});

test('stringifyJson round trips through parseJson, non-finite numbers included', () => {
  const doc = { model_type: 'nemotron_h', time_step_limit: [0, Infinity], lo: -Infinity, nan: NaN, nested: { a: [1, 'Infinity', null, true], e: {} }, empty: [], skip: undefined, s: 'quote " and \\ and \n' };
  for (const indent of [0, 2, 4]) {
    const text = stringifyJson(doc, indent);
    assert.match(text, /\[\s*0,\s*Infinity\s*\]/);
    const back = toPlain(parseJson(text, lenient)) as Record<string, unknown>;
    assert.deepEqual(back['time_step_limit'], [0, Infinity]);
    assert.equal(back['lo'], -Infinity);
    assert.ok(Number.isNaN(back['nan']));
    assert.deepEqual(back['nested'], doc.nested);
    assert.equal(back['s'], doc.s);
    assert.equal('skip' in back, false);
  }
  // Finite documents stringify exactly like JSON.stringify.
  const finite = { a: [1, 2.5, -0.001, 1e21], b: { c: 'x' }, d: [] };
  assert.equal(stringifyJson(finite, 2), JSON.stringify(finite, null, 2));
  assert.equal(stringifyJson(finite, 0), JSON.stringify(finite));
});

test('Python json.load reads what stringifyJson writes (only when python3 exists)', (t) => {
  const probe = spawnSync('python3', ['-c', 'import json'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    t.skip('python3 not found: Python cross-check skipped (python3 is not a project dependency)');
    return;
  }
  const doc = { time_step_limit: [0.0, Infinity], lo: -Infinity, x: NaN, name: 'Infinity "q" é😀', n: [1, 2.5e-8, 123456789012], e: {} };
  const script = 'import json,sys,math; d=json.load(sys.stdin); print(json.dumps([d["time_step_limit"][1]==math.inf, d["lo"]==-math.inf, math.isnan(d["x"]), d["name"], d["n"], d["e"]]))';
  const r = spawnSync('python3', ['-c', script], { input: stringifyJson(doc), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [true, true, true, doc.name, doc.n, {}]);
  // And what Python writes, parseJson reads.
  const r2 = spawnSync('python3', ['-c', 'import json; print(json.dumps({"time_step_limit": [0.0, float("inf")], "m": float("-inf"), "k": float("nan")}, indent=2))'], { encoding: 'utf8' });
  assert.equal(r2.status, 0, r2.stderr);
  const v = parseJson(r2.stdout, lenient) as Record<string, unknown>;
  assert.deepEqual(v['time_step_limit'], [0, Infinity]);
  assert.equal(v['m'], -Infinity);
  assert.ok(Number.isNaN(v['k']));
});
