import { checkCount, type Count, hostCount, incrementCount, zeroCount } from './count.js';
import { type ScalarOrSchedule, valueAt } from './schedule.js';
import { fromSteps, type GradientTransformation, readsHost, stepsOf } from './transformation.js';

/**
 * State of {@link inject}: the step count (an int32 scalar tensor), the hyper-parameters used at
 * the last step (numbers, for logs and {@link setHyperparams}), and the inner state.
 */
export interface InjectState<H, S> {
  readonly count: Count;
  readonly hyperparams: Readonly<H>;
  readonly inner: S;
}

/**
 * Hyper-parameters in the state (optax's `inject_hyperparams`): `inject(make, hp)` builds the
 * transformation `make(values)` afresh at every step from the hyper-parameters held in the state,
 * so they can be read (for logs) and changed between steps with {@link setHyperparams}.
 * A hyper-parameter given as a schedule is re-evaluated at each step (and overrides any change);
 * one given as a number keeps its (possibly changed) state value. `make` must give transformations
 * whose state structure does not depend on the values (true of every builder in `optim`); it is
 * also called once when `inject` is, with the first step's values, to learn whether the
 * transformations read host values (then `inject` has `updateAsync` too).
 *
 * Under jit: the hyper-parameters are numbers, static to `jit`, so a jitted step traces once per
 * distinct set of values (once, if they never change). A hyper-parameter given as a schedule is a
 * function of the step number, so `inject` then reads its count on the host at every step, which
 * only an eager step can do; for a jitted step with a scheduled learning rate, give the schedule
 * to the transformation itself (`adam(cosineDecaySchedule(…))`: the built-in schedules evaluate on
 * the count tensor).
 *
 *     const opt = inject(({ lr }) => adam(lr), { lr: 1e-3 });
 *     state = setHyperparams(state, { lr: 1e-4 });  // from the next step on
 */
export function inject<K extends string, S, E>(
  make: (hyperparams: { readonly [k in K]: number }) => GradientTransformation<S, E>,
  hyperparams: { readonly [k in K]: ScalarOrSchedule },
): GradientTransformation<InjectState<{ readonly [k in K]: number }, S>, E> {
  type H = { readonly [k in K]: number };
  const keys = Object.keys(hyperparams) as K[];
  const evaluate = (count: number, current?: Readonly<H>): H => {
    const out: Record<string, number> = {};
    for (const k of keys) {
      const v = hyperparams[k];
      out[k] = typeof v === 'function' || current === undefined ? valueAt(v, count) : current[k]!;
      if (!Number.isFinite(out[k])) throw new RangeError(`inject: hyper-parameter '${k}' is ${out[k]} at step ${count}`);
    }
    return out as H;
  };
  const scheduled = keys.filter((k) => typeof hyperparams[k] === 'function');
  const first = make(evaluate(0));
  return fromSteps<InjectState<H, S>, E>(
    (params) => ({ count: zeroCount(), hyperparams: evaluate(0), inner: first.init(params) }),
    function* (updates, state, params, extra) {
      const count = checkCount('inject', state.count);
      // the step number is read only for the schedules among the hyper-parameters
      const t = scheduled.length ? yield* hostCount('inject', `the schedule of '${scheduled[0]}'`, count) : 0;
      const hp = evaluate(t, state.hyperparams);
      const [u, inner] = yield* stepsOf(make(hp), updates, state.inner, params, extra);
      return [u, { count: incrementCount(count), hyperparams: hp, inner }] as const;
    },
    // whether the built transformations read host values does not depend on the values
    scheduled.length > 0 || readsHost(first),
  );
}

/**
 * A copy of an {@link inject} state with some hyper-parameters replaced (used from the next
 * update on). Names must exist in the state.
 *
 *     state = setHyperparams(state, { lr: state.hyperparams.lr / 10 });
 */
export function setHyperparams<H extends Readonly<Record<string, number>>, S>(state: InjectState<H, S>, changes: Partial<H>): InjectState<H, S> {
  for (const [k, v] of Object.entries(changes)) {
    if (!(k in state.hyperparams)) throw new TypeError(`setHyperparams: no hyper-parameter '${k}' (there are ${Object.keys(state.hyperparams).join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`setHyperparams: '${k}' must be a finite number, got ${String(v)}`);
  }
  return { ...state, hyperparams: { ...state.hyperparams, ...changes } };
}
