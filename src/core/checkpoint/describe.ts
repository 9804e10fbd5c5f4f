// The inspection report: one JSON-able description of a checkpoint, shared by `hybrid-compress inspect`
// and the extension's Inspect view.

import type { Checkpoint } from './checkpoint';
import type { Component, LayerKind } from '../arch/spec';

export interface InspectReport {
  path: string;
  model_type: string;
  family: string;
  runnable: boolean;
  unsupported_reason?: string;
  pattern: string;
  num_layers: number;
  hidden_size: number;
  vocab_size: number;
  tied_embeddings: boolean;
  tensor_prefix: string;
  mamba?: { num_heads: number; head_dim: number; state_size: number; n_groups: number; conv_kernel: number; inner_size: number; time_step_limit: [number | string, number | string] };
  attention?: { num_heads: number; num_kv_heads: number; head_dim: number };
  mlp?: { intermediate_size: number; activation: string };
  moe?: { num_experts: number; experts_per_token: number; intermediate_size: number };
  params: { total: number; by_component: Record<Component, number> };
  layer_counts: Partial<Record<LayerKind, number>>;
  layers: { index: number; kind: LayerKind; params: number }[];
  dtypes: Record<string, number>;
  bytes_on_disk: number;
  files: string[];
  sharded: boolean;
  tokenizer: { found: boolean; files: string[] };
}

const finite = (x: number): number | string => (Number.isFinite(x) ? x : String(x));

export function describeCheckpoint(ckpt: Checkpoint): InspectReport {
  const s = ckpt.spec;
  const counts: Partial<Record<LayerKind, number>> = {};
  for (const c of s.pattern) counts[c as LayerKind] = (counts[c as LayerKind] ?? 0) + 1;
  return {
    path: ckpt.dir,
    model_type: s.modelType,
    family: s.family,
    runnable: s.runnable,
    unsupported_reason: s.unsupportedReason,
    pattern: s.pattern,
    num_layers: s.numLayers,
    hidden_size: s.hiddenSize,
    vocab_size: s.vocabSize,
    tied_embeddings: s.tiedEmbeddings,
    tensor_prefix: s.prefix,
    mamba: s.mamba && {
      num_heads: s.mamba.numHeads,
      head_dim: s.mamba.headDim,
      state_size: s.mamba.stateSize,
      n_groups: s.mamba.nGroups,
      conv_kernel: s.mamba.convKernel,
      inner_size: s.mamba.innerSize,
      time_step_limit: [finite(s.mamba.timeStepLimit[0]), finite(s.mamba.timeStepLimit[1])],
    },
    attention: s.attention && { num_heads: s.attention.numHeads, num_kv_heads: s.attention.numKvHeads, head_dim: s.attention.headDim },
    mlp: s.mlp && { intermediate_size: s.mlp.intermediateSize, activation: s.mlp.activation },
    moe: s.moe && { num_experts: s.moe.numExperts, experts_per_token: s.moe.expertsPerToken, intermediate_size: s.moe.intermediateSize },
    params: { total: s.params.total, by_component: s.params.byComponent },
    layer_counts: counts,
    layers: s.layers.map((l) => ({ index: l.index, kind: l.kind, params: l.params })),
    dtypes: ckpt.dtypeCounts(),
    bytes_on_disk: ckpt.bytesOnDisk,
    files: ckpt.weightFiles.map((f) => f.name),
    sharded: ckpt.sharded,
    tokenizer: { found: ckpt.tokenizerFiles.includes('tokenizer.json'), files: ckpt.tokenizerFiles },
  };
}

export const KIND_NAMES: Record<LayerKind, string> = { M: 'Mamba2', '*': 'attention', '-': 'MLP', E: 'MoE' };

/**
 * 8100852736 → "8,100,852,736". Same as toLocaleString('en-US') for integers, without its first-call
 * ICU set-up (~25 ms, an eighth of inspect's time budget).
 */
export function groupThousands(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? `-${out}` : out;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(2)} ${units[i]}`;
}

/** Human-readable table of a report. */
export function formatInspectReport(r: InspectReport): string {
  const grouped = groupThousands;
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`${k.padEnd(20)} ${v}`);
  row('model', r.path);
  row('family', `${r.model_type}${r.runnable ? '' : `  (inspection only: ${r.unsupported_reason ?? 'not executable'})`}`);
  row('layers', `${r.num_layers}  ${Object.entries(r.layer_counts).map(([k, v]) => `${v}×${KIND_NAMES[k as LayerKind]}`).join(', ')}`);
  row('pattern', r.pattern);
  row('hidden / vocab', `${r.hidden_size} / ${r.vocab_size}${r.tied_embeddings ? ' (tied head)' : ''}`);
  if (r.mamba) row('mamba', `${r.mamba.num_heads} heads × ${r.mamba.head_dim}, state ${r.mamba.state_size}, ${r.mamba.n_groups} groups, conv ${r.mamba.conv_kernel}`);
  if (r.attention) row('attention', `${r.attention.num_heads} q / ${r.attention.num_kv_heads} kv heads × ${r.attention.head_dim}`);
  if (r.mlp) row('mlp', `${r.mlp.intermediate_size} (${r.mlp.activation})`);
  if (r.moe) row('moe', `${r.moe.num_experts} experts, top-${r.moe.experts_per_token}, ${r.moe.intermediate_size}`);
  row('dtype', Object.entries(r.dtypes).map(([d, n]) => `${d} ${formatCount(n)}`).join(', '));
  row('parameters', `${grouped(r.params.total)} (${formatCount(r.params.total)})`);
  for (const [c, n] of Object.entries(r.params.by_component)) if (n > 0) row(`  ${c}`, `${grouped(n).padStart(16)}  ${((100 * n) / r.params.total).toFixed(1).padStart(5)}%`);
  row('on disk', `${formatBytes(r.bytes_on_disk)} in ${r.files.length} file${r.files.length > 1 ? 's' : ''}`);
  row('tokenizer', r.tokenizer.found ? r.tokenizer.files.join(', ') : `not found${r.tokenizer.files.length ? ` (only ${r.tokenizer.files.join(', ')})` : ''}`);
  return lines.join('\n');
}
