import type { Tensor } from '../core/tensor.js';
import type { ChainExtra } from './chain.js';
import { fromSteps, type GradientTransformation, readsHost, type StateOf, stepsOf } from './transformation.js';
import { leafAnnotations, maskLeaves, mergeMasked } from '../core/tree.js';

type AnyGT = GradientTransformation<any, any>;

/**
 * Labels of parameter leaves: a function of the leaf's path (`layers.0.weight`) and leaf, or a
 * tree with the parameters' structure holding a label string where the parameters hold a tensor
 * (or above a whole subtree, labelling every leaf below it). The function is called with the
 * parameters at `init` and with the updates at `update`: let it use the path, shape and dtype
 * only, so that both calls agree.
 */
export type Labels = ((path: string, leaf: Tensor) => string) | unknown;

const isString = (x: unknown): x is string => typeof x === 'string';

/** The label of every leaf of `params`, in flatten order. */
export const leafLabels = (op: string, params: unknown, labels: Labels): string[] => leafAnnotations(op, params, labels, isString, 'labels');

/** State of {@link partitionBy}: each label's inner state. */
export type PartitionState<R extends Readonly<Record<string, AnyGT>>> = { readonly [K in keyof R]: StateOf<R[K]> };

/**
 * Routes each parameter leaf to the transformation of its label (optax's `multi_transform` /
 * `partition`). Each inner transformation sees the parameter tree with the other labels' leaves
 * replaced by `null` (paths are kept), and owns its own state. Every label that occurs must have
 * a transformation; a transformation whose label does not occur gets an empty (all-null) tree.
 *
 *     const opt = partitionBy((path) => (path.endsWith('bias') ? 'bias' : 'weight'),
 *                             { weight: adamw(1e-3, { weightDecay: 1e-2 }), bias: adam(1e-3) });
 */
export function partitionBy<const R extends Readonly<Record<string, AnyGT>>>(
  labels: Labels,
  transforms: R,
): GradientTransformation<PartitionState<R>, ChainExtra<R[keyof R][]>> {
  const names = Object.keys(transforms);
  const keepFor = (params: unknown) => {
    const ls = leafLabels('partitionBy', params, labels);
    const unknown = [...new Set(ls.filter((l) => !(l in transforms)))];
    if (unknown.length) throw new TypeError(`partitionBy: no transformation for label(s) ${unknown.map((l) => `'${l}'`).join(', ')} (transformations: ${names.join(', ')})`);
    return Object.fromEntries(names.map((n) => [n, ls.map((l) => l === n)]));
  };
  type S = PartitionState<R>;
  return fromSteps<S, ChainExtra<R[keyof R][]>>(
    (params) => {
      const keep = keepFor(params);
      return Object.fromEntries(names.map((n) => [n, transforms[n]!.init(maskLeaves(params, keep[n]!))])) as S;
    },
    function* (updates, state, params, extra) {
      // Routing is computed on `updates` (the structure of params), so `params` stays optional.
      const keep = keepFor(updates);
      const st = state as Readonly<Record<string, unknown>>;
      let out = updates;
      const next: Record<string, unknown> = {};
      for (const n of names) {
        if (!(n in st)) throw new TypeError(`partitionBy: the state has no entry for label '${n}'`);
        const k = keep[n]!;
        const [u, s] = yield* stepsOf(transforms[n]!, maskLeaves(updates, k), st[n], params === undefined ? undefined : maskLeaves(params, k), extra);
        out = mergeMasked(`partitionBy (label '${n}')`, out, k, u);
        next[n] = s;
      }
      return [out, next as S] as const;
    },
    Object.values(transforms).some(readsHost),
  );
}
