// Run folders: the layout shared by the CLI and the extension.
export { STATE_DIR, Run, createRun, openRun, readRun, runsRoot, type CreateRunOptions, type RunPatch } from './run-folder';
export { METRICS_FILE, RUN_FILE, RUN_STATUSES, makeRunId, validateRunRecord, type RunError, type RunRecord, type RunStatus } from './run-record';
export { MetricsWriter, readMetrics, type MetricsChunk } from './metrics-file';
export { isInterrupted, listRuns, type ListedRun, type ListedRunStatus, type RunListing } from './list-runs';
export { isProcessAlive } from './process-alive';
export { writeFileAtomic } from './atomic-write';
