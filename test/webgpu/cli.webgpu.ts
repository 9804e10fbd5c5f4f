// WebGPU tier, the CLI as a user runs it (dist/cli.js from a plain environment: no LD_LIBRARY_PATH, no
// Vulkan variables — the worker must find its loader and driver itself): eval (logits dumped), calibrate
// (width and depth, KL), and the first 5 distillation steps on `--device webgpu` agree with
// `--device cpu` on fixtures of both families; `--device auto` never picks a software adapter; a driver
// that cannot load is reported as such, for webgpu-f16 too.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, plainEnv, ROOT, type CliRun } from './helpers';
import { maxAbsDiff, maxRelDiff } from '../reference/helpers';
import { readTensors } from '../safetensors/helpers';

const DATA = join(ROOT, 'examples', 'data', 'train.txt');
const PRESETS = { nemotron_h: 'tiny', mamba2: 'mamba2' } as const;

let root: string;
before(() => (root = mkdtempSync(join(tmpdir(), 'hc-webgpu-cli-'))));
after(() => rmSync(root, { recursive: true, force: true }));

function ok(r: CliRun, what: string): CliRun {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr.slice(-2000)}`);
  return r;
}

function losses(runDir: string): number[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"loss"'))
    .map((l) => (JSON.parse(l) as { loss: number }).loss);
}

for (const [family, preset] of Object.entries(PRESETS)) {
  test(`${family}: eval, calibrate (width + depth) and 5 KD steps on --device webgpu match --device cpu`, async (t) => {
    const dir = join(root, family);
    const model = join(dir, 'model');
    ok(await cli(['fixture', model, '--preset', preset]), 'fixture');
    const data = ['--data', DATA, '--samples', '4', '--seq-len', '64', '--batch', '2', '--json'];

    // eval: loss and the logits themselves.
    const ev: Record<string, CliRun> = {};
    for (const device of ['cpu', 'webgpu'] as const) ev[device] = ok(await cli(['eval', model, ...data, '--device', device, '--dump-logits', join(dir, `logits-${device}.safetensors`)]), `eval --device ${device}`);
    assert.equal(ev['webgpu']!.result!['ep'], 'webgpu');
    assert.ok(ev['webgpu']!.logs.some((l) => /^webgpu adapter: Vulkan driver /.test(l)), 'the adapter is reported');
    const [la, lg] = [await readTensors(join(dir, 'logits-cpu.safetensors')), await readTensors(join(dir, 'logits-webgpu.safetensors'))];
    let logitsDiff = 0;
    for (const [name, a] of la) logitsDiff = Math.max(logitsDiff, maxAbsDiff(a, lg.get(name)!));
    const lossA = ev['cpu']!.result!['loss'] as number;
    const lossG = ev['webgpu']!.result!['loss'] as number;
    t.diagnostic(`${family} eval: logits max |Δ| ${logitsDiff.toExponential(2)}, loss ${lossA} vs ${lossG}`);
    assert.ok(logitsDiff <= 1e-3, `logits differ by ${logitsDiff}`);
    assert.ok(Math.abs(lossA - lossG) <= 1e-5 * Math.abs(lossA), `eval loss ${lossA} vs ${lossG}`);

    // calibrate: every importance tensor (width scores, FLAP, BI and KL layer scores).
    for (const device of ['cpu', 'webgpu'] as const) ok(await cli(['calibrate', model, ...data, '--depth', 'kl', '--depth-samples', '2', '--device', device, '--out', join(dir, `cal-${device}`)]), `calibrate --device ${device}`);
    const [ia, ig] = [await readTensors(join(dir, 'cal-cpu', 'importance.safetensors')), await readTensors(join(dir, 'cal-webgpu', 'importance.safetensors'))];
    assert.ok(ia.has('depth.kl') && ia.has('depth.block_importance'), 'depth scores present');
    let worst = 0;
    let worstName = '';
    for (const [name, a] of ia) {
      const r = maxRelDiff(ig.get(name)!, a);
      if (r >= worst) [worst, worstName] = [r, name];
    }
    t.diagnostic(`${family} calibrate: worst importance relative Δ ${worst.toExponential(2)} (${worstName}), ${ia.size} tensors`);
    assert.ok(worst <= 1e-3, `importance ${worstName} differs by ${worst} relative`);

    // distill: prune a student from the CPU scores, then 5 KD steps (teacher forward, student forward +
    // backward on the device, AdamW in JS) on each device.
    const student = join(dir, 'student');
    ok(await cli(['prune', model, '--importance', join(dir, 'cal-cpu'), '--out', student, '--hidden-size', '48', '--mamba-num-heads', '6', '--no-verify']), 'prune'); // 6 × head_dim stays a multiple of hidden 48 (Mamba2Config's integer expand)
    for (const device of ['cpu', 'webgpu'] as const) {
      ok(await cli(['distill', '--teacher', model, '--student', student, '--data', DATA, '--out', join(dir, `kd-${device}`), '--steps', '5', '--batch', '2', '--seq-len', '64', '--lr', '1e-3', '--warmup-steps', '1', '--device', device, '--json']), `distill --device ${device}`);
    }
    const [ka, kg] = [losses(join(dir, 'kd-cpu')), losses(join(dir, 'kd-webgpu'))];
    assert.equal(ka.length, 5);
    const kd = Math.max(...ka.map((l, i) => Math.abs(l - kg[i]!) / Math.abs(l)));
    t.diagnostic(`${family} distill: KD losses cpu ${ka.map((l) => l.toFixed(6)).join(' ')} | webgpu ${kg.map((l) => l.toFixed(6)).join(' ')}; worst relative Δ ${kd.toExponential(2)}`);
    assert.ok(kd <= 1e-4, `KD loss relative difference ${kd}`);
  });
}

test('--device auto does not pick SwiftShader (or any software adapter) and says why', async () => {
  const model = join(root, 'nemotron_h', 'model');
  const r = ok(await cli(['eval', model, '--data', DATA, '--samples', '2', '--seq-len', '16', '--batch', '2', '--device', 'auto', '--json']), 'eval --device auto');
  if (r.result!['ep'] === 'webgpu') {
    // A machine with a GPU Vulkan driver: auto may use it, but never a software one.
    assert.ok(r.logs.some((l) => /^webgpu adapter: /.test(l) && !/software/.test(l)), r.logs.join('\n'));
    return;
  }
  assert.ok(['cpu', 'cuda'].includes(String(r.result!['ep'])));
  if (r.result!['ep'] === 'cpu') assert.ok(r.logs.some((l) => /^device auto: running on CPU \(.*webgpu: .*auto never picks a software adapter/.test(l)), r.logs.join('\n'));
});

test('a Vulkan driver that cannot load: webgpu and webgpu-f16 both say WebGPU could not be used (not a missing shader-f16)', async () => {
  const model = join(root, 'nemotron_h', 'model');
  // A manifest naming NVIDIA's driver library where none is installed: the loader finds no usable driver.
  const manifest = join(root, 'nvidia_icd.json');
  writeFileSync(manifest, JSON.stringify({ file_format_version: '1.0.1', ICD: { library_path: join(root, 'libGLX_nvidia.so.0'), api_version: '1.4.312' } }));
  const env = { ...plainEnv(), VK_DRIVER_FILES: manifest, VK_ICD_FILENAMES: manifest };
  for (const device of ['webgpu', 'webgpu-f16']) {
    const r = await cli(['eval', model, '--data', DATA, '--samples', '1', '--seq-len', '16', '--batch', '1', '--device', device, '--json'], env);
    assert.notEqual(r.code, 0, `${device} ran on a driver that does not exist`);
    assert.match(r.stderr, new RegExp(`--device ${device}: ONNX Runtime could not use WebGPU on NVIDIA \\[${manifest.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\]`), r.stderr);
    assert.doesNotMatch(r.stderr, /shader-f16/, r.stderr);
  }
});
