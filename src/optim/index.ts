/**
 * `optim`: optimizers as pure `{init, update}` gradient transformations (optax style), their
 * combinators and building blocks, schedules, and the anisotropic Nesterov learning-rate solver of
 * the NewtonSummary method.
 *
 *     const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adam(1e-3));
 *     let state = opt.init(params);
 *     const [u, next] = opt.update(grad(loss)(params, x, y), state, params);
 *     params = optim.applyUpdates(params, u);
 */
export { type GradientTransformation, type StateOf, type ExtraOf, type EmptyState, identity, applyUpdates, updateAsync, fromSteps, stepsOf, readsHost } from './transformation.js';
export { type HostEffect, type Steps, perform, readHost, driveSync, driveAsync } from './steps.js';
export { chain, namedChain, type ChainState, type NamedChainState, type ChainExtra } from './chain.js';
export { partitionBy, leafLabels, type Labels, type PartitionState } from './partition-by.js';
export { masked, leafMask, type Mask, type MaskedState } from './masked.js';
export { inject, setHyperparams, type InjectState } from './inject.js';
export { scale, scaleByLearningRate, scaleBySchedule, scaleByGroupLearningRates, type ScaleByScheduleState } from './scale.js';
export { traceMomentum, type TraceMomentumOptions, type TraceMomentumState } from './momentum.js';
export { scaleByAdam, scaleByRms, type ScaleByAdamOptions, type ScaleByAdamState, type ScaleByRmsOptions, type ScaleByRmsState } from './adam.js';
export { addDecayedWeights } from './weight-decay.js';
export { type Count, zeroCount, incrementCount, MAX_COUNT, biasCorrection, countFloat } from './count.js';
export { clipByGlobalNorm, globalNorm } from './clip.js';
export { sgd, momentum, adam, adamw, rmsprop, type MomentumOptions, type AdamWOptions } from './alias.js';
export {
  type Schedule,
  type ScalarOrSchedule,
  type FormulaSchedule,
  type Formula,
  type Arith,
  hasFormula,
  scheduleAtCount,
  constantSchedule,
  piecewiseConstantSchedule,
  stepDecaySchedule,
  linearSchedule,
  linearWarmup,
  cosineDecaySchedule,
  joinSchedules,
  warmupCosineDecaySchedule,
} from './schedule.js';
export { reduceOnPlateau, plateauStep, initialPlateauState, type ReduceOnPlateauOptions, type ReduceOnPlateauState, type PlateauExtra } from './plateau.js';
export { nesterovLrs, NesterovError, type NesterovResult, type NesterovOptions, type X0Computation } from './nesterov.js';
export { brentq, type BrentqOptions, type BrentqResult } from './brentq.js';
export * as linalg from './small-linalg.js';
export { NEWTON_SUMMARY_SETTING, newtonSummary, type NewtonSummaryOptions, type NewtonSummaryState } from './newton-summary.js';
export {
  scaleBySummaryNewton,
  scaleByGroups,
  treatNegative,
  trustRegion,
  type NegativeLrs,
  type ScaleBySummaryNewtonOptions,
  type ScaleBySummaryNewtonState,
  type NewtonSummaryExtra,
  type HgRecord,
} from './summary-newton.js';
