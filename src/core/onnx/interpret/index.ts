// Float64 reference interpreter of the graph IR (tests and gradient checks only).
export { Interpreter, interpret, interpretedOps, type InterpreterOptions } from './interpreter';
export { makeTensor, numelOf, toFloat64, type Tensor } from './tensor';
export { matmul } from './ops-linalg';
