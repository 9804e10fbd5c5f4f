// The choices "Distill on cluster…" offers before it writes a Megatron-Bridge recipe: which parallel
// layouts are legal for the teacher and student, defaults from the recipe data file, and the parsing
// of what the user types. Megatron's rules (TP divides every head count and stays inside a node,
// TP×PP divides the world size, the global batch is a multiple of micro batch × DP) are checked again
// by planMegatronRecipe; offering only legal values here saves the user a failed task. No vscode import.

import type { HybridModelSpec } from '../../core/arch/spec';
import type { RecipeData } from '../../core/recipes/data';

/** The counts tensor parallelism splits, for the layer kinds the model has. */
function splitCounts(spec: HybridModelSpec): number[] {
  const has = (k: string) => spec.pattern.includes(k);
  const out: (number | undefined)[] = [];
  if (has('*')) out.push(spec.attention?.numHeads, spec.attention?.numKvHeads);
  if (has('M')) out.push(spec.mamba?.numHeads, spec.mamba?.nGroups);
  if (has('-')) out.push(spec.mlp?.intermediateSize);
  return out.filter((x): x is number => x !== undefined);
}

/** TP sizes that divide the GPUs of a node and every head count of every model. */
export function tensorParallelChoices(specs: HybridModelSpec[], gpusPerNode: number): number[] {
  const counts = specs.flatMap(splitCounts);
  const out: number[] = [];
  for (let tp = 1; tp <= gpusPerNode; tp++) if (gpusPerNode % tp === 0 && counts.every((c) => c % tp === 0)) out.push(tp);
  return out;
}

/** PP sizes with TP×PP dividing the world size and no more stages than the shallowest model has layers. */
export function pipelineParallelChoices(worldSize: number, tp: number, specs: HybridModelSpec[]): number[] {
  const maxLayers = Math.min(...specs.map((s) => s.numLayers));
  const out: number[] = [];
  for (let pp = 1; pp <= maxLayers && tp * pp <= worldSize; pp++) if (worldSize % (tp * pp) === 0) out.push(pp);
  return out;
}

/** "2x8", "2×8", "2 * 8" or "8" (one node) → nodes and GPUs per node; a string says what is wrong. */
export function parseLayout(text: string): { nodes: number; gpusPerNode: number } | string {
  const t = text.trim();
  const m = /^(\d+)\s*[x×*]\s*(\d+)$/i.exec(t) ?? /^()(\d+)$/.exec(t);
  if (!m) return 'write nodes × GPUs per node, e.g. 1x8 or 4x8';
  const nodes = m[1] === '' ? 1 : Number(m[1]);
  const gpusPerNode = Number(m[2]);
  if (!(nodes >= 1) || !(gpusPerNode >= 1)) return 'nodes and GPUs per node must both be at least 1';
  return { nodes, gpusPerNode };
}

/** Defaults the prompts start from: the recipe data file's (ModelOpt distill.py's) values. */
export function recipeDefaults(data: RecipeData): { tp: number; pp: number; globalBatch: number; microBatch: number; seqLen: number; warmup: number } {
  const d = data.distill.defaults;
  return { tp: d.tp, pp: d.pp, globalBatch: d.global_batch, microBatch: d.micro_batch, seqLen: d.seq_length, warmup: d.warmup };
}

/** The global batch itself when legal for this layout, else the nearest legal one (a multiple of micro batch × DP). */
export function legalGlobalBatch(globalBatch: number, microBatch: number, dp: number): number {
  const unit = microBatch * dp;
  return Math.max(unit, Math.round(globalBatch / unit) * unit);
}

/** Problem with a typed step count, or undefined: a whole number past the LR warm-up. */
export function checkSteps(text: string, warmup: number): string | undefined {
  if (!/^\d+$/.test(text.trim())) return 'a whole number of training iterations';
  return Number(text) > warmup ? undefined : `more than the ${warmup} warm-up steps (recipe data file default)`;
}

/** "25,000 steps × 768 × 4096 = 78.6B tokens" */
export function describeTokens(steps: number, globalBatch: number, seqLen: number): string {
  const tokens = steps * globalBatch * seqLen;
  const h = tokens >= 1e12 ? `${(tokens / 1e12).toFixed(2)}T` : tokens >= 1e9 ? `${(tokens / 1e9).toFixed(1)}B` : tokens >= 1e6 ? `${(tokens / 1e6).toFixed(1)}M` : String(tokens);
  return `${steps.toLocaleString('en-US')} steps × ${globalBatch} × ${seqLen} = ${h} tokens`;
}

/** Raw text is not a Megatron dataset: say so while the user types (planMegatronRecipe refuses it too). */
export function checkDataPrefixes(text: string): string | undefined {
  const items = text.split(',').map((x) => x.trim()).filter(Boolean);
  if (items.length === 0) return 'at least one dataset prefix (the path without .bin/.idx)';
  for (const item of items) {
    const prefix = item.replace(/^[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?:/, '');
    if (/\.(jsonl?|parquet|txt|arrow)$/i.test(prefix)) return `${prefix} is raw text; Megatron needs a tokenized indexed dataset (<prefix>.bin + <prefix>.idx)`;
    if (prefix === '') return `${item} has no prefix after the weight`;
  }
  return undefined;
}
