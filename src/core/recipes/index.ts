// Launch recipes for running the distillation of big models on a cluster (Megatron-Bridge + ModelOpt).
export { loadRecipeData, validateRecipeData, type RecipeData } from './data';
export { exportConfigFromChanges, exportConfigFromConfigs, PLAN_FORMAT, type ExportConfigResult } from './export-config';
export { planMegatronRecipe, writeMegatronRecipe, mountDirs, type MegatronRecipe, type MegatronRecipeOptions, type DataSource, type RecipeFile, type ResolvedSettings } from './megatron';
export { shq } from './shell';
