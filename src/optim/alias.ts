import { scaleByAdam, type ScaleByAdamOptions, scaleByRms, type ScaleByRmsOptions } from './adam.js';
import { chain } from './chain.js';
import type { Mask } from './masked.js';
import { traceMomentum } from './momentum.js';
import { scaleByLearningRate } from './scale.js';
import type { ScalarOrSchedule } from './schedule.js';
import { addDecayedWeights } from './weight-decay.js';

/**
 * The named optimizers, each one `chain(...)` of the building blocks. `lr` is a number or a
 * schedule of the step count. Use with `applyUpdates`:
 *
 *     const opt = adam(1e-3);
 *     let state = opt.init(params);
 *     const [u, next] = opt.update(grad(loss)(params), state, params);
 *     params = applyUpdates(params, u); state = next;
 */

/** Plain gradient descent: θ ← θ − lr·g. */
export const sgd = (lr: ScalarOrSchedule) => chain(scaleByLearningRate(lr));

/** Options of {@link momentum}. */
export interface MomentumOptions {
  /** τ (default 0). */
  readonly dampening?: number;
  /** Nesterov momentum (default false). */
  readonly nesterov?: boolean;
}

/**
 * SGD with momentum, exactly `torch.optim.SGD(lr, momentum=μ, dampening=τ, nesterov)`:
 * buf = g at the first step, then μ·buf + (1 − τ)·g; θ ← θ − lr·buf (or − lr·(g + μ·buf)).
 */
export const momentum = (lr: ScalarOrSchedule, mu: number, { dampening = 0, nesterov = false }: MomentumOptions = {}) =>
  chain(traceMomentum({ momentum: mu, dampening, nesterov }), scaleByLearningRate(lr));

/** Adam (Kingma & Ba, bias-corrected): θ ← θ − lr·μ̂/(√(ν̂ + epsRoot) + eps). Defaults b1 0.9, b2 0.999, eps 1e-8. */
export const adam = (lr: ScalarOrSchedule, opts: ScaleByAdamOptions = {}) => chain(scaleByAdam(opts), scaleByLearningRate(lr));

/** Options of {@link adamw}. */
export interface AdamWOptions extends ScaleByAdamOptions {
  /** Decoupled weight decay (default 1e-4, optax's; PyTorch's AdamW uses 1e-2). */
  readonly weightDecay?: number;
  /** Which leaves decay (default all). */
  readonly mask?: Mask;
}

/** AdamW (Loshchilov & Hutter): θ ← θ − lr·(μ̂/(√ν̂ + eps) + wd·θ). */
export const adamw = (lr: ScalarOrSchedule, { weightDecay = 1e-4, mask, ...adamOpts }: AdamWOptions = {}) =>
  chain(scaleByAdam(adamOpts), addDecayedWeights(weightDecay, mask), scaleByLearningRate(lr));

/**
 * RMSprop: ν ← decay·ν + (1 − decay)·g², θ ← θ − lr·g/√(ν + eps) (optax defaults: decay 0.9,
 * eps inside the root). `rmsprop(lr, { decay: 0.99, epsInSqrt: false })` is torch.optim.RMSprop(lr).
 */
export const rmsprop = (lr: ScalarOrSchedule, opts: ScaleByRmsOptions = {}) => chain(scaleByRms(opts), scaleByLearningRate(lr));
