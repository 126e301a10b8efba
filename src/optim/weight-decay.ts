import { add, mul } from '../ops/arith.js';
import { leafMask, type Mask } from './masked.js';
import { type EmptyState, type GradientTransformation, requireParams, transformation } from './transformation.js';
import { checkSameStructure, mapIndexed, structure } from '../core/tree.js';

/**
 * `addDecayedWeights(wd, mask?)`: updates ↦ updates + wd·params (decoupled weight decay when
 * placed after the rescaling, as in AdamW; L2 regularisation when placed first, as PyTorch's SGD
 * `weight_decay`). With a `mask`, only the selected leaves decay. Needs `params`.
 *
 *     chain(scaleByAdam(), addDecayedWeights(1e-4, (path) => !path.endsWith('bias')), scaleByLearningRate(1e-3))
 */
export function addDecayedWeights(weightDecay: number, mask?: Mask): GradientTransformation<EmptyState> {
  if (!Number.isFinite(weightDecay)) throw new RangeError(`addDecayedWeights: weightDecay must be a finite number, got ${weightDecay}`);
  return transformation<EmptyState>(
    () => ({}),
    (u, s, params) => {
      const p = requireParams('addDecayedWeights', params);
      checkSameStructure('addDecayedWeights', [structure(p), structure(u)], ['the params', 'the updates']);
      const keep = mask === undefined ? null : leafMask('addDecayedWeights', u, mask);
      return [mapIndexed('addDecayedWeights', (i, x, w) => (keep === null || keep[i] ? add(x, mul(w, weightDecay)) : x), u, p), s];
    },
  );
}
