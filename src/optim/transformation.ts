import { DTypeError, ShapeError } from '../core/errors.js';
import { shapeEq, showShape } from '../core/shape.js';
import { add } from '../ops/arith.js';
import { checkSameStructure, treeMap } from './tree-util.js';

/**
 * A gradient transformation (optax's central abstraction): a pure pair
 *
 *     init(params)                          → state
 *     update(updates, state, params?, extra?) → [updates', state']
 *
 * over trees of tensors. Nothing is mutated: the caller threads the state. `S` is the explicit
 * state record; `E` the typed extra argument some transformations need (a reported loss for
 * `reduceOnPlateau`, a batch for the lead's `newtonSummary`).
 *
 *     const opt = chain(clipByGlobalNorm(1), scaleByAdam(), scaleByLearningRate(1e-3));
 *     let state = opt.init(params);
 *     const [updates, next] = opt.update(grads, state, params);
 *     params = applyUpdates(params, updates);
 */
export interface GradientTransformation<S = unknown, E = unknown> {
  /** The initial state for parameters `params` (only their structure, shapes and dtypes matter to most). */
  readonly init: (params: unknown) => S;
  /** The transformed updates (same structure as `updates`) and the next state. */
  readonly update: <T>(updates: T, state: S, params?: unknown, extra?: E) => readonly [T, S];
  /**
   * The same update for tensors that can only be read asynchronously (WebGPU): present on
   * transformations that read tensor values on the host (`newtonSummary` reads its S×S summary)
   * and on chains of them. Call it through {@link updateAsync}, which falls back to `update`.
   */
  readonly updateAsync?: <T>(updates: T, state: S, params?: unknown, extra?: E) => Promise<readonly [T, S]>;
}

/**
 * `tx`'s update, awaiting device reads where `tx` needs host values (its `updateAsync`), else its
 * plain `update`. The way to step an optimizer whose parameters live on WebGPU:
 *
 *     const [updates, next] = await updateAsync(opt, g, state, params, extra);
 */
export async function updateAsync<T, S, E>(tx: GradientTransformation<S, E>, updates: T, state: S, params?: unknown, extra?: E): Promise<readonly [T, S]> {
  return tx.updateAsync ? tx.updateAsync(updates, state, params, extra) : tx.update(updates, state, params, extra);
}

/** The state type of a transformation. */
export type StateOf<T> = T extends GradientTransformation<infer S, any> ? S : never;
/** The extra-argument type of a transformation. */
export type ExtraOf<T> = T extends GradientTransformation<any, infer E> ? E : never;

/** Internal: a transformation from its two functions, with the update's tree type restored. */
export function transformation<S, E = unknown>(
  init: (params: unknown) => S,
  update: (updates: unknown, state: S, params: unknown, extra: E | undefined) => readonly [unknown, S],
  /** The asynchronous update, for transformations that read tensor values (see `updateAsync`). */
  asyncUpdate?: (updates: unknown, state: S, params: unknown, extra: E | undefined) => Promise<readonly [unknown, S]>,
): GradientTransformation<S, E> {
  return {
    init,
    update: <T>(updates: T, state: S, params?: unknown, extra?: E) => update(updates, state, params, extra) as readonly [T, S],
    ...(asyncUpdate && {
      updateAsync: <T>(updates: T, state: S, params?: unknown, extra?: E) => asyncUpdate(updates, state, params, extra) as Promise<readonly [T, S]>,
    }),
  };
}

/** State of stateless transformations. */
export type EmptyState = Readonly<Record<string, never>>;
const EMPTY: EmptyState = Object.freeze({});

/**
 * The transformation that returns its updates unchanged, with an empty state: the neutral
 * element of {@link chain}.
 *
 *     identity().update(g, {}) // [g, {}]
 */
export const identity = (): GradientTransformation<EmptyState> => transformation(() => EMPTY, (u) => [u, EMPTY]);

/**
 * `params + updates`, leaf by leaf (optax convention: updates already carry the sign, e.g. from
 * `scaleByLearningRate(lr)` which multiplies by −lr). Structures and dtypes must match: no
 * promotion.
 *
 *     params = applyUpdates(params, updates);
 */
export function applyUpdates<P>(params: P, updates: unknown): P {
  checkSameStructure('applyUpdates', updates, params);
  return treeMap(
    'applyUpdates',
    (p, u) => {
      if (p.dtype !== u.dtype) throw new DTypeError(`applyUpdates: a parameter is ${p.dtype} but its update is ${u.dtype} (no implicit promotion)`);
      if (!shapeEq(p.shape, u.shape)) throw new ShapeError(`applyUpdates: a parameter has shape ${showShape(p.shape)} but its update ${showShape(u.shape)}`);
      return add(p, u);
    },
    params,
    updates,
  );
}

/** Throws when a transformation that needs `params` did not get them. */
export function requireParams(op: string, params: unknown): unknown {
  if (params === undefined) throw new TypeError(`${op}: needs the current params (pass them as the third argument of update)`);
  return params;
}
