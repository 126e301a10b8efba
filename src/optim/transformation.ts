import { DTypeError, ShapeError } from '../core/errors.js';
import { shapeEq, showShape } from '../core/shape.js';
import { add } from '../ops/arith.js';
import { done, driveAsync, driveSync, perform, type Steps } from './steps.js';
import { checkSameStructure, map, structure } from '../core/tree.js';

/**
 * A gradient transformation (optax's central abstraction): a pure pair
 *
 *     init(params)                          → state
 *     update(updates, state, params?, extra?) → [updates', state']
 *
 * over trees of tensors. Nothing is mutated: the caller threads the state. `S` is the explicit
 * state record; `E` the typed extra argument some transformations need (a reported loss for
 * `reduceOnPlateau`, the hg batch for `scaleBySummaryNewton`).
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
   * transformations that read tensor values on the host (`scaleBySummaryNewton` reads its S×S
   * summary) and on every combinator holding one. Call it through {@link updateAsync}, which falls
   * back to `update`.
   */
  readonly updateAsync?: <T>(updates: T, state: S, params?: unknown, extra?: E) => Promise<readonly [T, S]>;
  /**
   * The update as steps (see `steps.ts`), present with `updateAsync` on transformations built by
   * {@link fromSteps}: `update` drives them synchronously and `updateAsync` awaiting each read, and
   * a combinator drives its members' steps inside its own, so it is written once for both.
   */
  readonly steps?: <T>(updates: T, state: S, params?: unknown, extra?: E) => Steps<readonly [T, S]>;
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

/** Whether `tx` may read tensor values on the host (it has steps or an asynchronous update). */
export const readsHost = (tx: GradientTransformation<any, any>): boolean => tx.steps !== undefined || tx.updateAsync !== undefined;

/**
 * `tx`'s update as steps, for a combinator to run inside its own: `tx`'s steps when it has them;
 * for a transformation with only `update` and `updateAsync`, one effect that calls whichever the
 * driver asks for; else its plain update, which reads nothing.
 *
 *     const [u, s] = yield* stepsOf(inner, updates, state.inner, params, extra);
 */
export function stepsOf<S, E>(tx: GradientTransformation<S, E>, updates: unknown, state: S, params: unknown, extra: E | undefined): Steps<readonly [unknown, S]> {
  if (tx.steps) return tx.steps(updates, state, params, extra);
  const run = tx.updateAsync;
  if (run) return perform({ sync: () => tx.update(updates, state, params, extra), async: () => run(updates, state, params, extra) });
  return done(() => tx.update(updates, state, params, extra));
}

/** The extra-argument type of a transformation. */
export type ExtraOf<T> = T extends GradientTransformation<any, infer E> ? E : never;
/** The state type of a transformation. */
export type StateOf<T> = T extends GradientTransformation<infer S, any> ? S : never;

/** Internal: a transformation from its two functions, with the update's tree type restored. */
export function transformation<S, E = unknown>(
  init: (params: unknown) => S,
  update: (updates: unknown, state: S, params: unknown, extra: E | undefined) => readonly [unknown, S],
): GradientTransformation<S, E> {
  return {
    init,
    update: <T>(updates: T, state: S, params?: unknown, extra?: E) => update(updates, state, params, extra) as readonly [T, S],
  };
}

/**
 * A transformation whose update is written as steps (a generator, see `steps.ts`): `update` drives
 * them synchronously; when `reads` is true (the steps may yield a host read) it also has
 * `updateAsync`, which awaits each read, and exposes `steps` to enclosing combinators. With `reads`
 * false the steps must yield nothing, and the transformation is a plain one.
 */
export function fromSteps<S, E = unknown>(
  init: (params: unknown) => S,
  steps: (updates: unknown, state: S, params: unknown, extra: E | undefined) => Steps<readonly [unknown, S]>,
  reads: boolean,
): GradientTransformation<S, E> {
  type Run = <T>(updates: T, state: S, params?: unknown, extra?: E) => Steps<readonly [T, S]>;
  const run = ((updates: unknown, state: S, params?: unknown, extra?: E) => steps(updates, state, params, extra)) as Run;
  const update = <T>(updates: T, state: S, params?: unknown, extra?: E) => driveSync(run(updates, state, params, extra));
  if (!reads) return { init, update };
  return { init, update, updateAsync: (updates, state, params, extra) => driveAsync(run(updates, state, params, extra)), steps: run };
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
  checkSameStructure('applyUpdates', [structure(params), structure(updates)], ['the params', 'the updates']);
  return map(
    'applyUpdates',
    (p, u) => {
      if (p.dtype !== u.dtype) throw new DTypeError(`applyUpdates: a parameter is ${p.dtype} but its update is ${u.dtype} (no implicit promotion)`);
      if (!shapeEq(p.shape, u.shape)) throw new ShapeError(`applyUpdates: a parameter has shape ${showShape(p.shape)} but its update ${showShape(u.shape)}`);
      return add(p, u);
    },
    params,
    updates as P,
  );
}

/** Throws when a transformation that needs `params` did not get them. */
export function requireParams(op: string, params: unknown): unknown {
  if (params === undefined) throw new TypeError(`${op}: needs the current params (pass them as the third argument of update)`);
  return params;
}
