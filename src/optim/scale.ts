import type { Tensor } from '../core/tensor.js';
import { map, mapIndexed } from '../core/tree.js';
import { astype, mul, neg } from '../ops/arith.js';
import { full } from '../ops/create.js';
import { checkCount, type Count, hostCount, incrementCount, perDType, zeroCount } from './count.js';
import { type Labels, leafLabels } from './partition-by.js';
import { constantSchedule, hasFormula, type ScalarOrSchedule, type Schedule, scheduleAtCount } from './schedule.js';
import type { Steps } from './steps.js';
import { type EmptyState, fromSteps, type GradientTransformation, transformation } from './transformation.js';

const checkFinite = (op: string, name: string, v: number) => {
  if (!Number.isFinite(v)) throw new RangeError(`${op}: ${name} must be a finite number, got ${v}`);
};

/**
 * `scale(c)`: updates ↦ c · updates, stateless.
 *
 *     scale(-0.1).update(g, {}) // [−0.1·g, {}]
 */
export function scale(c: number): GradientTransformation<EmptyState> {
  checkFinite('scale', 'the factor', c);
  return transformation(
    () => ({}),
    (u, s) => [map('scale', (x) => mul(x, c), u), s],
  );
}

/** State of the step-counting scalers: the number of updates made so far, an int32 scalar tensor. */
export interface ScaleByScheduleState {
  readonly count: Count;
}

/**
 * The value of schedule `f` at `count`: for a formula schedule (every built-in one) a scalar
 * tensor computed from the count on the device, so a jitted step traces once; for any other
 * function, `f` of the count read on the host (an eager step only: under jit the count has no
 * value yet, and the error says so).
 */
function* scheduleValue(op: string, what: string, f: Schedule, count: Count): Steps<Tensor | number> {
  if (hasFormula(f)) return scheduleAtCount(f, count);
  const t = yield* hostCount(op, `${what}, a plain function of the step number,`, count);
  const v = f(t);
  checkFinite(op, `${what} at step ${t}`, v);
  return v;
}

/** `sign · v` as a scalar of each leaf's dtype (a number rounds once into it, as `mul(x, sign·v)` would). */
const factorOf = (v: Tensor | number, sign: 1 | -1) =>
  perDType((dt) => (typeof v === 'number' ? full([], sign * v, dt) : astype(sign < 0 ? neg(v) : v, dt)));

/** A schedule's scaler: updates ↦ sign · f(t) · updates at step t = `state.count`, then count + 1. */
function scheduleScaler(op: string, f: Schedule, sign: 1 | -1, what: string): GradientTransformation<ScaleByScheduleState> {
  return fromSteps<ScaleByScheduleState>(
    () => ({ count: zeroCount() }),
    function* (u, state) {
      const count = checkCount(op, state.count);
      const factor = factorOf(yield* scheduleValue(op, what, f, count), sign);
      return [map(op, (x) => mul(x, factor(x.dtype)), u), { count: incrementCount(count) }] as const;
    },
    !hasFormula(f),
  );
}

/**
 * `scaleByLearningRate(lr)`: updates ↦ −lr · updates, so that `applyUpdates` descends. `lr` is a
 * number (then the transformation is stateless, as optax's) or a {@link Schedule} of the step count
 * t = `state.count` (then count + 1; a built-in schedule evaluates on the count tensor, so the
 * step jits; another function reads the count on the host).
 *
 *     chain(scaleByAdam(), scaleByLearningRate(cosineDecaySchedule(1e-3, 1000)))
 */
export function scaleByLearningRate(lr: number): GradientTransformation<EmptyState>;
export function scaleByLearningRate(lr: Schedule): GradientTransformation<ScaleByScheduleState>;
export function scaleByLearningRate(lr: ScalarOrSchedule): GradientTransformation<EmptyState> | GradientTransformation<ScaleByScheduleState>;
export function scaleByLearningRate(lr: ScalarOrSchedule): GradientTransformation<EmptyState> | GradientTransformation<ScaleByScheduleState> {
  if (typeof lr !== 'number') return scheduleScaler('scaleByLearningRate', lr, -1, 'the learning rate');
  checkFinite('scaleByLearningRate', 'lr', lr);
  return transformation<EmptyState>(
    () => ({}),
    (u, s) => [map('scaleByLearningRate', (x) => mul(x, -lr), u), s],
  );
}

/**
 * `scaleBySchedule(f)`: updates ↦ f(t) · updates (no sign change), counting steps (see
 * {@link scaleByLearningRate} for how schedules are evaluated).
 *
 *     scaleBySchedule(linearWarmup(1, 100))
 */
export function scaleBySchedule(f: ScalarOrSchedule): GradientTransformation<ScaleByScheduleState> {
  if (typeof f === 'number') checkFinite('scaleBySchedule', 'the factor', f);
  return scheduleScaler('scaleBySchedule', typeof f === 'number' ? constantSchedule(f) : f, 1, 'the factor');
}

/**
 * Per-group learning rates: each leaf's update is multiplied by −lrs[label] (at step t), where
 * `labels` gives each parameter leaf a group label (a function of the path, or a labels tree:
 * see {@link Labels}). Every label must have a rate. With schedules among the rates the state
 * counts steps (as {@link scaleByLearningRate}); with numbers only it is empty.
 *
 *     scaleByGroupLearningRates((p) => p.split('.')[1]!, { 0: 0.1, 1: 0.01 })  // layers.0.*, layers.1.*
 */
export function scaleByGroupLearningRates(labels: Labels, lrs: Readonly<Record<string, ScalarOrSchedule>>): GradientTransformation<ScaleByScheduleState | EmptyState> {
  const op = 'scaleByGroupLearningRates';
  for (const [k, v] of Object.entries(lrs)) if (typeof v === 'number') checkFinite(op, `the rate of '${k}'`, v);
  const counting = Object.values(lrs).some((v) => typeof v !== 'number');
  return fromSteps<ScaleByScheduleState | EmptyState>(
    (): ScaleByScheduleState | EmptyState => (counting ? { count: zeroCount() } : {}),
    function* (u, state) {
      const ls = leafLabels(op, u, labels);
      const missing = [...new Set(ls.filter((l) => !(l in lrs)))];
      if (missing.length) throw new TypeError(`${op}: no learning rate for label(s) ${missing.map((l) => `'${l}'`).join(', ')} (rates for: ${Object.keys(lrs).join(', ')})`);
      const count = counting ? checkCount(op, (state as ScaleByScheduleState).count) : null;
      const factors: Record<string, (dt: Tensor['dtype']) => Tensor> = {};
      for (const l of new Set(ls)) {
        const r = lrs[l]!;
        factors[l] = factorOf(typeof r === 'number' ? r : yield* scheduleValue(op, `the rate of '${l}'`, r, count!), -1);
      }
      const out = mapIndexed(op, (i, x) => mul(x, factors[ls[i]!]!(x.dtype)), u);
      return [out, count === null ? state : { count: incrementCount(count) }] as const;
    },
    Object.values(lrs).some((v) => typeof v !== 'number' && !hasFormula(v)),
  );
}
