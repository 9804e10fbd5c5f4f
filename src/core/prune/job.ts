// Job kinds "prune" and "search": the pipelines of src/core/prune run here, in the worker, because their
// zero-shot loss check uses the inference engine.
import type { JobHandler } from '../jobs/registry';
import { validatePruneParams, validateSearchParams } from './settings';
import { runPrune } from './prune-job';
import { runSearch } from './search-job';

export const pruneJob: JobHandler = (params, ctx) => runPrune(validatePruneParams(params), ctx);

export const searchJob: JobHandler = (params, ctx) => runSearch(validateSearchParams(params), ctx);
