// The production job kinds. Each stage owns its handler in src/core/<stage>/job.ts (exporting a
// JobHandler) and adds one line below, e.g. `registry.register('eval', evalJob);`.
// Only the worker imports this file: handlers may import onnxruntime-node, which must never be
// loaded by the CLI's or extension host's own process.

import type { JobRegistry } from '../jobs/registry';
import { pruneJob, searchJob } from '../prune/job';
import { calibrateJob } from '../calibrate/job';
import { evalJob, generateJob } from '../eval/job';
import { trainJob } from '../distill/job';

export function registerJobs(registry: JobRegistry): void {
  registry.register('prune', pruneJob);
  registry.register('search', searchJob);
  registry.register('calibrate', calibrateJob);
  registry.register('eval', evalJob);
  registry.register('generate', generateJob);
  registry.register('train', trainJob);
}
