// What each output tensor is made of: the source tensor, the kept rows (first dimension) and kept columns
// (last dimension of a matrix), and its new name (layers renumbered after depth pruning). Pure index
// bookkeeping from the plan; apply.ts streams the bytes.
//
// Mamba layer with kept heads Hk, kept head channels Pk, I_k = {h·P + p} (paper §2.3):
//   in_proj rows  z[I_k] | x[I + I_k] | all of B and C | dt[Hk];  columns: kept hidden channels
//   conv1d        x channels I_k | all B/C channels (weight [C,1,K] rows, bias [C])
//   A_log, D, dt_bias [Hk];  gated norm weight [I_k];  out_proj rows: hidden, columns: I_k
// MLP: up rows / down columns by kept neurons. Attention: q rows / o columns by kept query heads
// (k/v untouched: KV groups are kept). Hidden channels: embedding, lm_head and o/out/down rows' partner
// axes, every norm weight, norm_f.

import { HybridCompressError } from '../errors';
import { allTensorSpecs, type HybridModelSpec, type TensorSpec } from '../arch/spec';
import type { PlanLayer, PruningPlan } from './plan';

export interface SliceRecipe {
  /** Name in the output checkpoint. */
  name: string;
  /** Name in the source checkpoint. */
  source: string;
  /** Kept indices of the first dimension (null: all). */
  rows: Int32Array | null;
  /** Kept indices of the last dimension of a 2-D tensor (null: all). */
  cols: Int32Array | null;
  /** Output shape. */
  shape: number[];
}

const all = null;

function ints(list: readonly number[]): Int32Array {
  return Int32Array.from(list);
}

function seq(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

/** {u·size + v : u ∈ outer, v ∈ inner}, in that nesting order. */
export function expandIndices(outer: readonly number[], size: number, inner: readonly number[]): number[] {
  const out: number[] = new Array(outer.length * inner.length);
  let k = 0;
  for (const u of outer) for (const v of inner) out[k++] = u * size + v;
  return out;
}

/** The output shape of `shape` with the given row/column selection. */
export function slicedShape(shape: readonly number[], rows: Int32Array | null, cols: Int32Array | null): number[] {
  const out = [...shape];
  if (rows) out[0] = rows.length;
  if (cols) out[out.length - 1] = cols.length;
  return out;
}

/** Row/column selection of one tensor of the source spec. */
function selection(spec: HybridModelSpec, t: TensorSpec, entry: PlanLayer | undefined, hidden: Int32Array | null): { rows: Int32Array | null; cols: Int32Array | null } {
  switch (t.role) {
    case 'embedding':
    case 'lm_head':
      return { rows: all, cols: hidden };
    case 'norm':
    case 'norm_f':
    case 'out_proj_bias':
    case 'down_proj_bias':
      return { rows: hidden, cols: all };
    default:
      break;
  }
  if (!entry) throw new Error(`tensor ${t.name}: no plan entry for its layer`);
  if (entry.kind === 'M') {
    const m = spec.mamba!;
    const { innerSize: I, headDim: P, nGroups: G, stateSize: N } = m;
    const Ik = expandIndices(entry.mamba_heads, P, entry.mamba_head_channels);
    const bc = seq(2 * I, 2 * G * N);
    switch (t.role) {
      case 'in_proj':
      case 'in_proj_bias': {
        const rows = ints([...Ik, ...Ik.map((i) => I + i), ...bc, ...entry.mamba_heads.map((h) => 2 * I + 2 * G * N + h)]);
        return { rows, cols: t.role === 'in_proj' ? hidden : all };
      }
      case 'conv_weight':
      case 'conv_bias':
        return { rows: ints([...Ik, ...seq(I, 2 * G * N)]), cols: all };
      case 'A_log':
      case 'D':
      case 'dt_bias':
        return { rows: ints(entry.mamba_heads), cols: all };
      case 'mixer_norm':
        return { rows: ints(Ik), cols: all };
      case 'out_proj':
        return { rows: hidden, cols: ints(Ik) };
      default:
        break;
    }
  } else if (entry.kind === '-') {
    const neurons = ints(entry.mlp_neurons);
    switch (t.role) {
      case 'up_proj':
        return { rows: neurons, cols: hidden };
      case 'up_proj_bias':
        return { rows: neurons, cols: all };
      case 'down_proj':
        return { rows: hidden, cols: neurons };
      default:
        break;
    }
  } else if (entry.kind === '*') {
    const d = spec.attention!.headDim;
    const q = ints(expandIndices(entry.attention_heads, d, seq(0, d)));
    const leaf = t.name.slice(t.name.lastIndexOf('.mixer.') + '.mixer.'.length);
    switch (leaf) {
      case 'q_proj.weight':
        return { rows: q, cols: hidden };
      case 'q_proj.bias':
        return { rows: q, cols: all };
      case 'k_proj.weight':
      case 'v_proj.weight':
        return { rows: all, cols: hidden };
      case 'k_proj.bias':
      case 'v_proj.bias':
        return { rows: all, cols: all };
      case 'o_proj.weight':
        return { rows: hidden, cols: q };
      case 'o_proj.bias':
        return { rows: hidden, cols: all };
      default:
        break;
    }
  } else if (entry.kind === 'E') {
    return { rows: all, cols: all }; // hidden_size is unchanged for MoE models (checked with the targets)
  }
  throw new HybridCompressError('UNSUPPORTED_ARCHITECTURE', `tensor "${t.name}" (role ${t.role}) of a ${entry.kind} layer has no pruning rule`, { tensor: t.name });
}

/** Every output tensor's recipe, in model order. */
export function sliceRecipes(spec: HybridModelSpec, plan: PruningPlan): SliceRecipe[] {
  const D = spec.hiddenSize;
  const hiddenIdentity = plan.hidden_size.length === D && plan.hidden_size.every((c, i) => c === i);
  const hidden = hiddenIdentity ? null : ints(plan.hidden_size);
  const out: SliceRecipe[] = [];
  const push = (t: TensorSpec, name: string, entry?: PlanLayer) => {
    const sel = selection(spec, t, entry, hidden);
    // An identity selection is a plain copy: drop it so the copy path is taken.
    const rows = sel.rows && !(sel.rows.length === t.shape[0] && sel.rows.every((r, i) => r === i)) ? sel.rows : null;
    const last = t.shape[t.shape.length - 1]!;
    const cols = sel.cols && !(sel.cols.length === last && sel.cols.every((c, i) => c === i)) ? sel.cols : null;
    out.push({ name, source: t.name, rows, cols, shape: slicedShape(t.shape, rows, cols) });
  };
  push(spec.embedding, spec.embedding.name);
  plan.layers.forEach((entry, newIndex) => {
    const layer = spec.layers[entry.source_index]!;
    const newPrefix = `${spec.prefix}layers.${newIndex}`;
    for (const t of layer.tensors) push(t, newPrefix + t.name.slice(layer.prefix.length), entry);
  });
  push(spec.normF, spec.normF.name);
  if (spec.lmHead) push(spec.lmHead, spec.lmHead.name);
  return out;
}

/** Source tensors the spec does not describe (MTP heads, rotary buffers): not carried over. */
export function untrackedTensors(spec: HybridModelSpec, names: Iterable<string>): string[] {
  const known = new Set(allTensorSpecs(spec).map((t) => t.name));
  return [...names].filter((n) => !known.has(n));
}
