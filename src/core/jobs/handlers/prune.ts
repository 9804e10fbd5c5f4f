// Job kinds "prune" and "search": the pipelines of src/core/prune run here, in the worker, because their
// zero-shot loss check uses the inference engine.
import type { JobHandler } from '../registry';
import { validatePruneParams, validateSearchParams } from '../../prune/job-params';
import { runPrune } from '../../prune/prune-job';
import { runSearch } from '../../prune/search-job';

export const pruneJob: JobHandler = (params, ctx) => runPrune(validatePruneParams(params), ctx);

export const searchJob: JobHandler = (params, ctx) => runSearch(validateSearchParams(params), ctx);
