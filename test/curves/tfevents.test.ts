import { test } from 'node:test';
import { seriesOf } from '../../src/core/runs/metric-point';
import assert from 'node:assert/strict';
import { TfEventsParser } from '../../src/core/curves/tfevents';
import { decodeEvent } from '../../src/core/curves/tf-event';
import { bf16ToF32 as bfloat16ToFloat, f16ToF32 as halfToFloat } from '../../src/core/safetensors/dtype';
import { WarningTally } from '../../src/core/curves/warnings';
import { concatBytes, DT_DOUBLE, DT_FLOAT, DT_HALF, DT_INT64, DT_STRING, encodeEvent, encodeUnpackedFloatEvent, eventFileBytes, fileVersionEvent, frameRecord, type TbEvent } from './helpers/tb-writer';

const f32 = (x: number) => Math.fround(x);
const T0 = 1_750_000_000;

/** A file as PyTorch's SummaryWriter / tensorboardX write it: simple_value scalars. */
function simpleValueRun(n: number): TbEvent[] {
  const evs: TbEvent[] = [fileVersionEvent(T0)];
  for (let s = 1; s <= n; s++) {
    evs.push({ wallTime: T0 + s * 0.25, step: s, values: [{ tag: 'train/loss', simple: 4 / s }] });
    evs.push({ wallTime: T0 + s * 0.25, step: s, values: [{ tag: 'train/lr', simple: 1e-4 * s }] });
  }
  return evs;
}

test('simple_value scalars (PyTorch / tensorboardX style) become one point per event, tags verbatim', () => {
  const p = new TfEventsParser();
  const pts = p.push(eventFileBytes(simpleValueRun(5)));
  assert.equal(p.fileVersion, 'brain.Event:2');
  assert.equal(pts.length, 10);
  assert.deepEqual(pts[0], { step: 1, 'train/loss': 4 });
  assert.deepEqual(pts[9], { step: 5, 'train/lr': f32(5e-4) });
});

test('tensor-form scalars (TF2 tf.summary.scalar): metadata only on the first value of a tag', () => {
  const evs: TbEvent[] = [
    fileVersionEvent(T0),
    { wallTime: T0 + 1, step: 10, values: [{ tag: 'epoch_loss', tensor: { dtype: DT_FLOAT, float_val: [2.5] }, plugin: 'scalars', dataClass: 1 }] },
    { wallTime: T0 + 2, step: 20, values: [{ tag: 'epoch_loss', tensor: { dtype: DT_FLOAT, float_val: [1.5] } }] },
    // DATA_CLASS_SCALAR without a plugin name, double precision
    { wallTime: T0 + 3, step: 30, values: [{ tag: 'lr', tensor: { dtype: DT_DOUBLE, double_val: [3e-4] }, dataClass: 1 }] },
    // raw tensor_content (little-endian float32), rank 0
    { wallTime: T0 + 4, step: 40, values: [{ tag: 'raw', tensor: { dtype: DT_FLOAT, tensor_content: new Uint8Array(new Float32Array([0.125]).buffer) }, plugin: 'scalars' }] },
    // shape [1] int64 counts as one element
    { wallTime: T0 + 5, step: 50, values: [{ tag: 'tokens', tensor: { dtype: DT_INT64, dims: [1], int64_val: [123456789] }, plugin: 'scalars' }] },
    // half precision via half_val (bit pattern of 1.5 = 0x3e00)
    { wallTime: T0 + 6, step: 60, values: [{ tag: 'half', tensor: { dtype: DT_HALF, half_val: [0x3e00] }, plugin: 'scalars' }] },
  ];
  const pts = new TfEventsParser().push(eventFileBytes(evs));
  assert.deepEqual(
    pts.map((p) => [p.step, Object.fromEntries(seriesOf(p))]),
    [
      [10, { epoch_loss: 2.5 }],
      [20, { epoch_loss: 1.5 }],
      [30, { lr: 3e-4 }],
      [40, { raw: 0.125 }],
      [50, { tokens: 123456789 }],
      [60, { half: 1.5 }],
    ],
  );
});

test('unpacked float_val (one field per element) is read too', () => {
  const bytes = concatBytes([frameRecord(encodeEvent(fileVersionEvent(T0))), frameRecord(encodeUnpackedFloatEvent(T0 + 1, 7, 'u', 0.75))]);
  assert.deepEqual(new TfEventsParser().push(bytes), [{ step: 7, u: 0.75 }]);
});

test('non-scalar summaries are ignored: histograms, text, hparams, multi-element tensors', () => {
  const evs: TbEvent[] = [
    fileVersionEvent(T0),
    { wallTime: T0 + 1, step: 1, values: [{ tag: 'weights', tensor: { dtype: DT_DOUBLE, dims: [3, 3], double_val: [0, 1, 2, 1, 2, 3, 2, 3, 4] }, plugin: 'histograms' }] },
    // later value of that tag, no metadata, single element: still a histogram tag
    { wallTime: T0 + 2, step: 2, values: [{ tag: 'weights', tensor: { dtype: DT_DOUBLE, dims: [1], double_val: [9] } }] },
    { wallTime: T0 + 3, step: 3, values: [{ tag: 'notes', tensor: { dtype: DT_STRING, string_val: [new TextEncoder().encode('hi')] }, plugin: 'text' }] },
    { wallTime: T0 + 4, step: 4, values: [{ tag: 'hp', tensor: { dtype: DT_FLOAT, float_val: [1] }, plugin: 'hparams' }] },
    { wallTime: T0 + 5, step: 5, values: [{ tag: 'vec', tensor: { dtype: DT_FLOAT, dims: [2], float_val: [1, 2] } }] },
    { wallTime: T0 + 6, step: 6, values: [{ tag: 'weights', tensor: { dtype: DT_DOUBLE, dims: [1], double_val: [9] } }, { tag: 'ok', simple: 1 }] },
  ];
  const pts = new TfEventsParser().push(eventFileBytes(evs));
  assert.deepEqual(pts, [{ step: 6, ok: 1 }]);
});

test('Megatron-style tags and several values in one event stay together', () => {
  const evs: TbEvent[] = [
    fileVersionEvent(T0),
    { wallTime: T0 + 1, step: 100, values: [{ tag: 'lm loss', simple: 2.25 }, { tag: 'logits distillation loss', simple: 0.5 }, { tag: 'learning-rate', simple: 1e-4 }] },
  ];
  const [p] = new TfEventsParser({ tagPrefix: 'run1/' }).push(eventFileBytes(evs));
  assert.deepEqual(Object.fromEntries(seriesOf(p!)), { 'run1/lm loss': 2.25, 'run1/logits distillation loss': 0.5, 'run1/learning-rate': f32(1e-4) });
});

test('a growing file read in arbitrary pieces yields the same points as reading it whole', () => {
  const bytes = eventFileBytes(simpleValueRun(40));
  const whole = new TfEventsParser().push(bytes);
  for (const step of [1, 3, 17, 100]) {
    const p = new TfEventsParser();
    const got = [];
    for (let i = 0; i < bytes.length; i += step) got.push(...p.push(bytes.subarray(i, i + step)));
    assert.deepEqual(got, whole);
  }
});

test('a CRC-corrupt record and an undecodable payload are skipped with warnings, the rest is read', () => {
  const evs = simpleValueRun(3);
  const records = evs.map((e) => frameRecord(encodeEvent(e)));
  records[2]![14]! ^= 0xff; // payload byte of the 2nd summary event
  const garbage = frameRecord(Uint8Array.from([0x0a, 0xff, 0xff, 0xff])); // valid CRC, truncated LEN field
  const tally = new WarningTally();
  const p = new TfEventsParser({ onWarning: tally.sink, file: 'events.out.tfevents.1' });
  const pts = p.push(concatBytes([...records.slice(0, 3), garbage, ...records.slice(3)]));
  assert.equal(pts.length, 5);
  assert.equal(p.stats.recordCrcErrors, 1);
  assert.equal(p.stats.badEvents, 1);
  assert.equal(tally.counts.get('record-crc'), 1);
  assert.equal(tally.counts.get('bad-event'), 1);
});

test('negative and large int64 steps decode exactly', () => {
  assert.equal(decodeEvent(encodeEvent({ wallTime: 1, step: -3, values: [{ tag: 'a', simple: 1 }] })).step, -3);
  assert.equal(decodeEvent(encodeEvent({ wallTime: 1, step: 2 ** 40 + 7, values: [{ tag: 'a', simple: 1 }] })).step, 2 ** 40 + 7);
});

test('half and bfloat16 conversions match their definitions', () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.equal(bfloat16ToFloat(0x3f80), 1);
  assert.equal(bfloat16ToFloat(0x4049), f32(3.140625));
});
