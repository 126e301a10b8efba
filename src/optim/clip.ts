import { add, astype, div, maximum, mul, sqrt } from '../ops/arith.js';
import { sum } from '../ops/reduce.js';
import { full } from '../ops/create.js';
import type { Tensor } from '../core/tensor.js';
import { type EmptyState, type GradientTransformation, transformation } from './transformation.js';
import { leaves, map } from '../core/tree.js';

/**
 * The global Euclidean norm √(Σ_leaves Σ x²) of a tree, as a float64 scalar tensor (each leaf's
 * sum of squares is taken in its dtype, then accumulated in float64).
 *
 *     globalNorm({ a: tensor([3], 'float64'), b: tensor([4], 'float64') }).item() // 5
 */
export function globalNorm(tree: unknown): Tensor<'float64'> {
  const squares = leaves(tree).map((x) => astype(sum(mul(x, x)), 'float64'));
  return sqrt(squares.reduce((a, b) => add(a, b), full([], 0, 'float64')));
}

/**
 * `clipByGlobalNorm(maxNorm)`: when the global norm ‖u‖ of the updates exceeds `maxNorm`, scales
 * every leaf by maxNorm / ‖u‖ (so the result has norm `maxNorm`); otherwise leaves them alone.
 * Written with ops (factor = maxNorm / max(‖u‖, maxNorm)), so it can be traced.
 *
 *     chain(clipByGlobalNorm(1), scaleByAdam(), scaleByLearningRate(1e-3))
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<EmptyState> {
  if (!(maxNorm > 0 && Number.isFinite(maxNorm))) throw new RangeError(`clipByGlobalNorm: maxNorm must be a finite number > 0, got ${maxNorm}`);
  return transformation<EmptyState>(
    () => ({}),
    (u, s) => {
      const factor = div(maxNorm, maximum(globalNorm(u), maxNorm));
      return [map('clipByGlobalNorm', (x) => mul(x, astype(factor, x.dtype)), u), s];
    },
  );
}
