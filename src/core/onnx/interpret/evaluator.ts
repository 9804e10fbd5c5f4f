// The evaluator contract: one pure function per op, inputs in node order ('' inputs are undefined).

import type { Node } from '../types';
import type { Tensor } from './tensor';

export type Evaluator = (inputs: (Tensor | undefined)[], node: Node) => Tensor[];
