// Shared helpers of the pruning tests: temp folders, whole-checkpoint reads, a folder hash, and a slow
// reference slicer written element by element from the paper's index rules (independent of recipe.ts).

import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HybridModelSpec, TensorSpec } from '../../src/core/arch/spec';
import type { Checkpoint } from '../../src/core/checkpoint/checkpoint';
import type { PlanLayer, PruningPlan } from '../../src/core/prune/plan';

export function tempDir(t: { after: (fn: () => void) => void }, tag = 'prune'): string {
  const d = mkdtempSync(join(tmpdir(), `hc-${tag}-`));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export async function readAll(ckpt: Checkpoint): Promise<Map<string, Float32Array>> {
  const w = new Map<string, Float32Array>();
  for (const n of ckpt.tensors.keys()) w.set(n, await ckpt.readFloat32(n));
  return w;
}

/** sha256 over every file (name, size, bytes) under `dir`, recursively. */
export function hashDir(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else h.update(`${p}|${st.size}|${st.mtimeMs}\n`).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** W[rows][:, cols] element by element. */
function pick(w: Float32Array, shape: number[], rows: number[] | null, cols: number[] | null): Float32Array {
  const R = shape[0]!;
  const C = w.length / R;
  const rs = rows ?? Array.from({ length: R }, (_, i) => i);
  const cs = cols ?? Array.from({ length: C }, (_, i) => i);
  const out = new Float32Array(rs.length * cs.length);
  let k = 0;
  for (const r of rs) for (const c of cs) out[k++] = w[r * C + c]!;
  return out;
}

/**
 * The pruned weights a plan must produce, by name in the output (layers renumbered), computed from the
 * source weights with the index rules spelled out per tensor kind.
 */
export function referenceSlice(spec: HybridModelSpec, weights: Map<string, Float32Array>, plan: PruningPlan): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const hid = plan.hidden_size;
  const w = (t: TensorSpec) => weights.get(t.name)!;
  out.set(spec.embedding.name, pick(w(spec.embedding), spec.embedding.shape, null, hid));
  out.set(spec.normF.name, pick(w(spec.normF), spec.normF.shape, hid, null));
  if (spec.lmHead) out.set(spec.lmHead.name, pick(w(spec.lmHead), spec.lmHead.shape, null, hid));
  plan.layers.forEach((e: PlanLayer, k) => {
    const layer = spec.layers[e.source_index]!;
    const rename = (t: TensorSpec) => `${spec.prefix}layers.${k}${t.name.slice(layer.prefix.length)}`;
    for (const t of layer.tensors) {
      let rows: number[] | null = null;
      let cols: number[] | null = null;
      const leaf = t.name.split('.').slice(-2).join('.');
      if (t.role === 'norm') rows = hid;
      else if (e.kind === 'M') {
        const { numHeads: H, headDim: P, nGroups: G, stateSize: N } = spec.mamba!;
        const I = H * P;
        const inner: number[] = [];
        for (const h of e.mamba_heads) for (const p of e.mamba_head_channels) inner.push(h * P + p);
        const bc: number[] = [];
        for (let j = 0; j < 2 * G * N; j++) bc.push(2 * I + j);
        if (leaf === 'in_proj.weight' || leaf === 'in_proj.bias') {
          rows = [...inner, ...inner.map((i) => i + I), ...bc, ...e.mamba_heads.map((h) => 2 * I + 2 * G * N + h)];
          if (leaf === 'in_proj.weight') cols = hid;
        } else if (leaf === 'conv1d.weight' || leaf === 'conv1d.bias') rows = [...inner, ...bc.map((j) => j - I)];
        else if (['mixer.A_log', 'mixer.D', 'mixer.dt_bias'].includes(leaf)) rows = e.mamba_heads;
        else if (leaf === 'norm.weight') rows = inner;
        else if (leaf === 'out_proj.weight') [rows, cols] = [hid, inner];
        else if (leaf === 'out_proj.bias') rows = hid;
        else throw new Error(`no reference rule for ${t.name}`);
      } else if (e.kind === '-') {
        if (leaf === 'up_proj.weight') [rows, cols] = [e.mlp_neurons, hid];
        else if (leaf === 'up_proj.bias') rows = e.mlp_neurons;
        else if (leaf === 'down_proj.weight') [rows, cols] = [hid, e.mlp_neurons];
        else if (leaf === 'down_proj.bias') rows = hid;
        else throw new Error(`no reference rule for ${t.name}`);
      } else if (e.kind === '*') {
        const d = spec.attention!.headDim;
        const q: number[] = [];
        for (const h of e.attention_heads) for (let j = 0; j < d; j++) q.push(h * d + j);
        if (leaf === 'q_proj.weight') [rows, cols] = [q, hid];
        else if (leaf === 'q_proj.bias') rows = q;
        else if (leaf === 'k_proj.weight' || leaf === 'v_proj.weight') cols = hid;
        else if (leaf === 'k_proj.bias' || leaf === 'v_proj.bias') rows = null;
        else if (leaf === 'o_proj.weight') [rows, cols] = [hid, q];
        else if (leaf === 'o_proj.bias') rows = hid;
        else throw new Error(`no reference rule for ${t.name}`);
      }
      // conv1d.weight is [C, 1, K]: rows of K values.
      out.set(rename(t), pick(w(t), t.shape, rows, cols));
    }
  });
  return out;
}

export { maxAbsDiff } from '../reference/helpers';

/** A writable stream stand-in that collects text. */
export function collector(): { stream: NodeJS.WritableStream; text: () => string } {
  let buf = '';
  const stream = { write: (s: string | Uint8Array) => ((buf += typeof s === 'string' ? s : Buffer.from(s).toString()), true) } as unknown as NodeJS.WritableStream;
  return { stream, text: () => buf };
}
