// Device selection: explicit GPU devices fail with a clear typed error where their runtime is missing,
// `auto` falls back to CPU with one line (once per process), bad options are typed errors. On a machine
// with a working GPU provider the fallback assertions are skipped, not failed.

import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder, serializeModel } from '../../src/core/onnx/index';
import { createSession, providerUnavailableReason, resetDeviceChoice } from '../../src/core/runtime/session';
import { HybridCompressError } from '../../src/core/errors';

function tinyModel(): Uint8Array {
  const g = new GraphBuilder('tiny');
  g.output(g.mul(g.input('x', 'float32', [2]), 3), 'y');
  return serializeModel(g.build());
}

beforeEach(() => resetDeviceChoice());

test('cpu sessions run and report the cpu provider', async () => {
  const { session, ep } = await createSession(tinyModel(), { device: 'cpu', threads: 1 });
  assert.equal(ep, 'cpu');
  const ort = await import('onnxruntime-node');
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, -2]), [2]) });
  assert.deepEqual(Array.from(out['y']!.data as Float32Array), [3, -6]);
  await session.release();
});

for (const device of ['cuda', 'webgpu'] as const) {
  test(`explicit ${device} without its runtime: typed error that says what to do`, async (t) => {
    const why = providerUnavailableReason(device);
    if (!why) {
      t.skip(`${device} looks available on this machine, so its failure path cannot be exercised here`);
      return;
    }
    await assert.rejects(createSession(tinyModel(), { device }), (e: unknown) => e instanceof HybridCompressError && e.code === 'RUNTIME_ERROR' && e.message.includes(why) && /--device cpu/.test(e.message));
    if (device === 'cuda') assert.match(why, /docs\/gpu\.md/);
  });
}

test('auto falls back to CPU with one line naming each provider, printed once per process', async (t) => {
  if (!providerUnavailableReason('cuda') || !providerUnavailableReason('webgpu')) {
    t.skip('a GPU provider may be usable here');
    return;
  }
  const lines: string[] = [];
  const a = await createSession(tinyModel(), { device: 'auto', log: (l) => lines.push(l) });
  const b = await createSession(tinyModel(), { device: 'auto', log: (l) => lines.push(l) });
  assert.equal(a.ep, 'cpu');
  assert.equal(b.ep, 'cpu');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^device auto: running on CPU \(cuda: .+; webgpu: .+\)$/);
  await a.session.release();
  await b.session.release();
});

test('invalid device and thread options are typed errors', async () => {
  await assert.rejects(createSession(tinyModel(), { device: 'gpu' as never }), (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && e.context.option === 'device');
  await assert.rejects(createSession(tinyModel(), { device: 'cpu', threads: -1 }), (e: unknown) => e instanceof HybridCompressError && e.context.option === 'threads');
  await assert.rejects(createSession(tinyModel(), { device: 'cpu', threads: 1.5 }), /positive integer/);
});

test('a broken model is a RUNTIME_ERROR, not a crash', async () => {
  await assert.rejects(createSession(Uint8Array.from([1, 2, 3, 4]), { device: 'cpu' }), (e: unknown) => e instanceof HybridCompressError && e.code === 'RUNTIME_ERROR');
});
