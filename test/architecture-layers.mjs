// The layering of src/core, lowest first: a module may import its own area and the areas before it,
// never one after it (checked by test/architecture.test.ts, reported by scripts/architecture-report.mjs).
// jobs (the worker process, its protocol and the launcher) sits low: every stage launches through it and
// owns its own job.ts/launch.ts; pipeline registers the stages' jobs for the worker and chains the stages.
export const CORE_LAYERS = [
  'errors', 'util', 'runs', 'jobs', 'safetensors', 'arch', 'checkpoint', 'onnx', 'model', 'runtime', 'data', 'tokenizer-train',
  'eval', 'calibrate', 'distill', 'prune', 'recipes', 'curves', 'demo', 'pipeline', 'testing',
];

/** The src/core area of a repo-relative path (src/core/<area>/… or src/core/<area>.ts), else undefined. */
export function coreArea(rel) {
  const m = /^src\/core\/([^/]+?)(?:\.ts)?(?:\/|$)/.exec(rel);
  return m ? m[1] : undefined;
}
