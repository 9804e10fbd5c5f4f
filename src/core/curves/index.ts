// Training-curve readers: one MetricPoint shape for local runs, Megatron logs and TensorBoard
// event files, incremental parsers (feed bytes as a file grows) and a polling follower.

export { makePoint, seriesNames, seriesValues, type MetricPoint } from '../runs/metric-point';
export { WarningTally, type CurveWarning, type CurveWarningKind, type WarningSink } from './warnings';
export { LineSplitter } from './lines';
export { MegatronLogParser, parseMegatronLine, megatronLineToPoint, snakeName, type MegatronLine, type MegatronParserOptions } from './megatron-log';
export { MetricsJsonlParser } from './metrics-jsonl';
export { crc32c, maskCrc32c, unmaskCrc32c, maskedCrc32c } from './crc32c';
export { TfRecordReader, MAX_RECORD_BYTES, type TfRecordStats } from './tfrecord';
export { decodeEvent, ScalarExtractor, DT, type DecodedEvent, type DecodedValue, type DecodedTensor } from './tf-event';
export { TfEventsParser, isEventFileName, type TfEventsParserOptions } from './tfevents';
export { FileTail, followFile, followFiles, findFiles, pause, type TailChunk, type FollowOptions } from './follow';
export { detectCurveSource, detectFileKind, streamCurves, readCurves, type CurveSource, type CurveSourceKind, type CurveUpdate, type StreamCurvesOptions } from './source';
