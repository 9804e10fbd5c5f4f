// Validation of a pruning plan against its source model: used for plans read from a file (`prune --plan`),
// and as a last guard before applying any plan. Every problem names the plan field and what is valid.

import { HybridCompressError } from '../errors';
import type { HybridModelSpec } from '../arch/spec';
import { parseJson } from '../util/json';
import { configChanges } from './config';
import { planDims, PLAN_FORMAT, type PlanLayer, type PruningPlan } from './plan';

function fail(where: string, message: string, file?: string): never {
  throw new HybridCompressError('DATA_INVALID', `${file ? `${file}: ` : ''}pruning plan ${where} ${message}`, { file, rule: 'plan' });
}

function checkIndices(where: string, list: unknown, size: number, file?: string): number[] {
  if (!Array.isArray(list)) fail(where, 'must be a list of indices', file);
  if (list.length === 0) fail(where, 'must keep at least one index', file);
  const seen = new Set<number>();
  for (const v of list) {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= size) fail(where, `contains ${JSON.stringify(v)}; indices run from 0 to ${size - 1}`, file);
    if (seen.has(v as number)) fail(where, `lists ${v} twice`, file);
    seen.add(v as number);
  }
  return list as number[];
}

function sameWidth(where: string, widths: number[], file?: string): void {
  if (new Set(widths).size > 1) fail(where, `must keep the same count in every layer (found ${[...new Set(widths)].join(', ')}); config.json holds one width per axis`, file);
}

/** Throws a DATA_INVALID error on the first inconsistency between `plan` and the model. */
export function checkPlan(spec: HybridModelSpec, plan: PruningPlan, file?: string): void {
  if (plan.format !== PLAN_FORMAT) fail('"format"', `is ${JSON.stringify(plan.format)}; expected "${PLAN_FORMAT}"`, file);
  checkIndices('"hidden_size"', plan.hidden_size, spec.hiddenSize, file);
  if (!Array.isArray(plan.layers) || plan.layers.length === 0) fail('"layers"', 'must list at least one surviving layer', file);
  let prev = -1;
  const mHeads: number[] = [];
  const mChans: number[] = [];
  const ffn: number[] = [];
  const att: number[] = [];
  for (const [i, l] of plan.layers.entries()) {
    const where = `"layers"[${i}]`;
    const n = (l as { source_index?: unknown }).source_index;
    if (!Number.isInteger(n) || (n as number) <= prev || (n as number) >= spec.numLayers) {
      fail(where, `has source_index ${JSON.stringify(n)}; surviving layers must be listed once each, ascending, from 0 to ${spec.numLayers - 1}`, file);
    }
    prev = n as number;
    const kind = spec.pattern[prev];
    if (l.kind !== kind) fail(where, `has kind ${JSON.stringify(l.kind)} but source layer ${prev} is "${kind}"`, file);
    const e = l as PlanLayer;
    if (e.kind === 'M') {
      const m = spec.mamba!;
      const h = checkIndices(`${where}.mamba_heads`, e.mamba_heads, m.numHeads, file);
      checkIndices(`${where}.mamba_head_channels`, e.mamba_head_channels, m.headDim, file);
      if (h.length % m.nGroups !== 0) fail(`${where}.mamba_heads`, `keeps ${h.length} heads; must be a multiple of n_groups=${m.nGroups}`, file);
      mHeads.push(h.length);
      mChans.push(e.mamba_head_channels.length);
    } else if (e.kind === '-') ffn.push(checkIndices(`${where}.mlp_neurons`, e.mlp_neurons, spec.mlp!.intermediateSize, file).length);
    else if (e.kind === '*') {
      const a = spec.attention!;
      const h = checkIndices(`${where}.attention_heads`, e.attention_heads, a.numHeads, file);
      if (h.length % a.numKvHeads !== 0) fail(`${where}.attention_heads`, `keeps ${h.length} heads; must be a multiple of num_key_value_heads=${a.numKvHeads}`, file);
      att.push(h.length);
    }
  }
  sameWidth('"mamba_heads"', mHeads, file);
  sameWidth('"mamba_head_channels"', mChans, file);
  sameWidth('"mlp_neurons"', ffn, file);
  sameWidth('"attention_heads"', att, file);
  if (spec.pattern.includes('E') && plan.hidden_size.length !== spec.hiddenSize) fail('"hidden_size"', 'must keep every channel of a model with MoE (E) layers', file);
  const kept = new Set(plan.layers.map((l) => l.source_index));
  const dropped = Array.from({ length: spec.numLayers }, (_, i) => i).filter((i) => !kept.has(i));
  if (JSON.stringify(dropped) !== JSON.stringify(plan.dropped_layers)) fail('"dropped_layers"', `is ${JSON.stringify(plan.dropped_layers)} but the layers list implies ${JSON.stringify(dropped)}`, file);
  const changes = configChanges(spec, planDims(spec, plan));
  if (JSON.stringify(changes) !== JSON.stringify(plan.config_changes)) {
    fail('"config_changes"', `is ${JSON.stringify(plan.config_changes)} but the kept indices imply ${JSON.stringify(changes)}`, file);
  }
}

/** Parses pruning_plan.json text (structure only; checkPlan validates it against a model). */
export function parsePlan(text: string, file?: string): PruningPlan {
  let v: unknown;
  try {
    v = parseJson(text);
  } catch (e) {
    fail('', `is not valid JSON (${(e as Error).message})`, file);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail('', 'must be a JSON object', file);
  const o = v as Record<string, unknown>;
  for (const k of ['format', 'source', 'hidden_size', 'layers', 'dropped_layers', 'config_changes']) if (!(k in o)) fail(`"${k}"`, 'is missing', file);
  if (typeof o['source'] !== 'string') fail('"source"', 'must be the source fingerprint string', file);
  if (!o['config_changes'] || typeof o['config_changes'] !== 'object') fail('"config_changes"', 'must be an object', file);
  // parseJson builds null-prototype objects; normalise so JSON comparisons and spreads behave.
  return JSON.parse(JSON.stringify(o)) as PruningPlan;
}
