import type { Tensor } from '../core/tensor.js';
import { fromSteps, type GradientTransformation, readsHost, stepsOf } from './transformation.js';
import { leafAnnotations, maskLeaves, mergeMasked } from '../core/tree.js';

/**
 * Which leaves a transformation applies to: a function `(path, leaf) → boolean` (called with the
 * parameters at `init`, with the updates at `update`: use the path, shape and dtype only), or a
 * tree with the parameters' structure holding booleans (a boolean above a subtree covers it).
 */
export type Mask = ((path: string, leaf: Tensor) => boolean) | unknown;

const isBool = (x: unknown): x is boolean => typeof x === 'boolean';

/** The mask flag of every leaf of `tree`, in flatten order. */
export const leafMask = (op: string, tree: unknown, mask: Mask): boolean[] => leafAnnotations(op, tree, mask, isBool, 'mask');

/** State of {@link masked}: the inner state, over the selected leaves only. */
export interface MaskedState<S> {
  readonly inner: S;
}

/**
 * `masked(t, mask)` applies `t` to the leaves where `mask` is true and passes the others through
 * unchanged (optax's `masked`). The inner transformation sees the tree with the unselected leaves
 * replaced by `null`, so its state only covers the selected ones.
 *
 *     // weight decay on matrices only
 *     masked(addDecayedWeights(1e-4), (path, x) => x.rank >= 2)
 */
export function masked<S, E>(t: GradientTransformation<S, E>, mask: Mask): GradientTransformation<MaskedState<S>, E> {
  return fromSteps<MaskedState<S>, E>(
    (params) => ({ inner: t.init(maskLeaves(params, leafMask('masked', params, mask))) }),
    function* (updates, state, params, extra) {
      const keep = leafMask('masked', updates, mask);
      const [u, inner] = yield* stepsOf(t, maskLeaves(updates, keep), state.inner, params === undefined ? undefined : maskLeaves(params, keep), extra);
      return [mergeMasked('masked', updates, keep, u), { inner }] as const;
    },
    readsHost(t),
  );
}
