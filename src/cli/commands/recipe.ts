// `hybrid-compress recipe megatron`: a Megatron-Bridge launch recipe (torchrun + sbatch scripts, ModelOpt
// export_config) in a run folder of kind "distill-external". Nothing is run.

import type { Command } from '../command';
import { HybridCompressError } from '../../core/errors';
import { launchMegatronRecipe } from '../../core/recipes/launch';
import { RECIPE_SCHEMA, recipeOptionsFrom } from '../../core/recipes/settings';
import { parseArgv, usageOf } from '../../core/util/option-schema';

export const recipeCommand: Command = {
  name: 'recipe',
  usage: usageOf(RECIPE_SCHEMA),
  schema: RECIPE_SCHEMA,
  async run(ctx) {
    const [kind, ...argv] = ctx.argv;
    if (kind !== 'megatron') throw new HybridCompressError('OPTION_INVALID', `unknown recipe kind ${JSON.stringify(kind ?? '')} (valid: megatron)\nusage: ${usageOf(RECIPE_SCHEMA)}`);
    const values = parseArgv(RECIPE_SCHEMA, argv, ctx.cwd);
    const { recipe, files: written, run } = await launchMegatronRecipe(ctx.cwd, recipeOptionsFrom(values, ctx.cwd), { force: values['force'] === true, recipeData: values['recipeData'] as string | undefined });
    const out = run.dir;
    if (values['json']) {
      ctx.stdout.write(JSON.stringify({ out, files: written, settings: recipe.settings, export_config: recipe.exportConfig ?? null, warnings: recipe.warnings }) + '\n');
    } else {
      const s = recipe.settings;
      ctx.stdout.write(`recipe written to ${out}\n`);
      for (const f of written) ctx.stdout.write(`  ${f}\n`);
      ctx.stdout.write(`${s.nodes}×${s.gpusPerNode} GPUs (TP ${s.tp}, PP ${s.pp}, DP ${s.dp}); ${s.steps} steps × ${s.globalBatch} × ${s.seqLen} = ${(s.totalTokens / 1e9).toFixed(3)}B tokens\n`);
      if (recipe.exportConfig) ctx.stdout.write(`ModelOpt export_config (${recipe.exportConfig.source}): ${JSON.stringify(recipe.exportConfig.exportConfig)}\n`);
      ctx.stdout.write('Nothing has been run: review the scripts, then start distill_torchrun.sh or sbatch distill_slurm.sbatch.\n');
      for (const w of recipe.warnings) ctx.stderr.write(`warning: ${w}\n`);
      for (const n of recipe.exportConfig?.notes ?? []) ctx.stderr.write(`note: ${n}\n`);
    }
    return 0;
  },
};
