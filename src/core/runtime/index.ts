// The inference runtime: ONNX Runtime sessions for the graphs in ../model/forward-graph.ts (see README.md).
export { ForwardRunner, runForward, type ForwardRunnerOptions, type RunOptions, type RunResult } from './forward-runner';
export { createSession, providerUnavailableReason, resetDeviceChoice, DEVICES, type Device, type ExecutionProvider, type SessionOptions, type CreatedSession } from './session';
export { resolveWeightsFolder, defaultCacheRoot, type WeightsFolder, type WeightsFolderOptions } from './weights-folder';
