// Reverse-mode autodiff over the graph IR (see differentiate.ts).
export { differentiate, differentiableOps, type DifferentiateOptions, type Differentiated, type Seed } from './differentiate';
export { AutodiffError, DEFAULT_AUTODIFF_OPTIONS, type AutodiffOptions } from './context';
