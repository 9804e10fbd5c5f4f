// The job system's parent-side API (CLI and extension). Deliberately excludes handlers/ and
// worker.ts: importing them would load onnxruntime-node into the host.
export { runJob, type JobLogEntry, type RunJobOptions } from './client';
export { JobError } from './job-error';
export { defaultWorkerPath } from './worker-process';
export {
  PROTOCOL_VERSION,
  ProtocolError,
  parseParentMessage,
  parseWorkerMessage,
  type LogLevel,
  type MetricPoint,
  type ParentMessage,
  type ProgressInfo,
  type WorkerMessage,
} from './protocol';
export { ProgressMeter, type ProgressMeterOptions } from './progress-meter';
export type { JobContext, JobHandler, JobRegistry, RegisterJobs } from './registry';
