/**
 * Schedules: pure functions from the step count (0, 1, 2, …: the number of updates already made)
 * to a hyper-parameter value, as in optax. They are plain numbers, not tensors: a schedule
 * decides a constant of the step, it is not differentiated through.
 */
export type Schedule = (count: number) => number;

/** A number, or a schedule of the step count. */
export type ScalarOrSchedule = number | Schedule;

/** The value of `v` at step `count`. */
export const valueAt = (v: ScalarOrSchedule, count: number): number => (typeof v === 'number' ? v : v(count));

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
export function constantSchedule(value: number): Schedule {
  checkFinite('constantSchedule', 'value', value);
  return () => value;
}

/**
 * Piecewise constant: `init · Π_{b ≤ t} scales[b]` over the boundaries `b` (optax's
 * `piecewise_constant_schedule`): at step `b` and after, the value is multiplied by `scales[b]`.
 *
 *     piecewiseConstantSchedule(1, { 10: 0.1, 20: 0.5 })  // 1 for t < 10, 0.1 for 10 ≤ t < 20, 0.05 after
 */
export function piecewiseConstantSchedule(init: number, boundariesAndScales: Readonly<Record<number, number>> = {}): Schedule {
  checkFinite('piecewiseConstantSchedule', 'init', init);
  const pairs = Object.entries(boundariesAndScales)
    .map(([b, s]) => [Number(b), s] as const)
    .sort((a, b) => a[0] - b[0]);
  for (const [b, s] of pairs) {
    checkSteps('piecewiseConstantSchedule', 'a boundary', b, 0);
    checkFinite('piecewiseConstantSchedule', `the scale at ${b}`, s);
  }
  return (t) => pairs.reduce((v, [b, s]) => (t >= b ? v * s : v), init);
}

/**
 * Step decay (PyTorch's `StepLR`): `init · γ^⌊t / stepSize⌋`.
 *
 *     stepDecaySchedule(0.1, 30, 0.1)(65) // 0.1 · 0.1² = 0.001
 */
export function stepDecaySchedule(init: number, stepSize: number, gamma: number): Schedule {
  checkFinite('stepDecaySchedule', 'init', init);
  checkSteps('stepDecaySchedule', 'stepSize', stepSize);
  checkFinite('stepDecaySchedule', 'gamma', gamma);
  return (t) => init * gamma ** Math.floor(Math.max(0, t) / stepSize);
}

/**
 * Linear interpolation from `init` (at `transitionBegin`) to `end` (at `transitionBegin +
 * transitionSteps`), constant outside (optax's `linear_schedule`).
 *
 *     linearSchedule(0, 1, 10)(5) // 0.5
 */
export function linearSchedule(init: number, end: number, transitionSteps: number, transitionBegin = 0): Schedule {
  checkFinite('linearSchedule', 'init', init);
  checkFinite('linearSchedule', 'end', end);
  checkSteps('linearSchedule', 'transitionSteps', transitionSteps);
  checkSteps('linearSchedule', 'transitionBegin', transitionBegin, 0);
  return (t) => {
    const frac = Math.min(Math.max(t - transitionBegin, 0), transitionSteps) / transitionSteps;
    return init + (end - init) * frac;
  };
}

/**
 * Linear warm-up from `init` to `peak` over `warmupSteps` steps, then `peak`.
 *
 *     linearWarmup(1e-3, 100)(50) // 5e-4
 */
export const linearWarmup = (peak: number, warmupSteps: number, init = 0): Schedule => linearSchedule(init, peak, warmupSteps);

/**
 * Cosine decay (optax's `cosine_decay_schedule`): `init · ((1 − α)·½(1 + cos(π·min(t, T)/T)) + α)`,
 * from `init` at t = 0 to `α·init` at t ≥ T = `decaySteps`.
 *
 *     cosineDecaySchedule(1, 100)(50) // 0.5
 */
export function cosineDecaySchedule(init: number, decaySteps: number, alpha = 0): Schedule {
  checkFinite('cosineDecaySchedule', 'init', init);
  checkSteps('cosineDecaySchedule', 'decaySteps', decaySteps);
  checkFinite('cosineDecaySchedule', 'alpha', alpha);
  return (t) => {
    const cosine = 0.5 * (1 + Math.cos((Math.PI * Math.min(Math.max(t, 0), decaySteps)) / decaySteps));
    return init * ((1 - alpha) * cosine + alpha);
  };
}

/**
 * Schedules joined at boundaries (optax's `join_schedules`): for `boundaries[i−1] ≤ t <
 * boundaries[i]` the value is `schedules[i](t − boundaries[i−1])` (each schedule starts its own
 * count at 0). Needs one more schedule than boundaries, boundaries increasing.
 *
 *     joinSchedules([linearWarmup(1, 10), cosineDecaySchedule(1, 90)], [10]) // warm-up, then cosine
 */
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule {
  if (schedules.length !== boundaries.length + 1)
    throw new RangeError(`joinSchedules: ${schedules.length} schedules need ${schedules.length - 1} boundaries, got ${boundaries.length}`);
  boundaries.forEach((b, i) => {
    checkSteps('joinSchedules', `boundary ${i}`, b, 0);
    if (i > 0 && b <= boundaries[i - 1]!) throw new RangeError(`joinSchedules: boundaries must increase, got ${boundaries.join(', ')}`);
  });
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
export function warmupCosineDecaySchedule(init: number, peak: number, warmupSteps: number, decaySteps: number, end = 0): Schedule {
  checkSteps('warmupCosineDecaySchedule', 'decaySteps', decaySteps, warmupSteps + 1);
  if (peak === 0) return () => 0;
  return joinSchedules([linearSchedule(init, peak, Math.max(warmupSteps, 1)), cosineDecaySchedule(peak, decaySteps - warmupSteps, end / peak)], [warmupSteps]);
}
