// The CLI's progress renderer (src/cli/progress.ts) in its three modes, with an injected clock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressRenderer, createProgressRenderer, formatBarLine, formatDuration, formatRate, type ProgressMode } from '../../src/cli/progress';

class FakeStream {
  writes: string[] = [];
  constructor(public columns = 100) {}
  write(s: string): boolean {
    this.writes.push(s);
    return true;
  }
  get text(): string {
    return this.writes.join('');
  }
}

function setup(mode: ProgressMode, extra: { columns?: number; minRedrawMs?: number; clock?: boolean } = {}) {
  const stream = new FakeStream(extra.columns);
  const clock = { t: 1000 };
  const r = new ProgressRenderer({
    mode,
    stream: stream as unknown as NodeJS.WritableStream,
    ...(extra.minRedrawMs !== undefined ? { minRedrawMs: extra.minRedrawMs } : {}),
    ...(extra.clock === false ? {} : { now: () => clock.t }),
  });
  return { stream, clock, r };
}

const fwd = (done: number, more: Partial<{ tokensPerS: number; etaS: number; message: string }> = {}) => ({ phase: 'forward', done, total: 100, unit: 'rows', ...more });

test('formatting helpers', () => {
  assert.deepEqual([5, 59.6, 65, 3599, 3600 * 2 + 7 * 60].map(formatDuration), ['5s', '1m00s', '1m05s', '59m59s', '2h07m']);
  assert.equal(formatDuration(NaN), '?');
  assert.deepEqual([1.234, 987.4, 12345, 4_560_000].map(formatRate), ['1.23', '987', '12.3k', '4.56M']);
  assert.equal(
    formatBarLine(fwd(50, { tokensPerS: 1234, etaS: 65, message: 'batch 13' }), 200),
    'forward  ████████████░░░░░░░░░░░░ 50/100 rows  50%  1234 tok/s  ETA 1m05s  batch 13',
  );
  assert.equal(formatBarLine({ phase: 'scan', done: 7, total: 0, unit: 'files' }, 200), 'scan  7 files');
  const narrow = formatBarLine(fwd(50, { message: 'x'.repeat(100) }), 40);
  assert.equal(narrow.length, 39);
  assert.ok(narrow.endsWith('…'));
});

test('tty: redraws in place at most every 100 ms, then the trailing state is drawn', async () => {
  const { stream, clock, r } = setup('tty');
  for (let i = 1; i <= 100; i++) {
    r.progress(fwd(i));
    clock.t += 1; // 100 updates within 100 ms
  }
  const draws = () => stream.writes.filter((w) => w.startsWith('\r'));
  assert.equal(draws().length, 1, 'only the first update drew at once');
  assert.match(draws()[0]!, /^\rforward {2}░+ 1\/100 rows {3}1%\x1b\[K$/);
  await new Promise((res) => setTimeout(res, 150)); // the trailing timer fires
  assert.equal(draws().length, 2);
  assert.match(draws()[1]!, / 100\/100 rows 100%/);
  assert.ok(!stream.text.includes('\n'), 'the bar stays on one line');
});

test('tty: logs print above the bar; a phase change keeps the finished phase as a line with its duration', () => {
  const { stream, clock, r } = setup('tty');
  r.progress({ phase: 'load', done: 3, total: 12, unit: 'layers' });
  r.log({ level: 'warn', text: 'CUDA not found, using cpu' });
  r.log({ level: 'debug', text: 'hidden' });
  clock.t += 2500;
  r.progress(fwd(0));
  clock.t += 200;
  r.progress(fwd(100, { tokensPerS: 500 }));
  r.print('loss 2.31');
  clock.t += 50;
  r.finish();
  const lines = stream.text.split('\n');
  assert.equal(lines[0], '\rload  ██████░░░░░░░░░░░░░░░░░░ 3/12 layers  25%\x1b[K\r\x1b[Kwarn: CUDA not found, using cpu');
  assert.match(lines[1]!, /^load {2}██████░+ 3\/12 layers  25%\x1b\[K\rload .* 3\/12 layers  25%  3s\x1b\[K$/);
  assert.ok(!stream.text.includes('hidden'));
  // After the phase line: the forward bar, the printed result above it, the bar redrawn, and the final line with 0s.
  assert.match(stream.text, /loss 2\.31\nforward .* 100\/100 rows 100%  500 tok\/s\x1b\[K\rforward .* 100\/100 rows 100%  500 tok\/s  0s\x1b\[K\n$/);
});

test('json: one strict JSON object per line, non-finite numbers as null, throttled progress flushed at the end', () => {
  const { stream, clock, r } = setup('json');
  r.progress(fwd(1));
  r.progress(fwd(2));
  r.metric({ step: 1, loss: NaN, lr: 0.001 });
  r.log({ level: 'debug', text: 'detail', source: 'stderr' });
  clock.t += 10;
  r.progress(fwd(3));
  r.finish();
  const objs = stream.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(objs, [
    { type: 'progress', phase: 'forward', done: 1, total: 100, unit: 'rows' },
    { type: 'metric', point: { step: 1, loss: null, lr: 0.001 } },
    { type: 'log', level: 'debug', text: 'detail', source: 'stderr' },
    { type: 'progress', phase: 'forward', done: 3, total: 100, unit: 'rows' },
  ]);
});

test('plain: one line per interval (none at the start), the end with its duration; nothing in between', () => {
  const stream = new FakeStream();
  const clock = { t: 0 };
  const r = new ProgressRenderer({ mode: 'plain', stream: stream as unknown as NodeJS.WritableStream, plainIntervalMs: 10_000, now: () => clock.t });
  for (let i = 1; i <= 100; i++) {
    clock.t += 250; // 25 s in all
    r.progress(fwd(i, { etaS: (100 - i) / 4 }));
  }
  r.log({ level: 'error', text: 'disk almost full' });
  r.finish();
  assert.deepEqual(stream.text.split('\n'), [
    'forward: 41/100 rows (41%), ETA 15s',
    'forward: 81/100 rows (81%), ETA 5s',
    'error: disk almost full',
    'forward: 100/100 rows (100%), 25s',
    '',
  ]);
});

test('createProgressRenderer: --json and tty on stdout, plain lines on stderr', () => {
  const stdout = new FakeStream();
  const stderr = new FakeStream();
  const ctx = { stdout: stdout as unknown as NodeJS.WritableStream, stderr: stderr as unknown as NodeJS.WritableStream };
  assert.equal(createProgressRenderer({ ...ctx, isTTY: true }, { json: true }).mode, 'json');
  assert.equal(createProgressRenderer({ ...ctx, isTTY: true }).mode, 'tty');
  const plain = createProgressRenderer({ ...ctx, isTTY: false });
  assert.equal(plain.mode, 'plain');
  plain.handlers.onProgress!(fwd(5));
  assert.equal(stderr.text, '', 'a phase that just started prints nothing yet ("0/1 (0%)" noise)');
  plain.endPhase();
  assert.equal(stdout.text, '');
  assert.match(stderr.text, /^forward: 5\/100 rows \(5%\), 0s\n$/);
});
