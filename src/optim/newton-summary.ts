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
 *     const opt = newtonSummary({ partition: partition.canonical, damping: 0.1, dampingInt: 10 });
 *     let state = opt.init(params);
 *     const [updates, next] = opt.update(g, state, params, { loss, hgBatch: [x, y] });
 *     next.newton.lrs   // one learning rate per group
 */
export function newtonSummary(opts: NewtonSummaryOptions): GradientTransformation<NewtonSummaryState, NewtonSummaryExtra> {
  const { direction = traceMomentum({ momentum: 0.9, dampening: 0.9 }), ...rest } = opts;
  return namedChain(['direction', direction], ['newton', scaleBySummaryNewton(rest)]) as GradientTransformation<NewtonSummaryState, NewtonSummaryExtra>;
}
