// Conformance against transformers itself (the venv of scripts/conformance-setup.sh): checkpoints saved by
// transformers at test time are read, run, calibrated, pruned and distilled by the project, and everything
// the project writes is loaded back by transformers. Each check prints its largest difference.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cli, cliJson, maxAbsDiff, maxRelDiff, oracle, readJsonl, readTensors, report, tempDir, writeIds } from './harness';

const ROWS = 4;
const SEQ = 64;
const VOCAB = 300; // oracle.py's configs

/** Per family: a prune the pruner and transformers' config class must both accept. */
const FAMILIES = {
  nemotron_h: ['--hidden-size', '48', '--mamba-num-heads', '6', '--mamba-head-dim', '12', '--ffn-hidden-size', '64', '--num-attention-heads', '2', '--num-layers', '5'],
  // Mamba2: heads × head_dim must stay a whole multiple of hidden_size (6 × 8 = 48 = 1 × 48: expand 2 → 1).
  mamba2: ['--hidden-size', '48', '--mamba-num-heads', '6', '--mamba-head-dim', '8', '--num-layers', '2'],
} as const;

// transformers ≥ 5's NemotronH bounds dt below by time_step_min on prefill (its mixer sets time_step_limit =
// (time_step_min, inf)); Mamba2 uses config.time_step_limit. --dt-clamp picks the same rule.
const clampFor = (family: string) => (family === 'nemotron_h' ? 'transformers5' : 'config');
const evalArgs = (family: string, model: string, ids: string, dump: string, rows = ROWS, seq = SEQ) =>
  ['eval', model, '--data', ids, '--samples', String(rows), '--seq-len', String(seq), '--batch', String(rows), '--packing', 'none', '--device', 'cpu', '--dt-clamp', clampFor(family), '--dump-logits', dump];

async function logitsOf(file: string): Promise<Float32Array> {
  return (await readTensors(file)).get('logits')!;
}

for (const [family, pruneArgs] of Object.entries(FAMILIES)) {
  test(`${family}: a transformers-saved checkpoint is read, run, calibrated, pruned and distilled as transformers does`, async (t) => {
    const dir = tempDir(t);
    const ids = join(dir, 'ids.jsonl');
    writeIds(ids, ROWS, SEQ, VOCAB);
    const f32 = join(dir, 'f32');
    const bf16 = join(dir, 'bf16');
    const [saved] = oracle([
      { op: 'save', family, out: f32, seed: 1 },
      { op: 'save', family, out: bf16, seed: 1, dtype: 'bfloat16' },
    ]);

    // 1. inspect's total = transformers' parameter count.
    const inspected = cliJson<{ params: { total: number } }>('inspect', f32);
    assert.equal(inspected.params.total, saved!['params']);

    // 2. Logits, F32 and BF16 copies, against transformers' float32 forward of the same files.
    const ref = oracle([
      { op: 'logits', model: f32, ids, out: join(dir, 'ref-f32.safetensors') },
      { op: 'logits', model: bf16, ids, out: join(dir, 'ref-bf16.safetensors') },
    ]);
    for (const r of ref) assert.deepEqual(r['problems'], {});
    for (const [name, model] of [['f32', f32], ['bf16', bf16]] as const) {
      cli(...evalArgs(family, model, ids, join(dir, `ours-${name}.safetensors`)));
      const d = maxAbsDiff(await logitsOf(join(dir, `ours-${name}.safetensors`)), await logitsOf(join(dir, `ref-${name}.safetensors`)));
      report(t, `${family} ${name} logits max abs diff vs transformers`, d);
      assert.ok(d <= 1e-4, `${name} logits differ by ${d}`);
    }

    // 3. Importance = the same statistics from PyTorch forward hooks.
    const cal = join(dir, 'cal');
    // With transformers' dt rule (--dt-clamp), the same model: agreement to float32 rounding, not to the rule's difference.
    cli('calibrate', f32, '--data', ids, '--samples', String(ROWS), '--seq-len', String(SEQ), '--batch', '2', '--packing', 'none', '--device', 'cpu', '--depth', 'bi', '--dt-clamp', clampFor(family), '--out', cal);
    oracle([{ op: 'calib', model: f32, ids, out: join(dir, 'ref-cal.safetensors') }]);
    const ours = await readTensors(join(cal, 'importance.safetensors'));
    const theirs = await readTensors(join(dir, 'ref-cal.safetensors'));
    let worst = 0;
    for (const [name, want] of theirs) {
      const got = ours.get(name);
      assert.ok(got, `importance.safetensors lacks ${name}`);
      const d = maxRelDiff(got, want);
      worst = Math.max(worst, d);
      assert.ok(d <= 1e-5, `${name}: relative difference ${d}`);
    }
    report(t, `${family} importance max relative diff vs PyTorch hooks (${theirs.size} tensors)`, worst);

    // 4. The pruned checkpoint loads in transformers (strict config class, no missing/unexpected keys)
    //    and gives the project's logits.
    const pruned = join(dir, 'pruned');
    cli('prune', f32, '--importance', cal, '--out', pruned, ...pruneArgs);
    const [cfg, pl] = oracle([
      { op: 'config', model: pruned },
      { op: 'logits', model: pruned, ids, out: join(dir, 'ref-pruned.safetensors') },
    ]);
    assert.equal(cfg!['ok'], true, String(cfg!['error']));
    assert.deepEqual(pl!['problems'], {});
    cli(...evalArgs(family, pruned, ids, join(dir, 'ours-pruned.safetensors')));
    const dp = maxAbsDiff(await logitsOf(join(dir, 'ours-pruned.safetensors')), await logitsOf(join(dir, 'ref-pruned.safetensors')));
    report(t, `${family} pruned logits max abs diff`, dp);
    assert.ok(dp <= 1e-4, `pruned logits differ by ${dp}`);

    // 5. One KD step, with each training step (one graph; layer by layer with recomputation): the loss
    //    equals torch's forward KL, every clear update has the sign of −grad (AdamW's first step with no
    //    decay and no clipping is −lr·g/(|g|+eps)), and final/ loads.
    const [kd] = oracle([{ op: 'kd_step', teacher: f32, student: pruned, ids, out: join(dir, 'grads.safetensors') }]);
    const before = await readTensors(join(pruned, 'model.safetensors'));
    const grads = await readTensors(join(dir, 'grads.safetensors'));
    const run = join(dir, 'kd');
    for (const recompute of ['none', 'layers']) {
      const out = recompute === 'none' ? run : join(dir, `kd-${recompute}`);
      cli('distill', '--teacher', f32, '--student', pruned, '--data', ids, '--out', out, '--steps', '1', '--warmup-steps', '0', '--lr', '1e-3', '--min-lr', '1e-3', '--weight-decay', '0', '--clip', '0', '--batch', String(ROWS), '--seq-len', String(SEQ), '--packing', 'none', '--no-shuffle', '--device', 'cpu', '--recompute', recompute);
      const step1 = readJsonl(join(out, 'metrics.jsonl')).find((p) => p['step'] === 1 && typeof p['loss'] === 'number');
      assert.ok(step1, `--recompute ${recompute}: metrics.jsonl has no step-1 loss`);
      const relLoss = Math.abs((step1['loss'] as number) - (kd!['loss'] as number)) / Math.abs(kd!['loss'] as number);
      report(t, `${family} first KD step loss relative diff vs torch (--recompute ${recompute})`, relLoss);
      assert.ok(relLoss <= 1e-4, `--recompute ${recompute}: KD loss ${String(step1['loss'])} vs torch ${String(kd!['loss'])}`);
      const after = await readTensors(join(out, 'final', 'model.safetensors'));
      let checked = 0;
      for (const [name, g] of grads) {
        const w0 = before.get(name)!;
        const w1 = after.get(name);
        assert.ok(w1, `final/ lacks ${name}`);
        let gmax = 0;
        for (const x of g) gmax = Math.max(gmax, Math.abs(x));
        for (let i = 0; i < g.length; i++) {
          // Clear gradients only: where |g| is within float32 noise of 0 either sign is right.
          if (Math.abs(g[i]!) < 1e-3 * gmax || Math.abs(g[i]!) < 1e-7) continue;
          checked++;
          const delta = w1[i]! - w0[i]!;
          assert.ok(Math.sign(delta) === -Math.sign(g[i]!), `--recompute ${recompute}: ${name}[${i}]: update ${delta} but torch gradient ${g[i]}`);
        }
      }
      report(t, `${family} update signs checked against torch autograd (--recompute ${recompute})`, checked);
      assert.ok(checked > 1000, `only ${checked} update signs were checked`);
    }
    const [fc, fl] = oracle([
      { op: 'config', model: join(run, 'final') },
      { op: 'logits', model: join(run, 'final'), ids, out: join(dir, 'ref-final.safetensors') },
    ]);
    assert.equal(fc!['ok'], true, String(fc!['error']));
    assert.deepEqual(fl!['problems'], {});
    cli(...evalArgs(family, join(run, 'final'), ids, join(dir, 'ours-final.safetensors')));
    const df = maxAbsDiff(await logitsOf(join(dir, 'ours-final.safetensors')), await logitsOf(join(dir, 'ref-final.safetensors')));
    report(t, `${family} distilled final/ logits max abs diff`, df);
    assert.ok(df <= 1e-4, `final/ logits differ by ${df}`);
  });
}

test('every fixture preset and the bundled teacher load in transformers and give the project logits; 8b/4b match on the meta device', async (t) => {
  const dir = tempDir(t);
  for (const preset of ['tiny', 'mamba2', 'bench', 'teacher']) {
    const model = preset === 'teacher' ? join(__dirname, '..', '..', 'examples', 'teacher') : join(dir, preset);
    if (preset !== 'teacher') cli('fixture', model, '--preset', preset);
    const { vocab_size: vocab } = cliJson<{ vocab_size: number }>('inspect', model);
    const ids = join(dir, `${preset}.jsonl`);
    writeIds(ids, 2, 32, vocab);
    const [cfg, lg] = oracle([
      { op: 'config', model },
      { op: 'logits', model, ids, out: join(dir, `${preset}-ref.safetensors`) },
    ]);
    assert.equal(cfg!['ok'], true, `${preset}: ${String(cfg!['error'])}`);
    assert.deepEqual(lg!['problems'], {}, preset);
    const family = preset === 'mamba2' ? 'mamba2' : 'nemotron_h';
    cli(...evalArgs(family, model, ids, join(dir, `${preset}-ours.safetensors`), 2, 32));
    const d = maxAbsDiff(await logitsOf(join(dir, `${preset}-ours.safetensors`)), await logitsOf(join(dir, `${preset}-ref.safetensors`)));
    report(t, `fixture ${preset} logits max abs diff`, d);
    assert.ok(d <= 1e-4, `${preset}: logits differ by ${d}`);
  }
  for (const preset of ['8b', '4b']) {
    const model = join(dir, preset);
    cli('fixture', model, '--preset', preset, '--sparse', '--dtype', 'BF16');
    const [m] = oracle([{ op: 'meta', model }]);
    assert.deepEqual([m!['missing'], m!['unexpected'], m!['mismatched']], [[], [], []], preset);
    assert.equal(cliJson<{ params: { total: number } }>('inspect', model).params.total, m!['params'], preset);
  }
});

test('inspection-only families: inspect counts what transformers counts', (t) => {
  const dir = tempDir(t);
  const families = ['bamba', 'zamba2', 'falcon_h1', 'jamba', 'granitemoehybrid'];
  const saved = oracle(families.map((family) => ({ op: 'family_params', family, out: join(dir, family) })));
  families.forEach((family, i) => {
    const total = cliJson<{ params: { total: number } }>('inspect', join(dir, family)).params.total;
    report(t, `${family} parameters (inspect − transformers)`, total - (saved[i]!['params'] as number));
    assert.equal(total, saved[i]!['params'], family);
  });
});
