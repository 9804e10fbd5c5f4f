import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { curvesCommand } from '../../src/cli/commands/curves';
import type { CommandContext } from '../../src/cli/command';
import { formatNumber, mergeByStep, TableFormatter } from '../../src/core/curves/table';
import { eventFileBytes, fileVersionEvent } from './helpers/tb-writer';
import { megatronBridgeTrainLine, validationLines } from './helpers/megatron-lines';

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } });
  return { stream, text: () => buf };
}

function ctxFor(argv: string[], signal = new AbortController().signal) {
  const out = sink();
  const err = sink();
  const ctx: CommandContext = { argv, stdout: out.stream, stderr: err.stream, isTTY: false, cwd: '/', signal };
  return { ctx, out, err };
}

const line = (it: number) => megatronBridgeTrainLine({ timeMs: Date.UTC(2026, 0, 1, 0, 0, it), iteration: it, trainIters: 50, consumed: it * 4, iterMs: 250, lr: 1e-4, gbs: 4, losses: [['lm loss', 8 / it]], lossScale: 1, gradNorm: 0.5 });

test('curves prints a table of a Megatron log, one row per step, validation merged into its step', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-cli-curves-'));
  try {
    writeFileSync(join(dir, 'train.log'), [line(10), line(20), ...validationLines('iteration 20', [['lm loss', 0.5]])].join('\n') + '\n');
    const { ctx, out } = ctxFor([join(dir, 'train.log')]);
    assert.equal(await curvesCommand.run(ctx), 0);
    const rows = out.text().trimEnd().split('\n');
    assert.match(rows[0]!, /^megatron-log .*train\.log: 3 points$/);
    const header = rows[1]!.trim().split(/\s+/);
    assert.equal(header[0], 'step');
    assert.ok(header.includes('loss') && header.includes('val_loss') && header.includes('lr'));
    assert.equal(rows.length, 4);
    const last = rows[3]!.trim().split(/\s+/);
    assert.equal(last[0], '20');
    assert.equal(last[header.indexOf('val_loss')], '0.5');
    assert.equal(last[header.indexOf('loss')], '0.4');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('curves --json prints one MetricPoint per line for an event folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-cli-curves-'));
  try {
    mkdirSync(join(dir, 'tb_logs'));
    writeFileSync(join(dir, 'tb_logs', 'events.out.tfevents.1.host'), eventFileBytes([fileVersionEvent(5), { wallTime: 6, step: 1, values: [{ tag: 'lm loss', simple: 2 }] }, { wallTime: 7, step: 2, values: [{ tag: 'lm loss', simple: 1.5 }] }]));
    const { ctx, out } = ctxFor([dir, '--json']);
    assert.equal(await curvesCommand.run(ctx), 0);
    const pts = out.text().trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(pts, [{ step: 1, 'tb_logs/lm loss': 2 }, { step: 2, 'tb_logs/lm loss': 1.5 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('curves --follow streams new points until the signal aborts, then exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-cli-curves-'));
  try {
    const log = join(dir, 'run.log');
    writeFileSync(log, line(10) + '\n');
    const ac = new AbortController();
    const { ctx, out, err } = ctxFor([log, '--follow', '--json', '--poll-ms', '10'], ac.signal);
    const done = curvesCommand.run(ctx);
    const waitFor = async (n: number) => {
      for (let i = 0; i < 500 && out.text().trim().split('\n').filter(Boolean).length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await waitFor(1);
    appendFileSync(log, line(20) + '\n');
    await waitFor(2);
    ac.abort();
    assert.equal(await done, 0);
    assert.deepEqual(out.text().trim().split('\n').map((l) => JSON.parse(l).step), [10, 20]);
    assert.match(err.text(), /following megatron-log/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('curves rejects a folder without a training log with a message listing what it looks for', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-cli-curves-'));
  try {
    const { ctx } = ctxFor([dir]);
    await assert.rejects(curvesCommand.run(ctx), /metrics\.jsonl, events\.out\.tfevents/);
    await assert.rejects(curvesCommand.run(ctxFor([dir, '--poll-ms', '1']).ctx), /--poll-ms must be an integer from 10 to 60000/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('table helpers: number format, merge by step, header repeated when a series appears', () => {
  assert.equal(formatNumber(768), '768');
  assert.equal(formatNumber(2.3456789), '2.3457');
  assert.equal(formatNumber(1e-4), '1.0000e-4');
  assert.equal(formatNumber(12345678.9), '1.2346e+7');
  assert.deepEqual(mergeByStep([{ step: 2, a: 1 }, { step: 1, b: 2 }, { step: 2, c: 3 }]), [
    { step: 1, b: 2 },
    { step: 2, a: 1, c: 3 },
  ]);
  const t = new TableFormatter();
  const a = t.rows([{ step: 1, loss: 2 }]);
  const b = t.rows([{ step: 2, loss: 1 }]);
  const c = t.rows([{ step: 3, loss: 0.5, val_loss: 0.75 }]);
  assert.equal(a.length, 2);
  assert.equal(b.length, 1, 'no new series: no new header');
  assert.equal(c.length, 2);
  assert.match(c[0]!, /step\s+loss\s+val_loss/);
});
