import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followFile } from '../../src/core/curves/follow';
import { detectCurveSource, readCurves, streamCurves } from '../../src/core/curves/source';
import { seriesOf, type MetricPoint } from '../../src/core/runs/metric-point';
import type { CurveUpdate } from '../../src/core/curves/source';
import { WarningTally } from '../../src/core/curves/warnings';
import { HybridCompressError } from '../../src/core/errors';
import { eventFileBytes, fileVersionEvent, type TbEvent } from './helpers/tb-writer';
import { megatronBridgeTrainLine } from './helpers/megatron-lines';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'hc-curves-'));
}

const POLL = 10;

/** Runs `gen` until `until(all updates)` holds (or 5 s pass), calling `step(i)` after the i-th update. */
async function drive(gen: AsyncGenerator<CurveUpdate>, ac: AbortController, until: (u: CurveUpdate[]) => boolean, step: (u: CurveUpdate[]) => void = () => {}): Promise<CurveUpdate[]> {
  const got: CurveUpdate[] = [];
  const timer = setTimeout(() => ac.abort(), 5000);
  try {
    for await (const u of gen) {
      got.push(u);
      if (until(got)) {
        ac.abort();
        break;
      }
      step(got);
    }
  } finally {
    clearTimeout(timer);
  }
  return got;
}

const points = (us: CurveUpdate[]): MetricPoint[] => us.flatMap((u) => u.points);

function bridgeLine(it: number): string {
  return megatronBridgeTrainLine({ timeMs: Date.UTC(2026, 5, 1, 0, 0, it), iteration: it, trainIters: 100, consumed: it * 8, iterMs: 1000, lr: 1e-4, gbs: 8, losses: [['lm loss', 10 / it]], lossScale: 1, gradNorm: 1 });
}

test('followFile yields appended bytes and flags a truncated file as reset', async () => {
  const dir = tmp();
  try {
    const f = join(dir, 'a.txt');
    writeFileSync(f, 'hello ');
    const ac = new AbortController();
    const chunks: { text: string; reset: boolean }[] = [];
    const timer = setTimeout(() => ac.abort(), 5000);
    for await (const c of followFile(f, { follow: true, pollMs: POLL, signal: ac.signal })) {
      chunks.push({ text: new TextDecoder().decode(c.bytes), reset: c.reset });
      if (chunks.length === 1) appendFileSync(f, 'world');
      else if (chunks.length === 2) writeFileSync(f, 'new'); // shorter: rewritten by a new run
      else break;
    }
    clearTimeout(timer);
    assert.deepEqual(chunks, [
      { text: 'hello ', reset: false },
      { text: 'world', reset: false },
      { text: 'new', reset: true },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('streamCurves follows a growing Megatron log, completing a line written in two parts', async () => {
  const dir = tmp();
  try {
    const log = join(dir, 'train.log');
    writeFileSync(log, 'starting\n' + bridgeLine(10) + '\n');
    const second = bridgeLine(20);
    const ac = new AbortController();
    let phase = 0;
    const got = await drive(
      streamCurves(log, { follow: true, pollMs: POLL, signal: ac.signal }),
      ac,
      (u) => points(u).length >= 3,
      () => {
        if (phase === 0) {
          appendFileSync(log, second.slice(0, 40)); // half a line: must not produce a point yet
          setTimeout(() => appendFileSync(log, second.slice(40) + '\n' + bridgeLine(30) + '\n'), 5 * POLL);
        }
        phase++;
      },
    );
    assert.deepEqual(points(got).map((p) => [p.step, p['loss']]), [[10, 1], [20, 0.5], [30, Number((10 / 30).toExponential(6))]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('streamCurves follows an event folder: new files in sub-folders appear with their folder as tag prefix', async () => {
  const dir = tmp();
  try {
    const ev = (step: number, tag: string, v: number): TbEvent => ({ wallTime: 1000 + step, step, values: [{ tag, simple: v }] });
    const trainBytes = eventFileBytes([fileVersionEvent(1000), ev(1, 'loss', 3), ev(2, 'loss', 2)]);
    writeFileSync(join(dir, 'events.out.tfevents.100.host.1.0'), trainBytes.subarray(0, trainBytes.length - 7)); // last record partial
    const ac = new AbortController();
    let phase = 0;
    const got = await drive(
      streamCurves(dir, { follow: true, pollMs: POLL, signal: ac.signal }),
      ac,
      (u) => points(u).length >= 3,
      () => {
        if (phase++ === 0) {
          appendFileSync(join(dir, 'events.out.tfevents.100.host.1.0'), trainBytes.subarray(trainBytes.length - 7));
          mkdirSync(join(dir, 'validation'));
          writeFileSync(join(dir, 'validation', 'events.out.tfevents.101.host.2.0'), eventFileBytes([fileVersionEvent(1000), ev(2, 'loss', 2.5)]));
        }
      },
    );
    const byTag = points(got).map((p) => [p.step, seriesOf(p)[0]![0], seriesOf(p)[0]![1]]);
    assert.deepEqual(
      byTag.sort((a, b) => String(a[1]).localeCompare(String(b[1])) || Number(a[0]) - Number(b[0])),
      [[1, 'loss', 3], [2, 'loss', 2], [2, 'validation/loss', 2.5]],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('detectCurveSource: metrics.jsonl first, then event files below, then a Megatron log in the folder or logs/', async () => {
  const dir = tmp();
  try {
    assert.equal(await detectCurveSource(dir), undefined);
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'notes.txt'), 'nothing to see\n');
    assert.equal(await detectCurveSource(dir), undefined, 'a text file without Megatron lines is not a log');
    writeFileSync(join(dir, 'logs', 'slurm-123.out'), 'banner\n' + bridgeLine(10) + '\n');
    assert.deepEqual(await detectCurveSource(dir), { kind: 'megatron-log', path: join(dir, 'logs', 'slurm-123.out'), isDir: false });
    mkdirSync(join(dir, 'tb_logs'));
    writeFileSync(join(dir, 'tb_logs', 'events.out.tfevents.1.h'), eventFileBytes([fileVersionEvent(1)]));
    assert.deepEqual(await detectCurveSource(dir), { kind: 'tfevents', path: dir, isDir: true });
    writeFileSync(join(dir, 'metrics.jsonl'), '{"step":1,"loss":2}\n');
    assert.deepEqual(await detectCurveSource(dir), { kind: 'metrics-jsonl', path: join(dir, 'metrics.jsonl'), isDir: false });
    // Files are recognised by content when the name says nothing.
    writeFileSync(join(dir, 'renamed.bin'), eventFileBytes([fileVersionEvent(1)]));
    assert.equal((await detectCurveSource(join(dir, 'renamed.bin')))?.kind, 'tfevents');
    writeFileSync(join(dir, 'm.txt'), '\n{"step": 3, "loss": 1}\n');
    assert.equal((await detectCurveSource(join(dir, 'm.txt')))?.kind, 'metrics-jsonl');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readCurves reads a finished log whole (last line without newline included); bad paths get typed errors', async () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'train.log'), bridgeLine(10) + '\n' + bridgeLine(20));
    const { source, points: pts } = await readCurves(join(dir, 'train.log'));
    assert.equal(source.kind, 'megatron-log');
    assert.deepEqual(pts.map((p) => p.step), [10, 20]);
    writeFileSync(join(dir, 'readme.md'), 'hello');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await assert.rejects(readCurves(empty), (e: unknown) => e instanceof HybridCompressError && e.code === 'DATA_INVALID' && /metrics\.jsonl/.test(e.message));
    await assert.rejects(readCurves(join(dir, 'missing')), (e: unknown) => e instanceof HybridCompressError && e.code === 'IO_ERROR');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with follow, a path that does not exist yet is waited for', async () => {
  const dir = tmp();
  try {
    const f = join(dir, 'metrics.jsonl');
    const ac = new AbortController();
    setTimeout(() => writeFileSync(f, '{"step":1,"loss":4}\n{"step":2,"loss":3}\n'), 5 * POLL);
    const tally = new WarningTally();
    const got = await drive(streamCurves(dir, { follow: true, pollMs: POLL, signal: ac.signal, onWarning: tally.sink }), ac, (u) => points(u).length >= 2);
    assert.deepEqual(points(got).map((p) => p['loss']), [4, 3]);
    assert.equal(tally.total, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
