import type { Tensor } from '../core/tensor.js';
import { add, astype, cos, div, floor, ge, maximum, minimum, mul, pow, sub, where } from '../ops/arith.js';
import { full } from '../ops/create.js';
import { type Count, countFloat } from './count.js';

/**
 * Schedules: functions from the step count (0, 1, 2, …: the number of updates already made) to a
 * hyper-parameter value, as in optax. Any `(count: number) => number` is a schedule; it is
 * evaluated on the host, so a transformation using one reads its (tensor) count there, which a
 * jitted step cannot do. The built-in schedules are {@link FormulaSchedule}s: written once over an
 * arithmetic ({@link Arith}), they evaluate on a number exactly as before and on the count tensor
 * with ops (float64 where the backend has it: the same numbers bit for bit), so a step using them
 * jits and traces once. A schedule decides a constant of the step; it is not differentiated
 * through.
 */
export type Schedule = (count: number) => number;

/** A number, or a schedule of the step count. */
export type ScalarOrSchedule = number | Schedule;

/** The value of `v` at step `count`. */
export const valueAt = (v: ScalarOrSchedule, count: number): number => (typeof v === 'number' ? v : v(count));

/** The operations a schedule's formula may use, on numbers or on scalar tensors. */
export interface Arith<V> {
  /** A constant. */
  c(x: number): V;
  add(a: V, b: V): V;
  sub(a: V, b: V): V;
  mul(a: V, b: V): V;
  div(a: V, b: V): V;
  min(a: V, b: V): V;
  max(a: V, b: V): V;
  floor(a: V): V;
  cos(a: V): V;
  pow(a: V, b: V): V;
  /** `t ≥ b ? then : otherwise` (both are evaluated). */
  ifGe(t: V, b: number, then: V, otherwise: V): V;
}

/** A schedule's formula: its value at step t in any {@link Arith}. */
export type Formula = <V>(a: Arith<V>, t: V) => V;

/** A schedule that also evaluates on the count tensor (every built-in one): see {@link scheduleAtCount}. */
export interface FormulaSchedule extends Schedule {
  readonly formula: Formula;
}

/** JavaScript numbers. */
const NUMBERS: Arith<number> = {
  c: (x) => x,
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  min: Math.min,
  max: Math.max,
  floor: Math.floor,
  cos: Math.cos,
  pow: Math.pow,
  ifGe: (t, b, then, otherwise) => (t >= b ? then : otherwise),
};

/** Scalar tensors of `dtype`: the same operations by ops (the CPU kernels are these Math functions). */
const tensors = (dtype: 'float64' | 'float32'): Arith<Tensor> => ({
  c: (x) => full([], x, dtype),
  add,
  sub,
  mul,
  div,
  min: minimum,
  max: maximum,
  floor,
  cos,
  pow,
  ifGe: (t, b, then, otherwise) => where(ge(t, b), then, otherwise),
});

/** The schedule of a formula: a plain function of a number, carrying its formula. */
const fromFormula = (formula: Formula): FormulaSchedule => Object.assign((t: number) => formula(NUMBERS, t), { formula });

/** Whether `s` carries a formula (every built-in schedule does). */
export const hasFormula = (s: Schedule): s is FormulaSchedule => typeof (s as Partial<FormulaSchedule>).formula === 'function';

/**
 * The value of a formula schedule at `count` (an int32 scalar tensor), as a scalar tensor of the
 * count's float dtype (`countFloat`: float64, float32 on webgpu). On float64 it equals `s(count)`
 * bit for bit.
 */
export function scheduleAtCount(s: FormulaSchedule, count: Count): Tensor {
  const dt = countFloat();
  return s.formula(tensors(dt), astype(count, dt));
}

const checkFinite = (op: string, name: string, v: number) => {
  if (!Number.isFinite(v)) throw new RangeError(`${op}: ${name} must be a finite number, got ${v}`);
};
const checkSteps = (op: string, name: string, n: number, min = 1) => {
  if (!Number.isInteger(n) || n < min) throw new RangeError(`${op}: ${name} must be an integer ≥ ${min}, got ${n}`);
};

/**
 * `constantSchedule(v)(t) = v`.
 *
 *     constantSchedule(0.1)(1000) // 0.1
 */
export function constantSchedule(value: number): FormulaSchedule {
  checkFinite('constantSchedule', 'value', value);
  return fromFormula((a) => a.c(value));
}

/**
 * Piecewise constant: `init · Π_{b ≤ t} scales[b]` over the boundaries `b` (optax's
 * `piecewise_constant_schedule`): at step `b` and after, the value is multiplied by `scales[b]`.
 *
 *     piecewiseConstantSchedule(1, { 10: 0.1, 20: 0.5 })  // 1 for t < 10, 0.1 for 10 ≤ t < 20, 0.05 after
 */
export function piecewiseConstantSchedule(init: number, boundariesAndScales: Readonly<Record<number, number>> = {}): FormulaSchedule {
  checkFinite('piecewiseConstantSchedule', 'init', init);
  const pairs = Object.entries(boundariesAndScales)
    .map(([b, s]) => [Number(b), s] as const)
    .sort((a, b) => a[0] - b[0]);
  for (const [b, s] of pairs) {
    checkSteps('piecewiseConstantSchedule', 'a boundary', b, 0);
    checkFinite('piecewiseConstantSchedule', `the scale at ${b}`, s);
  }
  return fromFormula((a, t) => pairs.reduce((v, [b, s]) => a.ifGe(t, b, a.mul(v, a.c(s)), v), a.c(init)));
}

/**
 * Step decay (PyTorch's `StepLR`): `init · γ^⌊t / stepSize⌋`.
 *
 *     stepDecaySchedule(0.1, 30, 0.1)(65) // 0.1 · 0.1² = 0.001
 */
export function stepDecaySchedule(init: number, stepSize: number, gamma: number): FormulaSchedule {
  checkFinite('stepDecaySchedule', 'init', init);
  checkSteps('stepDecaySchedule', 'stepSize', stepSize);
  checkFinite('stepDecaySchedule', 'gamma', gamma);
  return fromFormula((a, t) => a.mul(a.c(init), a.pow(a.c(gamma), a.floor(a.div(a.max(a.c(0), t), a.c(stepSize))))));
}

/**
 * Linear interpolation from `init` (at `transitionBegin`) to `end` (at `transitionBegin +
 * transitionSteps`), constant outside (optax's `linear_schedule`).
 *
 *     linearSchedule(0, 1, 10)(5) // 0.5
 */
export function linearSchedule(init: number, end: number, transitionSteps: number, transitionBegin = 0): FormulaSchedule {
  checkFinite('linearSchedule', 'init', init);
  checkFinite('linearSchedule', 'end', end);
  checkSteps('linearSchedule', 'transitionSteps', transitionSteps);
  checkSteps('linearSchedule', 'transitionBegin', transitionBegin, 0);
  return fromFormula((a, t) => {
    const frac = a.div(a.min(a.max(a.sub(t, a.c(transitionBegin)), a.c(0)), a.c(transitionSteps)), a.c(transitionSteps));
    return a.add(a.c(init), a.mul(a.c(end - init), frac));
  });
}

/**
 * Linear warm-up from `init` to `peak` over `warmupSteps` steps, then `peak`.
 *
 *     linearWarmup(1e-3, 100)(50) // 5e-4
 */
export const linearWarmup = (peak: number, warmupSteps: number, init = 0): FormulaSchedule => linearSchedule(init, peak, warmupSteps);

/**
 * Cosine decay (optax's `cosine_decay_schedule`): `init · ((1 − α)·½(1 + cos(π·min(t, T)/T)) + α)`,
 * from `init` at t = 0 to `α·init` at t ≥ T = `decaySteps`.
 *
 *     cosineDecaySchedule(1, 100)(50) // 0.5
 */
export function cosineDecaySchedule(init: number, decaySteps: number, alpha = 0): FormulaSchedule {
  checkFinite('cosineDecaySchedule', 'init', init);
  checkSteps('cosineDecaySchedule', 'decaySteps', decaySteps);
  checkFinite('cosineDecaySchedule', 'alpha', alpha);
  return fromFormula((a, t) => {
    const cosine = a.mul(a.c(0.5), a.add(a.c(1), a.cos(a.div(a.mul(a.c(Math.PI), a.min(a.max(t, a.c(0)), a.c(decaySteps))), a.c(decaySteps)))));
    return a.mul(a.c(init), a.add(a.mul(a.c(1 - alpha), cosine), a.c(alpha)));
  });
}

/**
 * Schedules joined at boundaries (optax's `join_schedules`): for `boundaries[i−1] ≤ t <
 * boundaries[i]` the value is `schedules[i](t − boundaries[i−1])` (each schedule starts its own
 * count at 0). Needs one more schedule than boundaries, boundaries increasing. Joined formula
 * schedules give a formula schedule.
 *
 *     joinSchedules([linearWarmup(1, 10), cosineDecaySchedule(1, 90)], [10]) // warm-up, then cosine
 */
export function joinSchedules(schedules: readonly FormulaSchedule[], boundaries: readonly number[]): FormulaSchedule;
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule;
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule {
  if (schedules.length !== boundaries.length + 1)
    throw new RangeError(`joinSchedules: ${schedules.length} schedules need ${schedules.length - 1} boundaries, got ${boundaries.length}`);
  boundaries.forEach((b, i) => {
    checkSteps('joinSchedules', `boundary ${i}`, b, 0);
    if (i > 0 && b <= boundaries[i - 1]!) throw new RangeError(`joinSchedules: boundaries must increase, got ${boundaries.join(', ')}`);
  });
  if (schedules.every(hasFormula)) {
    const fs = schedules.map((s) => s.formula);
    // the last boundary passed picks the schedule, run on the count since that boundary
    return fromFormula((a, t) => boundaries.reduce((v, b, i) => a.ifGe(t, b, fs[i + 1]!(a, a.sub(t, a.c(b))), v), fs[0]!(a, t)));
  }
  return (t) => {
    let i = 0;
    while (i < boundaries.length && t >= boundaries[i]!) i++;
    return schedules[i]!(i === 0 ? t : t - boundaries[i - 1]!);
  };
}

/**
 * Linear warm-up from `init` to `peak` over `warmupSteps`, then cosine decay to `end` at step
 * `decaySteps` (total, warm-up included), as optax's `warmup_cosine_decay_schedule`.
 *
 *     warmupCosineDecaySchedule(0, 1, 10, 110)(60) // 0.5
 */
export function warmupCosineDecaySchedule(init: number, peak: number, warmupSteps: number, decaySteps: number, end = 0): FormulaSchedule {
  checkSteps('warmupCosineDecaySchedule', 'decaySteps', decaySteps, warmupSteps + 1);
  if (peak === 0) return constantSchedule(0);
  return joinSchedules([linearSchedule(init, peak, Math.max(warmupSteps, 1)), cosineDecaySchedule(peak, decaySteps - warmupSteps, end / peak)], [warmupSteps]);
}
