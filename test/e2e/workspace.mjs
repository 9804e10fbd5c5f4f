// Builds the e2e workspace: a fixture checkpoint (through the project's own CLI), a pre-tokenised
// calibration file, and helpers that write run folders in the documented formats (run.json,
// metrics.jsonl, importance.safetensors as src/core/calibrate/importance-file.ts reads it) for the views to read.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export function makeWorkspace(root, repo) {
  const model = join(root, 'models', 'tiny');
  execFileSync(process.execPath, [join(repo, 'dist', 'cli.js'), 'fixture', model, '--preset', 'tiny'], { stdio: 'pipe' });
  // config.json may hold bare Infinity (transformers writes it); 1e999 parses to Infinity.
  const config = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8').replace(/-?\bInfinity\b/g, (m) => (m.startsWith('-') ? '-1e999' : '1e999')).replace(/\bNaN\b/g, 'null'));
  // A checkpoint that cannot be read: a real config next to a safetensors file whose header is cut off.
  const broken = join(root, 'models', 'broken');
  mkdirSync(broken, { recursive: true });
  writeFileSync(join(broken, 'config.json'), readFileSync(join(model, 'config.json')));
  writeFileSync(join(broken, 'model.safetensors'), readFileSync(join(model, 'model.safetensors')).subarray(0, 40));
  mkdirSync(join(root, 'data'), { recursive: true });
  // Pre-tokenised rows (input_ids): calibration works without a tokenizer file.
  const lines = [];
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) % (config.vocab_size - 3)) + 3;
  for (let r = 0; r < 120; r++) lines.push(JSON.stringify({ input_ids: Array.from({ length: 64 }, rnd) }));
  writeFileSync(join(root, 'data', 'calib.jsonl'), lines.join('\n') + '\n');
  return { model, config };
}

/** A run folder with run.json (the shape of src/core/runs/run-record.ts). */
export function writeRun(root, id, kind, status, inputs, extra = {}) {
  const dir = join(root, '.hybrid-compress', 'runs', id);
  mkdirSync(dir, { recursive: true });
  const now = new Date().toISOString();
  const rec = { id, kind, status, created: now, updated: now, inputs, settings: {}, timings: status === 'running' ? {} : { total: 1.5 }, pid: process.pid, host: hostname(), ...extra };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(rec, null, 2) + '\n');
  return dir;
}

export function appendMetrics(dir, points) {
  appendFileSync(join(dir, 'metrics.jsonl'), points.map((p) => JSON.stringify(p) + '\n').join(''));
}

/** Minimal safetensors writer (F32 only): 8-byte little-endian header length, JSON header, data. */
export function writeSafetensorsF32(path, tensors, metadata) {
  const header = { __metadata__: metadata };
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.length * 4] };
    offset += data.length * 4;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hbuf = Buffer.from(json);
  const out = Buffer.alloc(8 + hbuf.length + offset);
  out.writeBigUInt64LE(BigInt(hbuf.length), 0);
  hbuf.copy(out, 8);
  let at = 8 + hbuf.length;
  for (const [, { data }] of tensors) {
    Buffer.from(new Float32Array(data).buffer).copy(out, at);
    at += data.length * 4;
  }
  writeFileSync(path, out);
}

/** Seeded importance scores for a nemotron_h config, in the layout calibrate writes. */
export function importanceTensors(config) {
  const pattern = config.hybrid_override_pattern;
  const H = config.mamba_num_heads;
  const P = config.mamba_head_dim;
  const F = config.intermediate_size;
  const A = config.num_attention_heads;
  const D = config.hidden_size;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 10;
  const vec = (n) => Array.from({ length: n }, rnd);
  const t = new Map();
  t.set('embedding.channels', { shape: [D], data: vec(D) });
  [...pattern].forEach((k, n) => {
    if (k === 'M') {
      const act = vec(H * P);
      t.set(`layers.${n}.mamba.activations`, { shape: [H, P], data: act });
      t.set(`layers.${n}.mamba.channels`, { shape: [P], data: Array.from({ length: P }, (_, d) => Math.hypot(...Array.from({ length: H }, (_, h) => act[h * P + d]))) });
      t.set(`layers.${n}.mamba.heads`, { shape: [H], data: Array.from({ length: H }, (_, h) => Math.hypot(...act.slice(h * P, (h + 1) * P))) });
      t.set(`layers.${n}.mamba.flap`, { shape: [H], data: vec(H) });
    } else if (k === '-') {
      t.set(`layers.${n}.mlp.neurons`, { shape: [F], data: vec(F) });
      t.set(`layers.${n}.mlp.flap`, { shape: [F], data: vec(F) });
    } else if (k === '*') t.set(`layers.${n}.attention.heads`, { shape: [A], data: vec(A) });
  });
  t.set('depth.block_importance', { shape: [pattern.length], data: vec(pattern.length) });
  return t;
}
