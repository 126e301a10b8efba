import { mul } from '../ops/arith.js';
import { type GradientTransformation, transformation } from './transformation.js';
import { map } from '../core/tree.js';

/** Options of {@link reduceOnPlateau} (those of PyTorch's `ReduceLROnPlateau`). */
export interface ReduceOnPlateauOptions {
  /** Multiplies the scale at each reduction, in (0, 1) (default 0.1). */
  readonly factor?: number;
  /** Reported values without improvement tolerated before reducing (default 10). */
  readonly patience?: number;
  /** Improvement threshold (default 1e-4). */
  readonly threshold?: number;
  /** 'rel': better means < best·(1 − threshold) ('min'); 'abs': < best − threshold (default 'rel'). */
  readonly thresholdMode?: 'rel' | 'abs';
  /** 'min' (default): lower values are better; 'max': higher values are. */
  readonly mode?: 'min' | 'max';
  /** Reported values to ignore after a reduction (default 0). */
  readonly cooldown?: number;
  /** Lower bound of the scale (default 0). */
  readonly minScale?: number;
  /** A reduction smaller than eps is skipped (default 1e-8). */
  readonly eps?: number;
  /**
   * Also reset `best` to the current value at a reduction (default false, as PyTorch; true is what
   * grnewt's `ReduceDampingOnPlateau`, the paper's variant on the damping, does).
   */
  readonly resetBestOnReduce?: boolean;
}

/** State of {@link reduceOnPlateau}. */
export interface ReduceOnPlateauState {
  /** The current multiplier (starts at 1). */
  readonly scale: number;
  /** Best value reported so far (±∞ before any). */
  readonly best: number;
  /** Consecutive reported values without improvement. */
  readonly numBadEpochs: number;
  /** Reported values left to ignore after the last reduction. */
  readonly cooldownCounter: number;
  /** Number of values reported. */
  readonly reports: number;
}

/** The extra argument of {@link reduceOnPlateau}: the monitored value, when there is one this step. */
export interface PlateauExtra {
  readonly value?: number;
}

const defaults = (o: ReduceOnPlateauOptions) => {
  const r = {
    factor: o.factor ?? 0.1,
    patience: o.patience ?? 10,
    threshold: o.threshold ?? 1e-4,
    thresholdMode: o.thresholdMode ?? 'rel',
    mode: o.mode ?? 'min',
    cooldown: o.cooldown ?? 0,
    minScale: o.minScale ?? 0,
    eps: o.eps ?? 1e-8,
    resetBestOnReduce: o.resetBestOnReduce ?? false,
  } as const;
  if (!(r.factor > 0 && r.factor < 1)) throw new RangeError(`reduceOnPlateau: factor must be in (0, 1), got ${r.factor}`);
  if (!Number.isInteger(r.patience) || r.patience < 0) throw new RangeError(`reduceOnPlateau: patience must be an integer ≥ 0, got ${r.patience}`);
  if (!Number.isInteger(r.cooldown) || r.cooldown < 0) throw new RangeError(`reduceOnPlateau: cooldown must be an integer ≥ 0, got ${r.cooldown}`);
  if (!(r.threshold >= 0) || !(r.minScale >= 0) || !(r.eps >= 0)) throw new RangeError('reduceOnPlateau: threshold, minScale and eps must be ≥ 0');
  if (r.mode !== 'min' && r.mode !== 'max') throw new RangeError(`reduceOnPlateau: mode must be 'min' or 'max', got ${String(r.mode)}`);
  if (r.thresholdMode !== 'rel' && r.thresholdMode !== 'abs') throw new RangeError(`reduceOnPlateau: thresholdMode must be 'rel' or 'abs', got ${String(r.thresholdMode)}`);
  return r;
};

/** The initial plateau state (scale 1, no value seen). */
export const initialPlateauState = (opts: ReduceOnPlateauOptions = {}): ReduceOnPlateauState => ({
  scale: 1,
  best: defaults(opts).mode === 'min' ? Infinity : -Infinity,
  numBadEpochs: 0,
  cooldownCounter: 0,
  reports: 0,
});

/**
 * One report of the monitored value, exactly as `ReduceLROnPlateau.step(value)`: update `best`
 * or count a bad epoch; in cooldown, count down and forget bad epochs; after more than
 * `patience` bad epochs, scale ← max(scale·factor, minScale) (if that changes it by more than
 * eps) and start the cooldown. Pure: returns the next state.
 *
 *     plateauStep({ patience: 0 }, initialPlateauState(), 1.0)  // best 1, scale 1
 */
export function plateauStep(opts: ReduceOnPlateauOptions, state: ReduceOnPlateauState, value: number): ReduceOnPlateauState {
  const o = defaults(opts);
  if (Number.isNaN(value)) throw new RangeError('reduceOnPlateau: the reported value is NaN');
  const better =
    o.mode === 'min'
      ? o.thresholdMode === 'rel'
        ? value < state.best * (1 - o.threshold)
        : value < state.best - o.threshold
      : o.thresholdMode === 'rel'
        ? value > state.best * (1 + o.threshold)
        : value > state.best + o.threshold;
  let { best, numBadEpochs, cooldownCounter, scale } = state;
  if (better) {
    best = value;
    numBadEpochs = 0;
  } else numBadEpochs += 1;
  if (cooldownCounter > 0) {
    cooldownCounter -= 1;
    numBadEpochs = 0;
  }
  if (numBadEpochs > o.patience) {
    const next = Math.max(scale * o.factor, o.minScale);
    if (scale - next > o.eps) scale = next;
    cooldownCounter = o.cooldown;
    numBadEpochs = 0;
    if (o.resetBestOnReduce) best = value;
  }
  return { scale, best, numBadEpochs, cooldownCounter, reports: state.reports + 1 };
}

/**
 * Multiplies the updates by a scale that is reduced when a monitored value stops improving
 * (PyTorch's `ReduceLROnPlateau` as a transformation, like optax's `contrib.reduce_on_plateau`).
 * Pass the value as `extra.value` at the steps where one is measured (e.g. the loss once per
 * epoch); steps without a value keep the scale. The value reported at a step is taken into account
 * before that step's updates are scaled.
 *
 *     const opt = chain(scaleByAdam(), reduceOnPlateau({ patience: 5, factor: 0.5 }), scaleByLearningRate(1e-3));
 *     opt.update(g, state, params, { value: epochLoss });
 */
export function reduceOnPlateau(opts: ReduceOnPlateauOptions = {}): GradientTransformation<ReduceOnPlateauState, PlateauExtra> {
  defaults(opts);
  return transformation<ReduceOnPlateauState, PlateauExtra>(
    () => initialPlateauState(opts),
    (u, state, _params, extra) => {
      const next = extra?.value === undefined ? state : plateauStep(opts, state, extra.value);
      return [next.scale === 1 ? u : map('reduceOnPlateau', (x) => mul(x, next.scale), u), next];
    },
  );
}
