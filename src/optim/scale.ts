import { mul } from '../ops/arith.js';
import { type Labels, leafLabels } from './partition-by.js';
import { type ScalarOrSchedule, valueAt } from './schedule.js';
import { type EmptyState, type GradientTransformation, transformation } from './transformation.js';
import { map, mapIndexed } from '../core/tree.js';

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

/** State of the step-counting scalers: the number of updates made so far. */
export interface ScaleByScheduleState {
  readonly count: number;
}

/**
 * `scaleByLearningRate(lr)`: updates ↦ −lr(t) · updates at step t = `state.count` (then count + 1),
 * so that `applyUpdates` descends. `lr` is a number or a {@link Schedule}.
 *
 *     chain(scaleByAdam(), scaleByLearningRate(cosineDecaySchedule(1e-3, 1000)))
 */
export function scaleByLearningRate(lr: ScalarOrSchedule): GradientTransformation<ScaleByScheduleState> {
  if (typeof lr === 'number') checkFinite('scaleByLearningRate', 'lr', lr);
  return transformation<ScaleByScheduleState>(
    () => ({ count: 0 }),
    (u, { count }) => {
      const v = valueAt(lr, count);
      checkFinite('scaleByLearningRate', `lr at step ${count}`, v);
      return [map('scaleByLearningRate', (x) => mul(x, -v), u), { count: count + 1 }];
    },
  );
}

/**
 * `scaleBySchedule(f)`: updates ↦ f(t) · updates (no sign change), counting steps.
 *
 *     scaleBySchedule(linearWarmup(1, 100))
 */
export function scaleBySchedule(f: ScalarOrSchedule): GradientTransformation<ScaleByScheduleState> {
  return transformation<ScaleByScheduleState>(
    () => ({ count: 0 }),
    (u, { count }) => {
      const v = valueAt(f, count);
      checkFinite('scaleBySchedule', `the factor at step ${count}`, v);
      return [map('scaleBySchedule', (x) => mul(x, v), u), { count: count + 1 }];
    },
  );
}

/**
 * Per-group learning rates: each leaf's update is multiplied by −lrs[label] (at step t), where
 * `labels` gives each parameter leaf a group label (a function of the path, or a labels tree:
 * see {@link Labels}). Every label must have a rate.
 *
 *     scaleByGroupLearningRates((p) => p.split('.')[1]!, { 0: 0.1, 1: 0.01 })  // layers.0.*, layers.1.*
 */
export function scaleByGroupLearningRates(labels: Labels, lrs: Readonly<Record<string, ScalarOrSchedule>>): GradientTransformation<ScaleByScheduleState> {
  for (const [k, v] of Object.entries(lrs)) if (typeof v === 'number') checkFinite('scaleByGroupLearningRates', `the rate of '${k}'`, v);
  return transformation<ScaleByScheduleState>(
    () => ({ count: 0 }),
    (u, { count }) => {
      const ls = leafLabels('scaleByGroupLearningRates', u, labels);
      const missing = [...new Set(ls.filter((l) => !(l in lrs)))];
      if (missing.length) throw new TypeError(`scaleByGroupLearningRates: no learning rate for label(s) ${missing.map((l) => `'${l}'`).join(', ')} (rates for: ${Object.keys(lrs).join(', ')})`);
      const at: Record<string, number> = {};
      for (const l of new Set(ls)) {
        at[l] = valueAt(lrs[l]!, count);
        checkFinite('scaleByGroupLearningRates', `the rate of '${l}' at step ${count}`, at[l]);
      }
      return [mapIndexed('scaleByGroupLearningRates', (i, x) => mul(x, -at[ls[i]!]!), u), { count: count + 1 }];
    },
  );
}
