import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import { HybridCompressError } from '../../src/core/errors';
import {
  ERROR_CODES,
  ProtocolError,
  parseMetricPoint,
  parseParentMessage,
  parseWorkerMessage,
  type ParentMessage,
  type WorkerMessage,
} from '../../src/core/jobs/protocol';
import { errorToMessage } from '../../src/core/jobs/worker';

/** What the fork IPC channel does with serialization 'advanced'. */
const wire = <T>(m: T): unknown => deserialize(serialize(m));

const workerMessages: WorkerMessage[] = [
  { type: 'ready', protocol: 1, pid: 4242, kinds: ['calibrate', 'eval'] },
  { type: 'progress', jobId: 'j1', phase: 'forward', done: 3, total: 10, unit: 'rows' },
  { type: 'progress', jobId: 'j1', phase: 'forward', done: 3, total: 10, unit: 'rows', tokensPerS: 1234.5, etaS: 12, message: 'batch 2' },
  { type: 'progress', jobId: 'j1', phase: 'scan', done: 7, total: 0, unit: '' },
  { type: 'log', jobId: 'j1', level: 'debug', text: 'a' },
  { type: 'log', jobId: 'j1', level: 'info', text: 'b' },
  { type: 'log', jobId: 'j1', level: 'warn', text: 'c' },
  { type: 'log', jobId: 'j1', level: 'error', text: '' },
  { type: 'metric', jobId: 'j1', point: { step: 10, loss: 2.5, kd_loss: Infinity, lr: 3e-4 } },
  { type: 'result', jobId: 'j1', value: { loss: 1.5, logits: new Float32Array([1, 2, 3]), rows: [1, 2] } },
  { type: 'result', jobId: 'j1', value: undefined },
  { type: 'error', jobId: 'j1', code: 'DATA_INVALID', message: 'bad line 3', context: { file: 'a.jsonl' }, stack: 'Error: bad\n  at x' },
  { type: 'error', jobId: '-', code: 'CANCELLED', message: 'the job was cancelled', context: {} },
];

const parentMessages: ParentMessage[] = [
  { type: 'start', jobId: 'j1', kind: 'eval', params: { model: '/m', samples: 4, ids: new Int32Array([5, 6]) } },
  { type: 'start', jobId: 'j2', kind: 'eval', params: null },
  { type: 'cancel', jobId: 'j1' },
];

test('every worker message survives the wire and validation unchanged', () => {
  for (const m of workerMessages) assert.deepEqual(parseWorkerMessage(wire(m)), m, m.type);
  const nan = parseWorkerMessage(wire({ type: 'metric', jobId: 'j', point: { step: 0, loss: NaN } }));
  assert.ok(nan.type === 'metric' && Number.isNaN(nan.point['loss']), 'a NaN loss still reaches the curve');
});

test('every parent message survives the wire and validation unchanged', () => {
  for (const m of parentMessages) assert.deepEqual(parseParentMessage(wire(m)), m, m.type);
});

test('malformed worker messages are ProtocolErrors naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [null, /expected an object, got null/],
    ['progress', /expected an object, got "progress"/],
    [[1], /expected an object, got an array/],
    [{ type: 'hello', jobId: 'j' }, /unknown worker message type "hello" \(valid: ready, progress, log, metric, result, error\)/],
    [{ type: 'progress', phase: 'x', done: 1, total: 2, unit: 'r' }, /"jobId" must be a string, got undefined/],
    [{ type: 'progress', jobId: '', phase: 'x', done: 1, total: 2, unit: 'r' }, /"jobId" must not be empty/],
    [{ type: 'progress', jobId: 'j', phase: 'x', done: -1, total: 2, unit: 'r' }, /"done" must be ≥ 0, got -1/],
    [{ type: 'progress', jobId: 'j', phase: 'x', done: 1, total: NaN, unit: 'r' }, /"total" must be a number, got number NaN/],
    [{ type: 'progress', jobId: 'j', phase: 'x', done: 1, total: 2, unit: 'r', etaS: Infinity }, /"etaS" must be finite/],
    [{ type: 'progress', jobId: 'j', phase: 'x', done: 1, total: 2, unit: 'r', message: 5 }, /"message" must be a string, got number 5/],
    [{ type: 'log', jobId: 'j', level: 'fatal', text: 'x' }, /"level" must be one of debug\|info\|warn\|error, got "fatal"/],
    [{ type: 'log', jobId: 'j', level: 'info' }, /"text" must be a string/],
    [{ type: 'metric', jobId: 'j', point: [1] }, /"point": a metric point must be an object, got an array/],
    [{ type: 'metric', jobId: 'j', point: { loss: 1 } }, /"step" must be a non-negative integer/],
    [{ type: 'metric', jobId: 'j', point: { step: 1.5 } }, /"step" must be a non-negative integer, got 1\.5/],
    [{ type: 'metric', jobId: 'j', point: { step: 1, loss: '2' } }, /metric "loss" must be a number, got "2"/],
    [{ type: 'result', jobId: 'j' }, /"value" is missing/],
    [{ type: 'error', jobId: 'j', code: 'OOPS', message: 'x', context: {} }, /"code" must be one of SAFETENSORS_INVALID\|.*\|NON_FINITE, got "OOPS"/],
    [{ type: 'error', jobId: 'j', code: 'IO_ERROR', message: 'x', context: { file: 3 } }, /"file" must be a string/],
    [{ type: 'error', jobId: 'j', code: 'IO_ERROR', message: 'x', context: 'f' }, /"context" must be an object/],
    [{ type: 'ready', protocol: 1, pid: 1, kinds: ['a', 2] }, /"kinds" must be an array of strings/],
  ];
  for (const [m, re] of cases) {
    assert.throws(() => parseWorkerMessage(m), (e: unknown) => {
      assert.ok(e instanceof ProtocolError, `not a ProtocolError for ${JSON.stringify(m)}`);
      assert.equal(e.code, 'RUNTIME_ERROR');
      assert.equal(e.context.rule, 'protocol');
      assert.match(e.message, re);
      return true;
    });
  }
});

test('malformed parent messages are ProtocolErrors', () => {
  const cases: [unknown, RegExp][] = [
    [{ type: 'start', jobId: 'j', kind: 'eval' }, /"params" is missing/],
    [{ type: 'start', jobId: 'j', kind: '', params: {} }, /"kind" must not be empty/],
    [{ type: 'cancel' }, /"jobId" must be a string/],
    [{ type: 'stop', jobId: 'j' }, /unknown parent message type "stop" \(valid: start, cancel\)/],
    [undefined, /expected an object/],
  ];
  for (const [m, re] of cases) assert.throws(() => parseParentMessage(m), re);
});

test('errors become error messages that keep code, context and a readable message', () => {
  const typed = errorToMessage('j', new HybridCompressError('SHAPE_MISMATCH', 'tensor a: shape [2] ≠ [3]', { tensor: 'a' }));
  assert.deepEqual({ ...typed, stack: undefined }, { type: 'error', jobId: 'j', code: 'SHAPE_MISMATCH', message: 'tensor a: shape [2] ≠ [3]', context: { tensor: 'a' }, stack: undefined });
  assert.deepEqual(parseWorkerMessage(wire(typed)), typed);
  const plain = errorToMessage('j', new RangeError('Invalid array length\nmore'));
  assert.equal(plain.code, 'RUNTIME_ERROR');
  assert.equal(plain.message, 'RangeError: Invalid array length');
  const thrownString = errorToMessage('j', 'just a string');
  assert.equal(thrownString.message, 'just a string');
  assert.equal(thrownString.stack, undefined);
});

test('metric points and error codes', () => {
  assert.deepEqual(parseMetricPoint({ step: 0, val_loss: 1, val_ppl: Math.E }), { step: 0, val_loss: 1, val_ppl: Math.E });
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
});
