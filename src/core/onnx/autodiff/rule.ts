// A vector-Jacobian product rule: given the gradients of a node's outputs (undefined where an output
// does not reach the loss), emit backward nodes and return one gradient per input (undefined where the
// input needs none: ctx.needs(i) is false, or the input is not differentiable such as indices/shapes).

import type { Value } from '../types';
import type { VjpContext } from './context';

export type VjpRule = (ctx: VjpContext, outputGrads: (Value | undefined)[]) => (Value | undefined)[];
