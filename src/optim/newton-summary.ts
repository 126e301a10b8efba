import { namedChain } from './chain.js';
import { traceMomentum } from './momentum.js';
import { type NewtonSummaryExtra, scaleBySummaryNewton, type ScaleBySummaryNewtonOptions, type ScaleBySummaryNewtonState } from './summary-newton.js';
import type { GradientTransformation } from './transformation.js';

/**
 * NewtonSummary (Wolinski 2023) as a chain: a transformation proposes the direction u (by default
 * the PyTorch momentum buffer), then {@link scaleBySummaryNewton} picks the per-group learning
 * rates η from the summary of the loss along u and returns the step −U·I·η.
 *
 *     newtonSummary(o) = namedChain(['direction', o.direction], ['newton', scaleBySummaryNewton(o)])
 */

/**
 * The setting `partax train` runs NewtonSummary with by default, as options to spread:
 * `newtonSummary({ partition: partition.canonical, ...NEWTON_SUMMARY_SETTING })` (with the default
 * direction, PyTorch's momentum 0.9 with dampening 0.9). λ₁ 0.5, λ_int 10, rates averaged with 0.5
 * and negative rates clipped are the paper's setting; the period, 5 steps, was chosen by the study
 * of docs/experiments.md (one factor at a time around that setting, on three tuning tasks). The
 * options' own defaults (every step, λ₁ 1, no cubic term, no averaging) are the plain method.
 */
export const NEWTON_SUMMARY_SETTING = { damping: 0.5, dampingInt: 10, periodHg: 5, momLrs: 0.5, removeNegative: true } as const satisfies Partial<ScaleBySummaryNewtonOptions>;

/** Options of {@link newtonSummary}: those of {@link scaleBySummaryNewton} and the direction. */
export interface NewtonSummaryOptions extends ScaleBySummaryNewtonOptions {
  /** The transformation proposing the direction (default: torch momentum 0.9, dampening 0.9). */
  readonly direction?: GradientTransformation<any, any>;
}

/** State of {@link newtonSummary}: the direction's state and the learning-rate state (`newton.lrs`, `newton.last`…). */
export interface NewtonSummaryState {
  readonly direction: unknown;
  readonly newton: ScaleBySummaryNewtonState;
}

/**
 * The NewtonSummary optimizer. `update(grads, state, params, extra)` needs `params` and
 * `extra = { loss, hgBatch }` (the loss and its hg batch, or a function giving the batch).
 *
 *     const opt = newtonSummary({ partition: partition.canonical, ...NEWTON_SUMMARY_SETTING });
 *     let state = opt.init(params);
 *     const [updates, next] = opt.update(g, state, params, { loss, hgBatch: [x, y] });
 *     next.newton.lrs   // one learning rate per group
 */
export function newtonSummary(opts: NewtonSummaryOptions): GradientTransformation<NewtonSummaryState, NewtonSummaryExtra> {
  const { direction = traceMomentum({ momentum: 0.9, dampening: 0.9 }), ...rest } = opts;
  return namedChain(['direction', direction], ['newton', scaleBySummaryNewton(rest)]) as GradientTransformation<NewtonSummaryState, NewtonSummaryExtra>;
}
