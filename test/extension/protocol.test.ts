import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageError, parseHostMessage, parseWebviewMessage, WEBVIEW_PROTOCOL_VERSION, type CompressForm } from '../../webview/protocol';

const form: CompressForm = { dataFile: 'data/train.jsonl', samples: 64, seqLen: 128, device: 'cpu', targetParams: '', steps: 10 };

test('every webview→host message type round-trips through validation', () => {
  const msgs = [
    { type: 'ready', view: 'compress', protocol: WEBVIEW_PROTOCOL_VERSION },
    { type: 'compress/targets', targets: { mambaNumHeads: 4, hiddenSize: 32 } },
    { type: 'compress/form', form },
    { type: 'compress/run', action: 'calibrate', targets: {}, form },
    { type: 'compress/run', action: 'distill-external', targets: {}, form },
    { type: 'compress/pickData' },
    { type: 'importance/refresh' },
    { type: 'curves/resync', key: '/w/.hybrid-compress/runs/x' },
    { type: 'curves/export', key: 'k', format: 'svg', data: '<svg xmlns="http://www.w3.org/2000/svg"/>' },
    { type: 'curves/export', key: 'k', format: 'png', data: 'data:image/png;base64,AAAA' },
    { type: 'log', level: 'error', text: 'boom' },
  ];
  for (const m of msgs) assert.deepEqual(parseWebviewMessage(structuredClone(m)), m);
});

test('webview→host validation rejects malformed messages with the field named', () => {
  const bad: [unknown, RegExp][] = [
    [null, /expected an object/],
    [{ type: 'nope' }, /unknown message type "nope"/],
    [{ type: 'ready', view: 'other', protocol: 1 }, /"view" must be one of compress\|importance\|curves/],
    [{ type: 'compress/targets', targets: { mambaNumHeads: 3.5 } }, /target "mambaNumHeads" must be a positive integer/],
    [{ type: 'compress/targets', targets: { heads: 4 } }, /unknown target "heads"/],
    [{ type: 'compress/targets', targets: [] }, /"targets" must be an object/],
    [{ type: 'compress/form', form: { ...form, device: 'tpu' } }, /"device" must be one of auto\|cpu\|webgpu\|cuda/],
    [{ type: 'compress/form', form: { ...form, samples: 0 } }, /"samples" must be at least 1/],
    [{ type: 'compress/run', action: 'train', targets: {}, form }, /"action" must be one of calibrate\|prune\|search\|distill\|distill-external/],
    [{ type: 'curves/export', key: 'k', format: 'png', data: 'javascript:alert(1)' }, /data:image\/png;base64/],
    [{ type: 'curves/export', key: 'k', format: 'svg', data: '<script>' }, /must start with <svg/],
  ];
  for (const [m, re] of bad) assert.throws(() => parseWebviewMessage(m), (e: unknown) => e instanceof MessageError && re.test(e.message), JSON.stringify(m));
});

test('host→webview curve messages keep non-finite values and reject non-numbers', () => {
  const m = parseHostMessage({ type: 'curves/append', key: 'k', from: 3, status: 'running', points: [{ step: 4, loss: Infinity, lr: 1e-4 }] });
  assert.equal(m.type, 'curves/append');
  if (m.type === 'curves/append') assert.equal(m.points[0]!['loss'], Infinity);
  assert.throws(() => parseHostMessage({ type: 'curves/append', key: 'k', from: -1, status: 'running', points: [] }), /"from" must be a non-negative integer/);
  assert.throws(() => parseHostMessage({ type: 'curves/append', key: 'k', from: 0, status: 'running', points: [{ step: 1, loss: '2' }] }), /metric "loss" must be a number/);
  assert.throws(() => parseHostMessage({ type: 'curves/append', key: 'k', from: 0, status: 'weird', points: [] }), /"status" must be one of/);
  assert.throws(() => parseHostMessage({ type: 'importance/state', state: { kind: 'scores' } }), /"state" must be an object/);
  assert.throws(() => parseHostMessage({ type: 'compress/state', state: { model: {}, axes: [], estimate: {}, targets: {}, form: { ...form, seqLen: 'x' } } }), /"seqLen"/);
});
