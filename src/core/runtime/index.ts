// The inference runtime: ONNX Runtime sessions for the graphs in ../model/forward-graph.ts (see README.md).
export { ForwardRunner, runForward, type ForwardRunnerOptions, type RunOptions, type RunResult } from './forward-runner';
export { createSession, providerUnavailableReason, resetDeviceChoice, DEVICES, type Device, type ExecutionProvider, type SessionOptions, type CreatedSession } from './session';
export { resolveWeightsFolder, defaultCacheRoot, type WeightsFolder, type WeightsFolderOptions } from './weights-folder';
export { StreamedModel, localLabels, type StreamedModelOptions, type LayerOutputs, type PassStep, type LayerStep, type HeadStep } from './streamed-model';
export { chooseExecution, wholeModelBytes, streamedBytes, stateBudgetBytes, EXECUTION_MODES, type ExecutionMode, type ExecutionChoice } from './execution-plan';
