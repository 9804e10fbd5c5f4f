// The calibration job on the ONNX engine against scores computed independently from the float64
// reference forward's taps with brute-force formulas; and resume after a cancellation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFixtureCheckpoint } from '../../src/core/testing/fixtures';
import { runCalibration, CALIBRATION_DEFAULTS, type CalibrationSettings } from '../../src/core/calibrate/calibrate';
import { SafetensorsFile } from '../../src/core/safetensors/reader';
import { referenceForward } from '../../src/core/model/reference';
import { openModelDataset } from '../../src/core/eval/model-data';
import { HybridCompressError } from '../../src/core/errors';
import { bruteActivation } from './brute-scores';

const dir = mkdtempSync(join(tmpdir(), 'hc-cal-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const words = 'the of and to a in that is was he for it with as his on be at by i this had not are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people mr how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'.split(' ');

function writeText(path: string, docs: number, seed: number): void {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  const lines: string[] = [];
  for (let d = 0; d < docs; d++) {
    const n = 40 + Math.floor(rnd() * 60);
    lines.push(Array.from({ length: n }, () => words[Math.floor(rnd() * words.length)]).join(' ') + '.');
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

function bruteVariance(a: Float64Array, n: number, C: number): Float64Array {
  const out = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += a[i * C + c]!;
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (a[i * C + c]! - mean) ** 2;
    out[c] = v / n;
  }
  return out;
}

function logSoftmaxRow(x: Float64Array, off: number, V: number): Float64Array {
  let m = -Infinity;
  for (let v = 0; v < V; v++) m = Math.max(m, x[off + v]!);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(x[off + v]! - m);
  const out = new Float64Array(V);
  for (let v = 0; v < V; v++) out[v] = x[off + v]! - m - Math.log(s);
  return out;
}

function assertClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, rel = 1e-4): void {
  assert.equal(got.length, want.length, `${name}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), 1e-3 * scale, 1e-12);
    assert.ok(err <= rel, `${name}[${i}]: engine ${got[i]} vs reference ${want[i]} (relative error ${err.toExponential(2)})`);
  }
}

/** Ranking (descending) agrees wherever neighbouring reference scores are not near-tied. */
function assertSameRanking(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  const order = (x: ArrayLike<number>) => Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[b]! - x[a]! || a - b);
  const og = order(got);
  const ow = order(want);
  for (let k = 0; k < ow.length; k++) {
    if (og[k] === ow[k]) continue;
    const gap = Math.abs(want[og[k]!]! - want[ow[k]!]!);
    assert.ok(gap <= 1e-4 * Math.abs(want[ow[k]!]!), `${name}: rank ${k} differs (engine head ${og[k]}, reference ${ow[k]}) with a score gap of ${gap}`);
  }
}

test('calibration scores on the engine match brute-force scores from the float64 reference forward', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'model'), { pattern: 'M-M*M-', hiddenSize: 48, mambaHeads: 8, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 64, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 16, chunkSize: 16, tokenizer: true, seed: 11 });
  const data = join(dir, 'train.txt');
  writeText(data, 40, 3);
  const s: CalibrationSettings = { ...CALIBRATION_DEFAULTS, model: fx.dir, data, samples: 6, seqLen: 40, batch: 3, depth: 'kl', depthSamples: 3, device: 'cpu', mode: 'whole' };
  const runDir = join(dir, 'run');
  const res = await runCalibration(s, runDir, 'k1');
  assert.equal(res.rows, 6);
  const f = SafetensorsFile.open(res.importance);
  const get = async (n: string) => f.readFloat32(n);
  assert.equal(f.metadata['format'], 'hybrid-compress/importance@1');
  assert.equal(f.metadata['fingerprint'], res.fingerprint);

  // The same rows, through the reference forward.
  const ds = await openModelDataset(fx.dir, fx.spec, s);
  const ids: number[][] = [];
  for await (const r of ds.rows()) ids.push(Array.from(r.ids));
  await ds.close();
  assert.equal(ids.length, 6);
  const ref = referenceForward(fx.spec, fx.weights, ids, { taps: true });
  const R = 6;
  const T = 40;
  const D = fx.spec.hiddenSize;
  const tap = (n: string) => ref.taps.get(n)!;
  const emb = new Float64Array(D);
  for (const l of fx.spec.layers) {
    const n = l.index;
    const ns = bruteActivation(tap(`layers.${n}.norm`), R, T, D);
    ns.forEach((v, c) => (emb[c]! += v));
    if (l.kind === 'M') {
      const m = fx.spec.mamba!;
      const act = bruteActivation(tap(`layers.${n}.mamba.x`), R, T, m.innerSize);
      assertClose(`layer ${n} mamba.activations`, await get(`layers.${n}.mamba.activations`), act);
      const ch = Array.from({ length: m.headDim }, (_, d) => Math.sqrt(Array.from({ length: m.numHeads }, (_, h) => act[h * m.headDim + d]! ** 2).reduce((a, b) => a + b)));
      assertClose(`layer ${n} mamba.channels`, await get(`layers.${n}.mamba.channels`), ch);
      const heads = Array.from({ length: m.numHeads }, (_, h) => Math.sqrt(Array.from({ length: m.headDim }, (_, d) => act[h * m.headDim + d]! ** 2).reduce((a, b) => a + b)));
      assertClose(`layer ${n} mamba.heads`, await get(`layers.${n}.mamba.heads`), heads);
      assertSameRanking(`layer ${n} mamba.heads`, await get(`layers.${n}.mamba.heads`), heads);
      const w = fx.weights.get(`backbone.layers.${n}.mixer.out_proj.weight`)!;
      const variance = bruteVariance(tap(`layers.${n}.mamba.out_proj_input`), R * T, m.innerSize);
      const flap = Array.from({ length: m.numHeads }, (_, h) => {
        let s2 = 0;
        for (let d = 0; d < m.headDim; d++) {
          const j = h * m.headDim + d;
          let col = 0;
          for (let o = 0; o < D; o++) col += w[o * m.innerSize + j]! ** 2;
          s2 += col * variance[j]!;
        }
        return s2;
      });
      assertClose(`layer ${n} mamba.flap`, await get(`layers.${n}.mamba.flap`), flap, 1e-3);
    } else if (l.kind === '-') {
      const F = fx.spec.mlp!.intermediateSize;
      const neurons = bruteActivation(tap(`layers.${n}.mlp.down_proj_input`), R, T, F);
      assertClose(`layer ${n} mlp.neurons`, await get(`layers.${n}.mlp.neurons`), neurons);
      assertSameRanking(`layer ${n} mlp.neurons`, await get(`layers.${n}.mlp.neurons`), neurons);
      const w = fx.weights.get(`backbone.layers.${n}.mixer.down_proj.weight`)!;
      const variance = bruteVariance(tap(`layers.${n}.mlp.down_proj_input`), R * T, F);
      const flap = Array.from({ length: F }, (_, j) => {
        let col = 0;
        for (let o = 0; o < D; o++) col += w[o * F + j]! ** 2;
        return col * variance[j]!;
      });
      assertClose(`layer ${n} mlp.flap`, await get(`layers.${n}.mlp.flap`), flap, 1e-3);
    } else if (l.kind === '*') {
      const a = fx.spec.attention!;
      const ch = bruteActivation(tap(`layers.${n}.attention.o_proj_input`), R, T, a.numHeads * a.headDim);
      const heads = Array.from({ length: a.numHeads }, (_, h) => Math.sqrt(Array.from({ length: a.headDim }, (_, d) => ch[h * a.headDim + d]! ** 2).reduce((x, y) => x + y)));
      assertClose(`layer ${n} attention.heads`, await get(`layers.${n}.attention.heads`), heads);
    }
  }
  assertClose('embedding.channels', await get('embedding.channels'), emb);
  assertSameRanking('embedding.channels', await get('embedding.channels'), emb);

  // Block importance: 1 − cos(h_in, h_out), averaged over tokens.
  const bi = fx.spec.layers.map((l) => {
    const hin = tap(`layers.${l.index}.input`);
    const hout = tap(`layers.${l.index}.output`);
    let s2 = 0;
    for (let t = 0; t < R * T; t++) {
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let c = 0; c < D; c++) {
        dot += hin[t * D + c]! * hout[t * D + c]!;
        na += hin[t * D + c]! ** 2;
        nb += hout[t * D + c]! ** 2;
      }
      s2 += 1 - dot / (Math.sqrt(na) * Math.sqrt(nb));
    }
    return s2 / (R * T);
  });
  assertClose('depth.block_importance', await get('depth.block_importance'), bi);

  // Depth KL over the first depthSamples rows: KL(p_full ‖ p_without_layer_n), mean over tokens.
  const klRows = ids.slice(0, 3);
  const full = referenceForward(fx.spec, fx.weights, klRows).logits;
  const V = fx.spec.vocabSize;
  const kl = fx.spec.layers.map((l) => {
    const dropped = referenceForward(fx.spec, fx.weights, klRows, { skipLayers: [l.index] }).logits;
    let s2 = 0;
    for (let t = 0; t < 3 * T; t++) {
      const p = logSoftmaxRow(full, t * V, V);
      const q = logSoftmaxRow(dropped, t * V, V);
      for (let v = 0; v < V; v++) s2 += Math.exp(p[v]!) * (p[v]! - q[v]!);
    }
    return s2 / (3 * T);
  });
  assertClose('depth.kl', await get('depth.kl'), kl, 1e-3);
  await f.close();
});

test('an interrupted calibration resumes from its last batch and gives the same scores', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'model2'), { pattern: 'M-*', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 32, tokenizer: true, seed: 5 });
  const data = join(dir, 'train2.txt');
  writeText(data, 30, 9);
  const s: CalibrationSettings = { ...CALIBRATION_DEFAULTS, model: fx.dir, data, samples: 8, seqLen: 32, batch: 2, depth: 'bi', device: 'cpu', mode: 'streamed' };
  // Streamed passes hold 4 rows of hidden state (2 batches): progress counts layer steps, 3 per group.
  const stateBytes = 4 * 32 * 32 * 4;
  const whole = await runCalibration(s, join(dir, 'uninterrupted'), 'k2', { stateBytes });
  const ac = new AbortController();
  const interrupted = join(dir, 'interrupted');
  await assert.rejects(
    runCalibration(s, interrupted, 'k2', { stateBytes, signal: ac.signal, onProgress: (p) => p.done >= 4 && ac.abort() }),
    (e) => e instanceof HybridCompressError && e.code === 'CANCELLED',
  );
  const resumed = await runCalibration(s, interrupted, 'k2', { stateBytes });
  assert.equal(resumed.resumedFromRow, 4);
  assert.equal(resumed.rows, 8);
  const a = SafetensorsFile.open(whole.importance);
  const b = SafetensorsFile.open(resumed.importance);
  assert.deepEqual(a.names, b.names);
  for (const n of a.names) assert.deepEqual(await b.readFloat32(n), await a.readFloat32(n), n);
  await a.close();
  await b.close();
});

test('--ffn-tap pre scores FFN neurons on X·W₁ᵀ before relu² (the paper\'s Eq. 26) on every path; nothing else changes', async () => {
  const fx = await writeFixtureCheckpoint(join(dir, 'model-pre'), { pattern: 'M-*-', hiddenSize: 32, mambaHeads: 4, mambaHeadDim: 8, nGroups: 2, stateSize: 8, intermediateSize: 48, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 8, tokenizer: true, seed: 13 });
  const data = join(dir, 'train-pre.txt');
  writeText(data, 30, 4);
  const base: CalibrationSettings = { ...CALIBRATION_DEFAULTS, model: fx.dir, data, samples: 4, seqLen: 24, batch: 2, depth: 'bi', device: 'cpu', mode: 'whole' };
  assert.equal(CALIBRATION_DEFAULTS.ffnTap, 'post');
  const post = SafetensorsFile.open((await runCalibration(base, join(dir, 'run-post'), 'kpost')).importance);
  const runs = [
    SafetensorsFile.open((await runCalibration({ ...base, ffnTap: 'pre' }, join(dir, 'run-pre'), 'kpre')).importance),
    SafetensorsFile.open((await runCalibration({ ...base, ffnTap: 'pre', mode: 'streamed' }, join(dir, 'run-pre-streamed'), 'kpre2')).importance),
    SafetensorsFile.open((await runCalibration({ ...base, ffnTap: 'pre' }, join(dir, 'run-pre-js'), 'kpre3', { reduce: 'js' })).importance),
  ];
  const ds = await openModelDataset(fx.dir, fx.spec, base);
  const ids: number[][] = [];
  for await (const r of ds.rows()) ids.push(Array.from(r.ids));
  await ds.close();
  const ref = referenceForward(fx.spec, fx.weights, ids, { taps: true });
  const F = fx.spec.mlp!.intermediateSize;
  for (const n of [1, 3]) {
    const pre = bruteActivation(ref.taps.get(`layers.${n}.mlp.up_proj_output`)!, 4, 24, F);
    const after = bruteActivation(ref.taps.get(`layers.${n}.mlp.down_proj_input`)!, 4, 24, F);
    assertClose(`layer ${n} post`, await post.readFloat32(`layers.${n}.mlp.neurons`), after);
    for (const [i, f] of runs.entries()) {
      assertClose(`layer ${n} pre (run ${i})`, await f.readFloat32(`layers.${n}.mlp.neurons`), pre);
      assert.equal(f.metadata['ffn_tap'], 'pre');
    }
    // relu² zeroes negative pre-activations, so the two scores differ.
    assert.ok(pre.some((v, j) => Math.abs(v - after[j]!) > 1e-3 * Math.max(v, after[j]!)), `layer ${n}: pre and post scores differ`);
  }
  assert.equal(post.metadata['ffn_tap'], 'post');
  for (const name of post.names.filter((x) => !x.endsWith('.mlp.neurons'))) assert.deepEqual(await runs[0]!.readFloat32(name), await post.readFloat32(name), `${name} does not depend on --ffn-tap`);
  for (const f of [post, ...runs]) await f.close();
});
