export * from './types';
export { GraphBuilder, encodeValues, type Operand, type NodeOptions } from './builder';
export { matmulShape } from './dims';
export { serializeModel, decodeModel, checkGraph, toModelProto, type SerializeOptions } from './serialize';
export { producers, consumers, pruneUnused, opHistogram } from './walk';
export { OPS, type OpInfo } from './ops';
export { broadcastShapes, mulDims, divDims, numelOf, dimsEqual, isStatic, isUnknownDim } from './dims';
