// The benches' Python side (bench/py/*.py through bench/python.ts) on a small fixture: forward.py gives
// transformers' logits of the project's own rows within float32 noise and a timing, distill_step.py times a
// KD step, and a failure on the Python side comes back as a result with the reason, not an exception.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPythonScript } from '../../bench/python';
import { cli, cliJson, readTensors, tempDir, venvPython, writeIds } from './harness';

test('bench/py scripts run from the conformance venv, and their failures are reported, not thrown', async (t) => {
  process.env['HC_BENCH_PYTHON'] = venvPython(); // the venv this tier uses (fails here when it is missing)
  const dir = tempDir(t);
  const model = join(dir, 'tiny');
  cli('fixture', model, '--preset', 'tiny');
  const vocab = cliJson<{ vocab_size: number }>('inspect', model).vocab_size;
  const [rows, seq] = [2, 32];
  const idsJsonl = join(dir, 'ids.jsonl');
  writeIds(idsJsonl, rows, seq, vocab);
  cli('eval', model, '--data', idsJsonl, '--samples', String(rows), '--seq-len', String(seq), '--batch', String(rows), '--packing', 'none', '--device', 'cpu', '--dt-clamp', 'transformers5', '--dump-logits', join(dir, 'ours.safetensors'));
  const logits = (await readTensors(join(dir, 'ours.safetensors'))).get('logits')!;
  const ids = BigInt64Array.from(readFileSync(idsJsonl, 'utf8').trim().split('\n').flatMap((l) => (JSON.parse(l) as { input_ids: number[] }).input_ids.map(BigInt)));
  writeFileSync(join(dir, 'ids.bin'), new Uint8Array(ids.buffer));
  writeFileSync(join(dir, 'logits.bin'), new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));

  const fwd = runPythonScript<{ seconds: number; max_abs_diff: number }>('forward.py', [model, join(dir, 'ids.bin'), join(dir, 'logits.bin'), '1', '2', String(rows), String(seq)]);
  assert.ok(fwd.ok, fwd.ok ? '' : fwd.error);
  assert.ok(fwd.result.seconds > 0);
  t.diagnostic(`bench/py/forward.py max |Δlogits| vs the project: ${fwd.result.max_abs_diff.toExponential(2)}`);
  assert.ok(fwd.result.max_abs_diff <= 1e-4, `logits differ by ${fwd.result.max_abs_diff}`);

  const step = runPythonScript<{ ms: number }>('distill_step.py', [model, model, '1', '1', String(rows), String(seq)]);
  assert.ok(step.ok, step.ok ? '' : step.error);
  assert.ok(step.result.ms > 0);

  const broken = runPythonScript('forward.py', [join(dir, 'no-such-model'), 'x', 'y', '1', '1', '1', '1']);
  assert.equal(broken.ok, false);
  assert.match(broken.ok ? '' : broken.error, /forward\.py exit 1: .*no-such-model/);
  process.env['HC_BENCH_PYTHON'] = join(dir, 'no-python');
  const missing = runPythonScript('forward.py', []);
  assert.deepEqual(missing, { ok: false, error: 'no PyTorch venv (make it with: bash scripts/conformance-setup.sh)' });
});
