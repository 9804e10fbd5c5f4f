// The benches' Python side (bench/py/*.py through bench/python.ts's PythonSide) on a small fixture:
// forward.py gives transformers' logits of the project's own rows within float32 noise, calibrate_hooks.py
// computes the project's importance statistics from PyTorch hooks (so the calibration bench compares like
// with like), distill_step.py and train_step.py time their steps, and a failure on the Python side comes
// back as a result with the reason, not an exception.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PythonSide } from '../../bench/python';
import { cli, cliJson, maxRelDiff, oracle, readTensors, report, tempDir, venvPython, writeIds } from './harness';

async function started(script: string, args: string[]): Promise<PythonSide> {
  const s = await PythonSide.start(script, args);
  assert.ok(s.ok, s.ok ? '' : s.error);
  return s.result;
}

async function twoRuns(side: PythonSide): Promise<void> {
  const r = await side.run(2);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.result.length, 2);
  assert.ok(r.result.every((ms) => ms > 0));
}

test('bench/py scripts run from the conformance venv, and their failures are reported, not thrown', async (t) => {
  process.env['HC_BENCH_PYTHON'] = venvPython(); // the venv this tier uses (fails here when it is missing)
  const dir = tempDir(t);
  const model = join(dir, 'tiny');
  cli('fixture', model, '--preset', 'tiny');
  const vocab = cliJson<{ vocab_size: number }>('inspect', model).vocab_size;
  const [rows, seq] = [4, 32];
  const idsJsonl = join(dir, 'ids.jsonl');
  writeIds(idsJsonl, rows, seq, vocab);
  cli('eval', model, '--data', idsJsonl, '--samples', String(rows), '--seq-len', String(seq), '--batch', String(rows), '--packing', 'none', '--device', 'cpu', '--dt-clamp', 'transformers5', '--dump-logits', join(dir, 'ours.safetensors'));
  const logits = (await readTensors(join(dir, 'ours.safetensors'))).get('logits')!;
  const ids = BigInt64Array.from(readFileSync(idsJsonl, 'utf8').trim().split('\n').flatMap((l) => (JSON.parse(l) as { input_ids: number[] }).input_ids.map(BigInt)));
  writeFileSync(join(dir, 'ids.bin'), new Uint8Array(ids.buffer));
  writeFileSync(join(dir, 'logits.bin'), new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));

  const fwd = await started('forward.py', [model, join(dir, 'ids.bin'), join(dir, 'logits.bin'), '1', String(rows), String(seq)]);
  await twoRuns(fwd);
  const f = await fwd.finish<{ max_abs_diff: number }>();
  assert.ok(f.ok, f.ok ? '' : f.error);
  report(t, 'bench/py/forward.py max |Δlogits| vs the project', f.result.max_abs_diff);
  assert.ok(f.result.max_abs_diff <= 1e-4, `logits differ by ${f.result.max_abs_diff}`);

  // The calibration bench's PyTorch side computes the project's importance file (depth bi, FLAP).
  const cal = join(dir, 'cal');
  cli('calibrate', model, '--data', idsJsonl, '--samples', String(rows), '--seq-len', String(seq), '--batch', '2', '--packing', 'none', '--device', 'cpu', '--depth', 'bi', '--out', cal);
  const hooksOut = join(dir, 'hooks.safetensors');
  const calib = await started('calibrate_hooks.py', [model, join(dir, 'ids.bin'), String(rows), String(seq), '2', '1', hooksOut]);
  await twoRuns(calib);
  const c = await calib.finish<{ tensors: string[] }>();
  assert.ok(c.ok, c.ok ? '' : c.error);
  // Against the tier's own hook oracle (oracle.py calib, all rows in one forward): the same statistics up to
  // float64 summation order; against the project's file: float32 engine differences only.
  oracle([{ op: 'calib', model, ids: idsJsonl, out: join(dir, 'ref-cal.safetensors') }]);
  const ref = await readTensors(join(dir, 'ref-cal.safetensors'));
  const ours = await readTensors(join(cal, 'importance.safetensors'));
  const theirs = await readTensors(hooksOut);
  assert.deepEqual(c.result.tensors, [...ref.keys()].sort());
  let worstRef = 0;
  let worstOurs = 0;
  for (const [name, want] of ref) {
    const got = theirs.get(name)!;
    const d = maxRelDiff(got, want);
    worstRef = Math.max(worstRef, d);
    assert.ok(d <= 1e-6, `${name}: calibrate_hooks.py vs oracle.py relative difference ${d}`);
    const e = maxRelDiff(ours.get(name)!, got);
    worstOurs = Math.max(worstOurs, e);
    assert.ok(e <= 1e-3, `${name}: the project vs calibrate_hooks.py relative difference ${e}`);
  }
  report(t, `bench/py/calibrate_hooks.py importance max relative diff vs oracle.py (${ref.size} tensors)`, worstRef);
  report(t, 'the same vs the project', worstOurs);

  const kd = await started('distill_step.py', [model, model, '1', String(rows), String(seq)]);
  await twoRuns(kd);
  const k = await kd.finish<{ loss: number; peak_rss: number }>();
  assert.ok(k.ok && Number.isFinite(k.result.loss) && k.result.peak_rss > 0, JSON.stringify(k));

  const tr = await started('train_step.py', [model, '1', String(rows), String(seq)]);
  await twoRuns(tr);
  const s = await tr.finish<{ loss: number; params: number; peak_rss: number }>();
  assert.ok(s.ok, s.ok ? '' : s.error);
  assert.equal(s.result.params, cliJson<{ params: { total: number } }>('inspect', model).params.total);
  assert.ok(Number.isFinite(s.result.loss) && s.result.peak_rss > 0);

  const broken = await PythonSide.start('forward.py', [join(dir, 'no-such-model'), 'x', 'y', '1', '1', '1']);
  assert.equal(broken.ok, false);
  assert.match(broken.ok ? '' : broken.error, /forward\.py exit 1: .*no-such-model/);
  process.env['HC_BENCH_PYTHON'] = join(dir, 'no-python');
  const missing = await PythonSide.start('forward.py', []);
  assert.deepEqual(missing, { ok: false, error: 'no PyTorch venv (make it with: bash scripts/conformance-setup.sh)' });
});
