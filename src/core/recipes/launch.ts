// The parent side of the Megatron-Bridge distillation recipe (`recipe megatron`, the extension's
// "Distill on cluster…"): a run folder of kind "distill-external" holding the scripts. Nothing runs here.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HybridCompressError } from '../errors';
import { launch } from '../jobs/launcher';
import type { Run } from '../runs/index';
import { loadRecipeData } from './data';
import { planMegatronRecipe, writeMegatronRecipe, type MegatronRecipe, type MegatronRecipeOptions } from './megatron';

export interface RecipeLaunch {
  run: Run;
  recipe: MegatronRecipe;
  /** Absolute paths of the files written. */
  files: string[];
}

/**
 * Writes the Megatron-Bridge distillation recipe into a run folder of kind "distill-external" at `o.out`.
 * Every input is checked first (planMegatronRecipe), so a wrong one creates nothing; an existing recipe
 * there is only replaced with `force`. The run is "done" once the files are written: nothing is started,
 * the user launches the scripts on the cluster. Result: where Megatron will write (output_dir, for the
 * curve view), the files and the run's size (GPUs, parallelism, tokens).
 */
export async function launchMegatronRecipe(workspace: string, o: MegatronRecipeOptions, opts: { force?: boolean; recipeData?: string } = {}): Promise<RecipeLaunch> {
  const recipe = planMegatronRecipe(o, loadRecipeData(opts.recipeData));
  const dir = resolve(o.out);
  const clash = recipe.files.filter((f) => existsSync(join(dir, f.name))).map((f) => f.name);
  if (clash.length > 0 && !opts.force) {
    throw new HybridCompressError('OPTION_INVALID', `${dir} already has ${clash.join(', ')}; set "force": true (--force) to overwrite, or choose another folder`, { option: 'out', file: dir });
  }
  const s = recipe.settings;
  const inputs = { teacher: recipe.teacher.path, student: recipe.student.path, data: o.mockData ? 'mock' : o.data.map((d) => ({ ...d })) };
  const { run, result: files } = await launch(workspace, { kind: 'distill-external', dir, inputs, settings: { ...s } }, async () => writeMegatronRecipe(dir, recipe, { force: true }), {
    sources: [recipe.teacher.hubId ? undefined : recipe.teacher.path, recipe.student.path],
    figures: () => ({ result: figures(recipe) }),
  });
  return { run, recipe, files };
}

/** What run.json records of a recipe: where Megatron will write (output_dir, for the curve view), the files and the run's size. */
function figures(recipe: MegatronRecipe): Record<string, unknown> {
  const s = recipe.settings;
  return {
    output_dir: s.outputDir,
    files: recipe.files.map((f) => f.name),
    nodes: s.nodes,
    gpus_per_node: s.gpusPerNode,
    world_size: s.worldSize,
    tp: s.tp,
    pp: s.pp,
    dp: s.dp,
    steps: s.steps,
    total_tokens: s.totalTokens,
    export_config: recipe.exportConfig?.exportConfig ?? null,
    warnings: recipe.warnings,
  };
}
